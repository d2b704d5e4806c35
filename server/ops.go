package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/runlet/runlet/internal/store"
)

// opsRoutes registers the operator endpoints: /healthz (the process can
// serve), /readyz (it can run jobs now) and /metrics (Prometheus; open
// unless Config.MetricsToken is set).
func (s *Server) opsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	metrics := s.met.handler()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if want := s.cfg.MetricsToken; want != "" && subtle.ConstantTimeCompare([]byte(tokenFrom(r)), []byte(want)) != 1 {
			s.writeError(w, r, errUnauthenticated)
			return
		}
		metrics.ServeHTTP(w, r)
	})
}

// readyz answers 200 {"status":"ready"} when the server can take and run
// jobs: started, not shutting down, the engine's workers up and the store
// answering a read. Otherwise 503 {"status":"not_ready","reason":…}.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if reason := s.notReady(r.Context()); reason != "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not_ready", "reason": reason})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// notReady is why the server is not ready, or "".
func (s *Server) notReady(ctx context.Context) string {
	switch {
	case s.closing.Load():
		return "shutting down"
	case !s.started.Load():
		return "not started"
	case s.eng.Stats().Workers == 0:
		return "no worker processes"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.st.GetWorkspace(ctx, DefaultWorkspace); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "store: " + err.Error()
	}
	return ""
}
