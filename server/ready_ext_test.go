package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/store/badgerstore"
	"github.com/runlet/runlet/runtime"
	"github.com/runlet/runlet/server"
)

// unstarted is a server built but not started, and its store, served
// through its handler only.
type unstarted struct {
	srv   *server.Server
	st    *badgerstore.Store
	token string
}

func newUnstarted(t *testing.T, cfg server.Config) *unstarted {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := badgerstore.Open(badgerstore.Options{Dir: filepath.Join(dir, "db"), KeyFile: filepath.Join(dir, "secret.key"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := runtime.New(runtime.Config{Workers: 1, CacheDir: filepath.Join(cacheDir, "wazero"), Command: []string{binary}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.CacheDir, cfg.Logger, cfg.NPMRegistry = dir, cacheDir, log, "http://127.0.0.1:9"
	srv := server.New(cfg, st, eng)
	path, err := srv.Bootstrap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		st.Close()
	})
	return &unstarted{srv: srv, st: st, token: strings.TrimSpace(string(tok))}
}

// call serves one request through the handler.
func (u *unstarted) call(method, path, body string) (int, string) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+u.token)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	u.srv.Handler().ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// readiness is /readyz's status and reason.
func (u *unstarted) readiness(t *testing.T) (int, string) {
	t.Helper()
	code, body := u.call("GET", "/readyz", "")
	var d struct{ Status, Reason string }
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	if (code == 200) != (d.Status == "ready") {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	return code, d.Reason
}

// TestReadyz: /readyz is 503 until the server has started, 200 while it
// can run jobs, and turns 503 as soon as Shutdown begins, while running
// jobs still finish; /healthz stays 200 throughout.
func TestReadyz(t *testing.T) {
	t.Parallel()
	u := newUnstarted(t, server.Config{ShutdownGrace: 20 * time.Second})
	if code, reason := u.readiness(t); code != 503 || reason != "not started" {
		t.Fatalf("before Start: %d %q", code, reason)
	}
	if code, _ := u.call("GET", "/healthz", ""); code != 200 {
		t.Fatalf("/healthz before Start: %d", code)
	}
	if err := u.srv.Start(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if code, reason := u.readiness(t); code != 200 {
		t.Fatalf("started: %d %q", code, reason)
	}
	// A running job holds Shutdown in its grace period.
	script := `export async function main() { await new Promise((r) => setTimeout(r, 1500)); return "done"; }`
	if code, body := u.call("POST", "/api/w/main/scripts/create", `{"path":"f/r/slow","language":"typescript","content":`+jsonQuote(script)+`}`); code != 201 {
		t.Fatalf("push: %d %s", code, body)
	}
	code, id := u.call("POST", "/api/w/main/jobs/run/p/f/r/slow", `{}`)
	if code != 201 {
		t.Fatalf("run: %d %s", code, id)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, body := u.call("GET", "/api/w/main/jobs_u/get/"+id, "")
		if strings.Contains(body, `"running":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not start: %s", body)
		}
	}
	done := make(chan struct{})
	go func() {
		u.srv.Shutdown(context.Background())
		close(done)
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		code, reason := u.readiness(t)
		if code == 503 {
			if reason != "shutting down" {
				t.Fatalf("during Shutdown: %q", reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not turn 503 during Shutdown")
		}
	}
	select {
	case <-done:
		t.Fatal("Shutdown returned before the running job finished")
	default:
	}
	if code, _ := u.call("GET", "/healthz", ""); code != 200 {
		t.Fatalf("/healthz during Shutdown: %d", code)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if _, body := u.call("GET", "/api/w/main/jobs_u/get/"+id, ""); !strings.Contains(body, `"success":true`) {
		t.Fatalf("the running job should have finished in the grace period: %s", body)
	}
	if code, reason := u.readiness(t); code != 503 || reason != "shutting down" {
		t.Fatalf("after Shutdown: %d %q", code, reason)
	}
}

// TestReadyzStore: a store that does not answer makes the server not ready.
func TestReadyzStore(t *testing.T) {
	t.Parallel()
	u := newUnstarted(t, server.Config{})
	if err := u.srv.Start(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if code, reason := u.readiness(t); code != http.StatusOK {
		t.Fatalf("started: %d %q", code, reason)
	}
	u.st.Close()
	if code, reason := u.readiness(t); code != 503 || !strings.HasPrefix(reason, "store: ") {
		t.Fatalf("store closed: %d %q", code, reason)
	}
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
