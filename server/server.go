// Package server is runlet's server: the service layer every trigger
// shares (service.go), the job runners (dispatch.go), the Windmill-shaped
// REST API and webhooks (rest.go, vars.go) and the Connect API
// (connect*.go; Connect, gRPC and gRPC-Web on the same port).
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/runtime"
)

// DefaultWorkspace is created on first start.
const DefaultWorkspace = "main"

// Server serves the API on one port and runs jobs.
type Server struct {
	cfg  Config
	st   store.Store
	eng  *runtime.Engine
	svc  *Service
	http *http.Server
	stop context.CancelFunc
	ctx  context.Context
	met  *metrics
	// started and closing drive /readyz.
	started, closing atomic.Bool
}

// New returns a server over st running jobs on eng (started by Start).
func New(cfg Config, st store.Store, eng *runtime.Engine) *Server {
	cfg = cfg.withDefaults()
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(cfg.DataDir, "cache")
	}
	s := &Server{cfg: cfg, st: st, eng: eng, svc: NewService(cfg, st, eng), met: newMetrics(st, eng)}
	s.svc.met = s.met
	mux := http.NewServeMux()
	s.opsRoutes(mux)
	s.routes(mux)
	s.connectRoutes(mux)
	// HTTP/1.1 and cleartext HTTP/2 (h2c) on one port: gRPC needs HTTP/2.
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	s.http = &http.Server{Handler: s.met.instrument(mux), ReadHeaderTimeout: 10 * time.Second, Protocols: &protocols}
	s.http.RegisterOnShutdown(s.svc.endStreams) // log streams would hold Shutdown up
	return s
}

// Service is the server's service layer.
func (s *Server) Service() *Service { return s.svc }

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Bootstrap creates workspace main, its admin user and an admin token on
// first start, writing the token to DataDir/admin.token (mode 0600). It
// returns the token file's path ("" when the store was not new).
func (s *Server) Bootstrap(ctx context.Context) (string, error) {
	if _, err := s.st.GetWorkspace(ctx, DefaultWorkspace); err == nil {
		return "", nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	_, _, token, err := s.svc.newWorkspace(ctx, DefaultWorkspace, DefaultWorkspace, "admin", "admin (first start)")
	if err != nil {
		return "", err
	}
	path := filepath.Join(s.cfg.DataDir, "admin.token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the admin token: %w", err)
	}
	return path, nil
}

// Start starts the engine, the job runners and the scheduler.
func (s *Server) Start(ctx context.Context, runners int) error {
	if err := s.eng.Start(ctx); err != nil {
		return err
	}
	s.ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	if err := s.svc.Start(s.ctx, runners); err != nil {
		return err
	}
	if err := s.svc.sched.Start(s.ctx); err != nil {
		return err
	}
	s.started.Store(true)
	return nil
}

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown turns /readyz to 503, stops the scheduler, stops accepting
// requests, lets running jobs finish for up to the grace period and
// requeues the rest, then stops the engine.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.svc.sched.Stop() // no new scheduled jobs; the lease goes to a successor
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(hctx)
	s.svc.Drain(s.cfg.ShutdownGrace)
	if s.stop != nil {
		s.stop()
		s.svc.waitBackground(10 * time.Second)
	}
	s.eng.Stop()
	return err
}
