package server_test

// Server benchmarks: webhook latency and throughput over real HTTP on
// 127.0.0.1, against a plain net/http handler (the HTTP floor) measured in
// the same run. See BENCHMARKS.md "Server (webhooks)".
//
//	go test -run='^$' -bench=. -benchtime=2s ./server/
//
// Each top-level benchmark starts one server (Badger in a temp dir, worker
// processes as `runlet serve` starts them: one per CPU plus a spare) and
// runs its cases as sub-benchmarks, so a server and its scripts are set up
// once, not once per b.N round.

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
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/store/badgerstore"
	"github.com/runlet/runlet/runtime"
	"github.com/runlet/runlet/server"
)

// Trivial scripts: the work is the platform's, not the guest's.
const (
	benchGo = `package inner

func main(n int) (int, error) { return n, nil }
`
	benchTS = `export function main(n: number) { return n; }`
	// benchParent's %q is the child's path.
	benchParent = `import * as wmill from "windmill-client";
export async function main(n: number) { return await wmill.runScript(%q, { n }); }`
	benchBody = `{"n":1}`
)

// benchConns is the concurrency of the "c32" cases.
const benchConns = 32

// startBenchServer is startServer for benchmarks: a real server on
// 127.0.0.1 with Badger in a temp dir, its engine set up like `runlet
// serve` (workers: one per CPU, a spare, runners = workers) and a quiet
// logger.
func startBenchServer(b *testing.B, cfg server.Config) *testServer {
	b.Helper()
	dir := b.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	st, err := badgerstore.Open(badgerstore.Options{Dir: filepath.Join(dir, "db"), KeyFile: filepath.Join(dir, "secret.key"), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := runtime.New(runtime.Config{Spare: true, CacheDir: filepath.Join(cacheDir, "wazero"), Command: []string{binary}})
	if err != nil {
		b.Fatal(err)
	}
	cfg.DataDir = dir
	cfg.CacheDir = cacheDir
	cfg.NPMRegistry = "http://127.0.0.1:9" // never the internet
	cfg.Logger = quiet
	srv := server.New(cfg, st, eng)
	ctx := context.Background()
	path, err := srv.Bootstrap(ctx)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(ctx, eng.Workers()); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	b.Cleanup(func() {
		srv.Shutdown(context.Background())
		st.Close()
	})
	return &testServer{URL: "http://" + l.Addr().String(), Token: strings.TrimSpace(string(tok)), Dir: dir, srv: srv}
}

// benchPush is push for benchmarks.
func benchPush(b *testing.B, s *testServer, path, lang, content string, warm bool) {
	b.Helper()
	body, _ := json.Marshal(map[string]any{"path": path, "language": lang, "content": content, "warm": warm})
	c := newBenchClient()
	status, out, err := c.post(s.URL+"/api/w/main/scripts/create", s.Token, body)
	if err != nil || status != http.StatusCreated {
		b.Fatalf("push %s: %d %s %v", path, status, out, err)
	}
}

// benchWarm runs a script a few times, concurrently, through the sync
// webhook, so that every worker has compiled and prepared it before the
// clock starts (a Go module's first compile takes seconds).
func benchWarm(b *testing.B, s *testServer, path string) {
	b.Helper()
	ld := load{url: s.URL + "/api/w/main/jobs/run_wait_result/p/" + path, token: s.Token, body: []byte(benchBody), conns: 8, check: expectBody("1")}
	ld.run(b, 32)
}

// benchClient is one client: its own keep-alive transport.
type benchClient struct{ hc *http.Client }

func newBenchClient() *benchClient {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64, DisableCompression: true, IdleConnTimeout: time.Minute}
	return &benchClient{hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

func (c *benchClient) post(url, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	out, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, out, err
}

func (c *benchClient) close() { c.hc.CloseIdleConnections() }

// load is one closed-loop load run: conns clients, each with its own
// connection, send n requests in all, one at a time each.
type load struct {
	url, token string
	body       []byte
	conns      int
	// check validates a reply; it may keep what it needs (called
	// concurrently).
	check func(status int, body []byte) error
}

// loadResult is what a load run measured.
type loadResult struct {
	n       int
	start   time.Time
	elapsed time.Duration
	lat     []time.Duration // sorted
}

func (r loadResult) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, len(r.lat)*p/100)]
}

func (r loadResult) perSec() float64 { return float64(r.n) / r.elapsed.Seconds() }

// run sends n requests. The clients connect (and send one request each,
// not counted) before the clock starts.
func (l load) run(b *testing.B, n int) loadResult {
	clients := make([]*benchClient, l.conns)
	for i := range clients {
		clients[i] = newBenchClient()
		defer clients[i].close()
	}
	var firstErr atomic.Pointer[error]
	fail := func(err error) { firstErr.CompareAndSwap(nil, &err) }
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			st, out, err := c.post(l.url, l.token, l.body)
			if err == nil {
				err = l.check(st, out)
			}
			if err != nil {
				fail(fmt.Errorf("warm-up: %w", err))
			}
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		b.Fatal(*e)
	}
	var next atomic.Int64
	lats := make([][]time.Duration, l.conns)
	b.ResetTimer()
	start := time.Now()
	for i, c := range clients {
		lats[i] = make([]time.Duration, 0, n/l.conns+1)
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				st, out, err := c.post(l.url, l.token, l.body)
				if err == nil {
					err = l.check(st, out)
				}
				lats[i] = append(lats[i], time.Since(t0))
				if err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if e := firstErr.Load(); e != nil {
		b.Fatal(*e)
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	return loadResult{n: n, start: start, elapsed: elapsed, lat: all}
}

// report records p50/p99 (ms) and the rate as custom metrics; ns/op is
// Go's own (wall time / n: the latency at one client, the inverse
// throughput at many).
func (r loadResult) report(b *testing.B, rate string) {
	b.ReportMetric(float64(r.pct(50))/1e6, "p50-ms")
	b.ReportMetric(float64(r.pct(99))/1e6, "p99-ms")
	b.ReportMetric(r.perSec(), rate)
}

func expectBody(want string) func(int, []byte) error {
	return func(status int, body []byte) error {
		if status != http.StatusOK || strings.TrimSpace(string(body)) != want {
			return fmt.Errorf("got %d %q, want 200 %q", status, body, want)
		}
		return nil
	}
}

// BenchmarkHTTPFloor is the baseline: a plain net/http handler on
// 127.0.0.1 decoding and echoing a JSON body, same clients as below.
func BenchmarkHTTPFloor(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v["n"])
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(l)
	b.Cleanup(func() { hs.Close() })
	for _, conns := range []int{1, benchConns} {
		b.Run(fmt.Sprintf("c%d", conns), func(b *testing.B) {
			ld := load{url: "http://" + l.Addr().String() + "/echo", body: []byte(benchBody), conns: conns, check: expectBody("1")}
			ld.run(b, b.N).report(b, "req/s")
		})
	}
}

// BenchmarkWebhookSync: POST jobs/run_wait_result/p/{path} with {"n":1}
// and a 200 "1" back, for a trivial Go and TypeScript script, isolated
// (the default) and warm, at 1 and 32 clients.
func BenchmarkWebhookSync(b *testing.B) {
	s := startBenchServer(b, server.Config{})
	type script struct{ name, lang, src string }
	for _, sc := range []script{{"go", "go", benchGo}, {"ts", "typescript", benchTS}} {
		for _, mode := range []string{"isolated", "warm"} {
			path := "f/bench/" + sc.name + "_" + mode
			benchPush(b, s, path, sc.lang, sc.src, mode == "warm")
			benchWarm(b, s, path)
			url := s.URL + "/api/w/main/jobs/run_wait_result/p/" + path
			for _, conns := range []int{1, benchConns} {
				b.Run(fmt.Sprintf("%s/%s/c%d", sc.name, mode, conns), func(b *testing.B) {
					ld := load{url: url, token: s.Token, body: []byte(benchBody), conns: conns, check: expectBody("1")}
					ld.run(b, b.N).report(b, "jobs/s")
				})
			}
		}
	}
}

// BenchmarkChildJob: a TS parent calling wmill.runScript on a trivial TS
// child and returning its result, run through the sync webhook: two jobs
// and one child round trip per request.
func BenchmarkChildJob(b *testing.B) {
	s := startBenchServer(b, server.Config{})
	for _, mode := range []string{"isolated", "warm"} {
		child, parent := "f/bench/child_"+mode, "f/bench/parent_"+mode
		benchPush(b, s, child, "typescript", benchTS, mode == "warm")
		benchPush(b, s, parent, "typescript", fmt.Sprintf(benchParent, child), mode == "warm")
		benchWarm(b, s, parent)
		b.Run(mode+"/c1", func(b *testing.B) {
			ld := load{url: s.URL + "/api/w/main/jobs/run_wait_result/p/" + parent, token: s.Token,
				body: []byte(benchBody), conns: 1, check: expectBody("1")}
			ld.run(b, b.N).report(b, "jobs/s")
		})
	}
}

// BenchmarkWebhookAsync: POST jobs/run/p/{path} (201 and the job id, the
// job fsync'd first) b.N times at 1 and 32 clients, then wait until every
// accepted job has completed. accepts/s is the 201 rate; completed/s is
// b.N over the time from the first request to the last job's completion
// (ns/op is that time per job).
func BenchmarkWebhookAsync(b *testing.B) {
	s := startBenchServer(b, server.Config{QueueLimit: 1 << 20})
	svc := s.srv.Service()
	type script struct{ name, lang, src string }
	for _, sc := range []script{{"go", "go", benchGo}, {"ts", "typescript", benchTS}} {
		path := "f/bench/async_" + sc.name
		benchPush(b, s, path, sc.lang, sc.src, false)
		benchWarm(b, s, path)
		for _, conns := range []int{1, benchConns} {
			b.Run(fmt.Sprintf("%s/isolated/c%d", sc.name, conns), func(b *testing.B) {
				var mu sync.Mutex
				ids := make([]string, 0, b.N+conns)
				ld := load{url: s.URL + "/api/w/main/jobs/run/p/" + path, token: s.Token, body: []byte(benchBody), conns: conns,
					check: func(status int, body []byte) error {
						if status != http.StatusCreated {
							return fmt.Errorf("got %d %q, want 201", status, body)
						}
						mu.Lock()
						ids = append(ids, string(body))
						mu.Unlock()
						return nil
					}}
				acc := ld.run(b, b.N) // stops the timer after the last 201
				b.StartTimer()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				slices.Sort(ids) // UUIDv7: roughly creation order, the runners' order
				for _, id := range ids {
					j, err := svc.Wait(ctx, "main", id, 5*time.Minute)
					if err != nil || !j.Done() || j.Status != "success" {
						b.Fatalf("job %s: %v %+v", id, err, j)
					}
				}
				total := time.Since(acc.start) // ids also holds run's warm-up jobs, accepted before start
				b.StopTimer()
				b.ReportMetric(float64(acc.pct(50))/1e6, "accept-p50-ms")
				b.ReportMetric(float64(acc.pct(99))/1e6, "accept-p99-ms")
				b.ReportMetric(acc.perSec(), "accepts/s")
				b.ReportMetric(float64(acc.n)/total.Seconds(), "completed/s")
			})
		}
	}
}
