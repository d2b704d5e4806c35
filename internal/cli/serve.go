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

	"github.com/runlet/runlet/internal/config"
	"github.com/runlet/runlet/internal/store/badgerstore"
	"github.com/runlet/runlet/runtime"
	"github.com/runlet/runlet/server"
)

// serveCmd runs the server until SIGINT/SIGTERM: embedded Badger store in
// DIR, REST API and webhooks on ADDR. Settings come from flags, RUNLET_*
// variables and a --config file (internal/config).
func serveCmd(ctx context.Context, argv []string, env Env) int {
	fs := flag.NewFlagSet("runlet serve", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	file := fs.String("config", "", "YAML `file` with any of the settings below (env RUNLET_CONFIG)")
	for _, k := range config.Keys {
		fs.String(k.Flag(), k.Default, k.Usage+" (env "+k.Env()+")")
	}
	if _, err := parseInterleaved(fs, argv); err != nil {
		return ExitUsage
	}
	src := config.Sources{Env: env.Getenv, Flags: map[string]string{}}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "config" {
			src.Flags[f.Name] = f.Value.String()
		}
	})
	if src.File = *file; src.File == "" {
		src.File = env.Getenv("RUNLET_CONFIG")
	}
	if src.File != "" {
		b, err := os.ReadFile(src.File)
		if err != nil {
			fmt.Fprintln(env.Stderr, "runlet serve: config:", err)
			return ExitUsage
		}
		src.Data = b
	}
	c, err := config.Load(src)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitUsage
	}
	limits := runtime.Limits{Timeout: c.Timeout, MaxMemory: c.Memory}
	if err := limits.Validate(); err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitUsage
	}
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	var h slog.Handler = slog.NewTextHandler(env.Stderr, opts)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(env.Stderr, opts)
	}
	log := slog.New(h)
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitFailed
	}
	st, err := badgerstore.Open(badgerstore.Options{Dir: filepath.Join(c.Data, "db"), KeyFile: filepath.Join(c.Data, "secret.key"), Logger: log})
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve: store:", err)
		return ExitFailed
	}
	defer st.Close()
	eng, err := runtime.New(runtime.Config{Workers: c.Workers, Spare: true, CacheDir: filepath.Join(c.Data, "cache", "wazero"), Stderr: env.Stderr})
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitFailed
	}
	cfg := server.Config{
		DataDir: c.Data, QueueLimit: c.QueueLimit, MaxBodyBytes: c.MaxBody, WaitLimit: c.WaitLimit,
		ShutdownGrace: c.Grace, Retention: c.Retention, MaxDepth: c.MaxDepth,
		ScheduleFirers: c.ScheduleFirers, LeaderLease: c.LeaderLease, Limits: limits,
		NPMRegistry: c.NPMRegistry, MetricsToken: c.MetricsToken, Logger: log,
		FlowMaxModules: c.FlowModules, FlowMaxIterations: c.FlowIterations, ExprTimeout: c.ExprTimeout,
		ExprMemory: c.ExprMemory, StepFsync: &c.StepFsync, PublicURL: c.PublicURL, SuspendTimeout: c.SuspendTimeout,
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + c.Addr
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
	n := c.Runners
	if n <= 0 {
		n = eng.Workers()
	}
	if err := srv.Start(ctx, n); err != nil {
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitFailed
	}
	l, err := net.Listen("tcp", c.Addr)
	if err != nil {
		eng.Stop()
		fmt.Fprintln(env.Stderr, "runlet serve:", err)
		return ExitFailed
	}
	attrs := []any{"addr", l.Addr().String(), "data", c.Data, "runners", n}
	if src.File != "" {
		attrs = append(attrs, "config", src.File)
	}
	log.Info("runlet serving", attrs...)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", c.Grace)
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
