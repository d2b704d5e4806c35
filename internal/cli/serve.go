package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/runlet/runlet/internal/store/badgerstore"
	"github.com/runlet/runlet/runtime"
	"github.com/runlet/runlet/server"
)

// serveCmd runs the server until SIGINT/SIGTERM: embedded Badger store in
// DIR, REST API and webhooks on ADDR.
func serveCmd(ctx context.Context, argv []string, env Env) int {
	fs := flag.NewFlagSet("runlet serve", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	data := fs.String("data", "./runlet-data", "data `directory` (store, secrets key, admin.token)")
	addr := fs.String("addr", "127.0.0.1:8000", "listen `address` (REST, webhooks)")
	workers := fs.Int("workers", 0, "worker processes running guests (default: one per CPU)")
	runners := fs.Int("runners", 0, "jobs running at once (default: the workers)")
	queueLimit := fs.Int("queue-limit", 10000, "queued jobs beyond which runs get 429")
	waitLimit := fs.Duration("wait-limit", 60*time.Second, "how long run_wait_result waits before answering 202")
	grace := fs.Duration("grace", 30*time.Second, "on SIGTERM, how long running jobs may finish before they are requeued")
	retention := fs.Duration("retention", 30*24*time.Hour, "delete completed jobs older than this (negative: keep)")
	maxDepth := fs.Int("max-depth", 8, "child-job nesting limit")
	maxBody := fs.String("max-body", "16MiB", "request body limit")
	timeout := fs.Duration("timeout", runtime.DefaultTimeout, "default script timeout")
	memory := fs.String("memory", runtime.FormatSize(runtime.DefaultMaxMemory), "default script memory limit")
	if _, err := parseInterleaved(fs, argv); err != nil {
		return ExitUsage
	}
	body, err := runtime.ParseSize(*maxBody)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve: --max-body:", err)
		return ExitUsage
	}
	mem, err := runtime.ParseSize(*memory)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve: --memory:", err)
		return ExitUsage
	}
	limits := runtime.Limits{Timeout: *timeout, MaxMemory: mem}
	if err := limits.Validate(); err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitUsage
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := os.MkdirAll(*data, 0o700); err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitFailed
	}
	st, err := badgerstore.Open(badgerstore.Options{Dir: filepath.Join(*data, "db"), KeyFile: filepath.Join(*data, "secret.key"), Logger: log})
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve: store:", err)
		return ExitFailed
	}
	defer st.Close()
	eng, err := runtime.New(runtime.Config{Workers: *workers, Spare: true, CacheDir: filepath.Join(*data, "cache", "wazero"), Stderr: env.Stderr})
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitFailed
	}
	cfg := server.Config{
		DataDir: *data, QueueLimit: *queueLimit, MaxBodyBytes: body, WaitLimit: *waitLimit,
		ShutdownGrace: *grace, Retention: *retention, MaxDepth: *maxDepth, Limits: limits,
		NPMRegistry: env.Getenv("RUNLET_NPM_REGISTRY"), Logger: log,
	}
	srv := server.New(cfg, st, eng)
	tokenPath, err := srv.Bootstrap(ctx)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitFailed
	}
	if tokenPath != "" {
		log.Info("created workspace main and an admin token", "token_file", tokenPath)
	}
	n := *runners
	if n <= 0 {
		n = eng.Workers()
	}
	if err := srv.Start(ctx, n); err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitFailed
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		eng.Stop()
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitFailed
	}
	log.Info("runlet serving", "addr", l.Addr().String(), "data", *data, "runners", n)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", *grace)
	case err := <-errc:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			log.Error("serve failed", "err", err)
		}
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("stopped")
	return ExitOK
}
