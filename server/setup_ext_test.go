package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/store/badgerstore"
	"github.com/runlet/runlet/runtime"
	"github.com/runlet/runlet/server"
)

// cacheDir holds builds and compiled modules for every test server.
var cacheDir string

// binary is the real runlet binary: the engines' worker processes and the
// server child process of the crash test.
var binary string

func TestMain(m *testing.M) {
	if runtime.IsWorker() {
		os.Exit(runtime.WorkerMain())
	}
	dir, err := os.MkdirTemp("", "runlet-server-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	binary = filepath.Join(dir, "runlet")
	build := exec.Command("go", "build", "-o", binary, "github.com/runlet/runlet/cmd/runlet")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build runlet:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testServer is a real server on 127.0.0.1 with Badger in a temp dir.
type testServer struct {
	URL   string
	Token string
	Dir   string
	srv   *server.Server
}

func startServer(t *testing.T, cfg server.Config) *testServer {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := badgerstore.Open(badgerstore.Options{Dir: filepath.Join(dir, "db"), KeyFile: filepath.Join(dir, "secret.key"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := runtime.New(runtime.Config{Workers: 2, CacheDir: filepath.Join(cacheDir, "wazero"), Command: []string{binary}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir
	cfg.CacheDir = cacheDir
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	if cfg.NPMRegistry == "" {
		cfg.NPMRegistry = "http://127.0.0.1:9" // tests never reach the internet
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + l.Addr().String()
	}
	srv := server.New(cfg, st, eng)
	ctx := context.Background()
	path, err := srv.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx, 2); err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		st.Close()
	})
	return &testServer{URL: "http://" + l.Addr().String(), Token: strings.TrimSpace(string(tok)), Dir: dir, srv: srv}
}

type response struct {
	Status int
	Body   string
	Header http.Header
}

// do sends a request with the admin token (unless headers say otherwise).
func (s *testServer) do(t *testing.T, method, path string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	c := &http.Client{Timeout: 2 * time.Minute}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, string(b), res.Header}
}

// push creates a script version and returns its hash.
func (s *testServer) push(t *testing.T, path, lang, content string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"path": path, "language": lang, "content": content}
	for k, v := range extra {
		body[k] = v
	}
	r := s.do(t, "POST", "/api/w/main/scripts/create", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("push %s: %d %s", path, r.Status, r.Body)
	}
	return r.Body
}

// waitJob polls a job until it completes.
func (s *testServer) waitJob(t *testing.T, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		r := s.do(t, "GET", "/api/w/main/jobs_u/get/"+id, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("get job %s: %d %s", id, r.Status, r.Body)
		}
		var j map[string]any
		json.Unmarshal([]byte(r.Body), &j)
		if j["type"] == "CompletedJob" {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s did not complete", id)
	return nil
}

// errorOf decodes {"error":{...}}.
func errorOf(t *testing.T, body string) map[string]any {
	t.Helper()
	var d struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil || d.Error == nil {
		t.Fatalf("not an error document: %q", body)
	}
	return d.Error
}
