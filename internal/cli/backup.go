package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/runlet/runlet/internal/store/badgerstore"
)

// backupCmd: runlet backup FILE — a consistent copy of a running server's
// store, written to FILE (atomically) or to stdout for "-".
func backupCmd(ctx context.Context, argv []string, env Env) int {
	cc := newClientCmd(env, "backup", clientSub{name: "", args: "FILE"})
	cc.name = "backup"
	return cc.exit(func() error {
		pos, err := cc.parse(argv, 1, 1)
		if err != nil {
			return err
		}
		c, err := cc.client()
		if err != nil {
			return err
		}
		if pos[0] == "-" {
			_, err := c.Backup(ctx, env.Stdout)
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(pos[0]), ".runlet-backup-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		n, err := c.Backup(ctx, tmp)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), pos[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "wrote %s (%d bytes); keep the server's secret.key with it\n", pos[0], n)
		return nil
	}())
}

// restoreCmd: runlet restore FILE [--data DIR] — load a backup into a data
// directory whose store is empty (the server must not be running on it).
func restoreCmd(argv []string, env Env) int {
	fs := flag.NewFlagSet("runlet restore", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	data := fs.String("data", "./runlet-data", "data `directory` to restore into (its store must be empty)")
	noKey := fs.Bool("without-key", false, "restore even though DIR/secret.key is missing (secret variables stay unreadable)")
	pos, err := parseInterleaved(fs, argv)
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "usage: runlet restore FILE [--data DIR]")
		return ExitUsage
	}
	f, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet restore:", err)
		return ExitFailed
	}
	defer f.Close()
	if err := os.MkdirAll(*data, 0o700); err != nil {
		fmt.Fprintln(env.Stderr, "runlet restore:", err)
		return ExitFailed
	}
	key := filepath.Join(*data, "secret.key")
	if _, err := os.Stat(key); errors.Is(err, os.ErrNotExist) && !*noKey {
		fmt.Fprintf(env.Stderr, "runlet restore: %s does not exist: copy the original server's secret.key there first (secret variables are encrypted with it), or pass --without-key\n", key)
		return ExitFailed
	}
	st, err := badgerstore.Open(badgerstore.Options{Dir: filepath.Join(*data, "db"), KeyFile: key,
		Logger: slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet restore: store:", err, "(is a server running on this directory?)")
		return ExitFailed
	}
	defer st.Close()
	if err := st.Restore(context.Background(), f); err != nil {
		fmt.Fprintln(env.Stderr, "runlet restore:", err)
		return ExitFailed
	}
	fmt.Fprintf(env.Stderr, "restored %s into %s\n", pos[0], *data)
	return ExitOK
}

// keyRotateCmd: runlet key rotate — a new secrets key on a running server.
func keyRotateCmd(ctx context.Context, argv []string, env Env) int {
	if len(argv) == 0 || argv[0] != "rotate" {
		fmt.Fprintln(env.Stderr, "usage: runlet key rotate")
		return ExitUsage
	}
	cc := newClientCmd(env, "key", clientSub{name: "rotate"})
	return cc.exit(func() error {
		if _, err := cc.parse(argv[1:], 0, 0); err != nil {
			return err
		}
		c, err := cc.client()
		if err != nil {
			return err
		}
		if err := c.RotateKey(ctx); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "rotated the secrets key; secrets are re-encrypted (older keys stay in secret.key for older backups)")
		return nil
	}())
}
