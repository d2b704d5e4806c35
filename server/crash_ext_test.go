package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serverProc is `runlet serve` as a child process.
type serverProc struct {
	cmd    *exec.Cmd
	url    string
	token  string
	stderr *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startProc(t *testing.T, dir, addr string) *serverProc {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--data", dir, "--addr", addr, "--workers", "2", "--grace", "2s")
	cmd.Env = append(os.Environ(), "RUNLET_CACHE_DIR="+cacheDir, "RUNLET_NPM_REGISTRY=http://127.0.0.1:9")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, url: "http://" + addr, stderr: &stderr}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if res, err := http.Get(p.url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	p.token = strings.TrimSpace(string(tok))
	return p
}

func (p *serverProc) post(path string, body string) (int, string, error) {
	req, _ := http.NewRequest("POST", p.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 30 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.String(), nil
}

func (p *serverProc) job(t *testing.T, id string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url+"/api/w/main/jobs_u/get/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+p.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("job %s: status %d (an accepted job vanished)", id, res.StatusCode)
	}
	var j map[string]any
	json.NewDecoder(res.Body).Decode(&j)
	return j
}

// TestKill9Accounting: a server killed with SIGKILL mid-load and restarted
// accounts for every job it accepted: a job that never started runs once;
// a running one is retried when its policy allows, else fails as
// "interrupted"; none vanish, none completes twice.
func TestKill9Accounting(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, dir, addr)
	script := `export async function main(i: number) {
  await new Promise((r) => setTimeout(r, 20));
  return i;
}`
	for _, s := range []struct{ path, extra string }{
		{"f/crash/once", ``},
		{"f/crash/retry", `,"retry":{"constant":{"attempts":1,"seconds":0}}`},
	} {
		body := fmt.Sprintf(`{"path":%q,"language":"typescript","content":%q%s}`, s.path, script, s.extra)
		if code, b, err := p.post("/api/w/main/scripts/create", body); err != nil || code != 201 {
			t.Fatalf("push: %d %s %v", code, b, err)
		}
	}
	type accepted struct {
		id, path string
		i        int
	}
	var (
		mu   sync.Mutex
		jobs []accepted
		wg   sync.WaitGroup
		stop = make(chan struct{})
	)
	for g := range 4 {
		wg.Go(func() {
			for i := g * 100000; i < g*100000+150; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := "f/crash/once"
				if i%2 == 1 {
					path = "f/crash/retry"
				}
				code, body, err := p.post("/api/w/main/jobs/run/p/"+path, fmt.Sprintf(`{"i":%d}`, i))
				if err != nil {
					return // the server is gone: this request was not accepted
				}
				if code == 201 {
					mu.Lock()
					jobs = append(jobs, accepted{body, path, i})
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	// Completions seen before the crash must not change after it.
	mu.Lock()
	early := append([]accepted(nil), jobs[:min(len(jobs), 20)]...)
	mu.Unlock()
	before := map[string]any{}
	for _, a := range early {
		if j := p.job(t, a.id); j["type"] == "CompletedJob" {
			before[a.id] = j["result"]
		}
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(jobs) < 10 {
		t.Fatalf("only %d jobs were accepted before the kill", len(jobs))
	}
	p = startProc(t, dir, addr)
	counts := map[string]int{}
	deadline := time.Now().Add(3 * time.Minute)
	for _, a := range jobs {
		var j map[string]any
		for {
			j = p.job(t, a.id)
			if j["type"] == "CompletedJob" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s never completed after the restart: %v", a.id, j)
			}
			time.Sleep(20 * time.Millisecond)
		}
		switch {
		case j["success"] == true:
			if j["result"] != float64(a.i) {
				t.Fatalf("job %s returned %v, want %d", a.id, j["result"], a.i)
			}
			counts["success"]++
			if j["attempt"] != float64(0) {
				counts["retried"]++
			}
		case strings.Contains(jsonString(j["result"]), "Interrupted"):
			if a.path != "f/crash/once" {
				t.Fatalf("job %s with a retry policy failed as interrupted: %v", a.id, j)
			}
			counts["interrupted"]++
		default:
			t.Fatalf("job %s ended unexpectedly: %v", a.id, j)
		}
		if r, ok := before[a.id]; ok && jsonString(r) != jsonString(j["result"]) {
			t.Fatalf("job %s was reported complete with %v before the crash and %v after", a.id, r, j["result"])
		}
	}
	t.Logf("%d accepted jobs: %v", len(jobs), counts)
}

// TestGracefulShutdown: on SIGTERM the server stops accepting, lets a
// short job finish, requeues one that outlives the grace period, and the
// next start runs it.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, dir, addr)
	for _, s := range []struct {
		path string
		ms   int
	}{{"f/grace/short", 300}, {"f/grace/long", 6000}} {
		body := fmt.Sprintf(`{"path":%q,"language":"typescript","content":%q}`, s.path,
			fmt.Sprintf("export async function main() { await new Promise((r) => setTimeout(r, %d)); return %d; }", s.ms, s.ms))
		if code, b, err := p.post("/api/w/main/scripts/create", body); err != nil || code != 201 {
			t.Fatalf("push: %d %s %v", code, b, err)
		}
	}
	_, short, _ := p.post("/api/w/main/jobs/run/p/f/grace/short", `{}`)
	_, long, _ := p.post("/api/w/main/jobs/run/p/f/grace/long", `{}`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if p.job(t, long)["running"] == true && p.job(t, short)["running"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the jobs did not start")
		}
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("server exit: %v\n%s", err, p.stderr.String())
	}
	p = startProc(t, dir, addr)
	if j := p.job(t, short); j["success"] != true {
		t.Fatalf("the short job should have finished within the grace period: %v", j)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		j := p.job(t, long)
		if j["type"] == "CompletedJob" {
			if j["success"] != true || j["result"] != float64(6000) {
				t.Fatalf("the requeued job: %v", j)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the requeued job never completed: %v", j)
		}
	}
}
