package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveProc is a `runlet serve` child process and the end of its Wait.
type serveProc struct {
	*serverProc
	exited chan struct{}
}

// startServe runs `runlet serve ARGS` with extra environment variables
// and waits until addr answers /healthz. Unlike startProc it sets no
// flags of its own: the test's arguments and files say everything.
func startServe(t *testing.T, addr string, env []string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), "RUNLET_CACHE_DIR="+cacheDir), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	p := &serveProc{&serverProc{cmd: cmd, url: "http://" + addr, stderr: &stderr}, exited}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-exited })
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(p.url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-exited:
			t.Fatalf("runlet serve exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("runlet serve did not become healthy")
		}
	}
}

func (p *serveProc) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

// TestServeConfigFile: `runlet serve --config FILE` takes its settings
// from the file, RUNLET_* variables beat the file and flags beat both;
// logs come out as JSON at the file's level, with job attributes.
func TestServeConfigFile(t *testing.T) {
	t.Parallel()
	dir, addr, fileAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	file := filepath.Join(t.TempDir(), "runlet.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`# test config
data: %s
addr: %s          # the flag wins
workers: 1
queue_limit: 2
grace: 2s
metrics_token: file-token   # the environment wins
log_format: json
log_level: debug
npm_registry: http://127.0.0.1:9
`, dir, fileAddr)), 0o600)
	p := startServe(t, addr, []string{"RUNLET_METRICS_TOKEN=env-token", "RUNLET_LOG_LEVEL="}, "--config", file, "--addr", addr)
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatalf("the data directory is not the file's: %v", err)
	}
	p.token = strings.TrimSpace(string(tok))

	if code, _ := p.get(t, "/readyz", ""); code != 200 {
		t.Fatalf("/readyz: %d", code)
	}
	if code, _ := p.get(t, "/metrics", "file-token"); code != 401 {
		t.Fatalf("/metrics with the file's token: %d, want 401 (the environment's wins)", code)
	}
	code, metrics := p.get(t, "/metrics", "env-token")
	if code != 200 || !strings.Contains(metrics, "\nrunlet_workers 1\n") {
		t.Fatalf("/metrics with the environment's token: %d, want runlet_workers 1 (the file's workers):\n%.2000s", code, metrics)
	}
	body := fmt.Sprintf(`{"path":"f/c/echo","language":"typescript","content":%q}`, `export function main(x: number) { return x; }`)
	if code, b, err := p.post("/api/w/main/scripts/create", body); err != nil || code != 201 {
		t.Fatalf("push: %d %s %v", code, b, err)
	}
	if code, b, err := p.post("/api/w/main/jobs/run_wait_result/p/f/c/echo", `{"x":7}`); err != nil || code != 200 || b != "7" {
		t.Fatalf("run: %d %s %v", code, b, err)
	}
	// queue_limit 2 from the file: two jobs scheduled for later fill it.
	for i, want := range []int{201, 201, 429} {
		if code, b, err := p.post("/api/w/main/jobs/run/p/f/c/echo?scheduled_in_secs=3600", `{"x":1}`); err != nil || code != want {
			t.Fatalf("scheduled run %d: %d %s %v, want %d", i, code, b, err, want)
		}
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("runlet serve did not stop on SIGTERM")
	}
	// Every line of the server's own is JSON (workers' diagnostics aside).
	seen := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(p.stderr.Bytes()))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if msg, _ := line["msg"].(string); msg != "" {
			seen[msg] = line
		}
	}
	if l := seen["runlet serving"]; l == nil || l["config"] != file || l["addr"] != addr {
		t.Fatalf("no JSON 'runlet serving' line naming the config file and the flag's address: %v\n%s", l, p.stderr.String())
	}
	for _, msg := range []string{"job started", "job finished"} {
		l := seen[msg]
		if l == nil || l["level"] != "DEBUG" || l["path"] != "f/c/echo" || l["workspace"] != "main" || l["job"] == "" {
			t.Fatalf("%q: want a debug line with job, path and workspace: %v\n%s", msg, l, p.stderr.String())
		}
	}
	if seen["stopped"] == nil {
		t.Fatalf("no 'stopped' line:\n%s", p.stderr.String())
	}
}

// TestServeConfigRefused: bad settings stop `runlet serve` before it
// opens anything, with exit 2 and one line naming the key.
func TestServeConfigRefused(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.yaml")
	os.WriteFile(bad, []byte("workers: 1\nqueue_limt: 5\n"), 0o600)
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unknown key", nil, []string{"--config", bad}, bad + `: unknown key "queue_limt" (did you mean queue_limit?)`},
		{"config from the environment", []string{"RUNLET_CONFIG=" + bad}, nil, `unknown key "queue_limt"`},
		{"missing file", nil, []string{"--config", filepath.Join(tmp, "none.yaml")}, "none.yaml"},
		{"bad variable", []string{"RUNLET_WORKERS=many"}, nil, `workers (from RUNLET_WORKERS): "many": want an integer`},
		{"bad flag", nil, []string{"--max-depth", "0"}, `max_depth (from --max-depth): "0": want at least 1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, append([]string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, c.args...)...)
			cmd.Env = append(os.Environ(), c.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v, want 2\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.want) || strings.Count(stderr.String(), "\n") != 1 {
				t.Fatalf("stderr %q, want one line with %q", stderr.String(), c.want)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Fatalf("the data directory was created: %v", err)
			}
		})
	}
}
