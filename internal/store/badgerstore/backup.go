package badgerstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	badger "github.com/dgraph-io/badger/v4"
)

// Backup writes a consistent snapshot of every record (Badger's backup
// format, DB.Backup since version 0) to w. The secret key file is not in
// it: back the key file up separately, or the secret variables in the
// backup cannot be decrypted after a restore. Cancelling ctx stops the
// backup at its next write.
func (s *Store) Backup(ctx context.Context, w io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := s.db.Backup(ctxWriter{ctx, w}, 0); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("backup: %w", dbErr(err))
	}
	return nil
}

// Restore loads a backup into an empty store (one that holds nothing but
// its format version; ErrNotEmpty otherwise) and syncs. A backup of
// another format version is refused (ErrFormat) and the store is left
// empty. Secrets restored under keys the key file lacks stay unreadable
// (a warning is logged).
func (s *Store) Restore(ctx context.Context, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var empty bool
	if err := s.view(ctx, func(txn *badger.Txn) error { empty = emptyTxn(txn); return nil }); err != nil {
		return err
	}
	if !empty {
		return fmt.Errorf("restore into %s: %w", s.where(), ErrNotEmpty)
	}
	// Loaded entries keep their versions from the backup, which may be
	// older than this store's format-version write: drop it first so that
	// no key gets an older version on top of a newer one.
	if err := s.db.DropAll(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	loadErr := s.load(&frameReader{r: ctxReader{ctx, r}})
	if loadErr == nil {
		loadErr = s.checkRestoredFormat()
	}
	if loadErr != nil {
		// Leave an empty store behind, with its format version.
		if err := s.db.DropAll(); err != nil {
			return errors.Join(fmt.Errorf("restore: %w", loadErr), err)
		}
		_, err := s.checkFormat()
		if ctx.Err() != nil {
			loadErr = ctx.Err()
		}
		return errors.Join(fmt.Errorf("restore: %w", loadErr), err)
	}
	if err := s.loadQueue(); err != nil {
		return err
	}
	s.keyMu.RLock()
	err := s.checkSecretKeys()
	s.keyMu.RUnlock()
	if err != nil {
		return err
	}
	return s.durable()
}

func (s *Store) checkRestoredFormat() error {
	return s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(pFormat))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("the backup has no runlet format version: %w", ErrFormat)
		}
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if err := checkVersion(string(v), "the backup"); err != nil {
			return err
		}
		return nil
	})
}

// load runs DB.Load, turning a panic (Badger trusts the sizes in its input)
// into an error.
func (s *Store) load(r io.Reader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("load backup: %v", p)
		}
	}()
	return s.db.Load(r, 256)
}

// maxFrame bounds one list in a backup stream. Badger writes lists of about
// 4 MiB, plus at most one value larger than that.
const maxFrame = 1 << 30

// frameReader passes a backup stream through and checks its framing (a
// little-endian uint64 length before each protobuf list), so that a
// damaged or foreign file gives an error rather than a huge allocation
// inside Badger.
type frameReader struct {
	r      io.Reader
	hdr    [8]byte
	nhdr   int    // header bytes seen of the current frame
	remain uint64 // body bytes left in the current frame
}

func (f *frameReader) Read(p []byte) (int, error) {
	if f.nhdr == 8 && f.remain == 0 {
		f.nhdr = 0
	}
	if f.nhdr < 8 {
		p = p[:min(len(p), 8-f.nhdr)]
	} else {
		p = p[:min(uint64(len(p)), f.remain)]
	}
	n, err := f.r.Read(p)
	if f.nhdr < 8 {
		copy(f.hdr[f.nhdr:], p[:n])
		f.nhdr += n
		if f.nhdr == 8 {
			f.remain = binary.LittleEndian.Uint64(f.hdr[:])
			if f.remain > maxFrame {
				return n, fmt.Errorf("not a runlet backup: list of %d bytes", f.remain)
			}
		}
	} else {
		f.remain -= uint64(n)
	}
	if err == io.EOF && (f.nhdr%8 != 0 || f.remain > 0) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
