package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/runtime"
)

var (
	extismOnce sync.Once
	extismMod  runtime.Module
	extismErr  error

	extismEngOnce sync.Once
	extismEng     *runtime.Engine
)

// extismPlugin builds testdata/extism, an Extism plugin written against the
// Extism ABI by hand, with the standard Go toolchain once per test binary.
func extismPlugin(t testing.TB) runtime.Module {
	t.Helper()
	extismOnce.Do(func() {
		out := filepath.Join(cacheDir, "extism", "plugin.wasm")
		build := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./testdata/extism")
		build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := build.CombinedOutput(); err != nil {
			extismErr = fmt.Errorf("build the Extism test plugin: %v\n%s", err, b)
			return
		}
		wasm, err := os.ReadFile(out)
		if err != nil {
			extismErr = err
			return
		}
		extismMod, extismErr = runtime.PrepareExtism(filepath.Join(cacheDir, "modules"), wasm)
	})
	if extismErr != nil {
		t.Fatal(extismErr)
	}
	return extismMod
}

// extismShared returns an engine with two workers and a spare, the plugin
// compiled in each, kept for the whole test binary.
func extismShared(t *testing.T) *runtime.Engine {
	t.Helper()
	mod := extismPlugin(t)
	extismEngOnce.Do(func() {
		e, err := runtime.New(runtime.Config{Workers: 2, Spare: true, Command: []string{workerBin}, CacheDir: cacheDir + "/wazero"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Preload(context.Background(), mod); err != nil {
			t.Fatal(err)
		}
		extismEng = e
	})
	if extismEng == nil {
		t.Fatal("shared Extism engine failed to start")
	}
	return extismEng
}

func extismJob(t testing.TB, entry, args string, l runtime.Limits) runtime.Job {
	t.Helper()
	return runtime.Job{Module: extismPlugin(t), Entry: entry, Args: json.RawMessage(args), Limits: l}
}

func TestExtismRoundTrip(t *testing.T) {
	t.Parallel()
	e := extismShared(t)
	tests := []struct {
		name  string
		job   runtime.Job
		check func(*testing.T, *runtime.Result, error)
	}{
		{name: "main by default", job: extismJob(t, "", `{"name":"ops","n":[1,2]}`, runtime.Limits{}),
			check: wantOutput(`{"args":{"n":[1,2],"name":"ops"},"greeting":"hello ops"}`)},
		{name: "env is the manifest config", job: extismJob(t, "main", `{"name":"ops"}`, runtime.Limits{Env: map[string]string{"GREETING": "hi"}}),
			check: wantOutput(`{"args":{"name":"ops"},"greeting":"hi ops"}`)},
		{name: "text output becomes a JSON string", job: extismJob(t, "text", `{}`, runtime.Limits{}),
			check: wantOutput(`"plain text, not JSON"`)},
		{name: "unknown entry", job: extismJob(t, "nope", `{}`, runtime.Limits{}),
			check: wantPluginError(`the plugin exports no function "nope"`, false)},
		{name: "error_set", job: extismJob(t, "fail", `{"name":"bobs"}`, runtime.Limits{}),
			check: wantPluginError("no bobs allowed", false)},
		{name: "panic", job: extismJob(t, "panics", `{}`, runtime.Limits{}),
			check: wantPluginError("the plugin gave up", true)},
		{name: "result limit", job: extismJob(t, "big", `{"n":2000000}`, runtime.Limits{MaxResultBytes: 1 << 20}),
			check: wantLimit("result")},
		{name: "log limit", job: extismJob(t, "flood", `{}`, runtime.Limits{MaxLogBytes: 64 << 10}),
			check: wantLimit("logs")},
		{name: "host call limit", job: extismJob(t, "flood", `{}`, runtime.Limits{MaxHostCalls: 300}),
			check: wantLimit("host calls")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := e.Run(context.Background(), tt.job)
			tt.check(t, res, err)
		})
	}
}

func wantPluginError(msg string, panicked bool) func(*testing.T, *runtime.Result, error) {
	return func(t *testing.T, _ *runtime.Result, err error) {
		t.Helper()
		var se *runtime.ScriptError
		if !errors.As(err, &se) || se.Message != msg || se.Panic != panicked {
			t.Fatalf("err = %#v, want a ScriptError %q (panic %v)", err, msg, panicked)
		}
	}
}

func TestExtismLogs(t *testing.T) {
	t.Parallel()
	res, err := extismShared(t).Run(context.Background(), extismJob(t, "log", `{}`, runtime.Limits{}))
	if err != nil || string(res.Output) != `"logged"` {
		t.Fatalf("got %v %v", err, res)
	}
	var got []string
	for _, l := range res.Logs {
		got = append(got, l.Level.String()+" "+l.Text)
	}
	want := []string{"debug a debug line", "info an info line", "warn a warn line", "error an error line", "info to stdout", "error to stderr"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range res.Logs {
		if l.Time.IsZero() {
			t.Fatalf("line %q has no time", l.Text)
		}
	}
}

func TestExtismFetchThroughHost(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s x-test=%s ua=%s body=%s", r.Method, r.URL.Path, r.Header.Get("X-Test"), r.Header.Get("User-Agent"), b)
	}))
	t.Cleanup(srv.Close)
	e := extismShared(t)
	args := fmt.Sprintf(`{"url":%q,"method":"post","body":"ping"}`, srv.URL+"/hook")
	res, err := e.Run(context.Background(), extismJob(t, "fetch", args, runtime.Limits{AllowedHosts: []string{"127.0.0.1"}, AllowPrivate: true}))
	if want := `{"body":"POST /hook x-test=1 ua=runlet body=ping","status":200}`; err != nil || string(res.Output) != want {
		t.Fatalf("allowed: got %v %v, want %s", err, res, want)
	}
	if hits.Load() != 1 {
		t.Fatalf("server saw %d requests, want 1", hits.Load())
	}
	refusals := []struct {
		name   string
		limits runtime.Limits
		want   string
	}{
		// Refused by the manifest's allowed hosts (go-sdk, before any I/O).
		{"not on the allow-list", runtime.Limits{AllowedHosts: []string{"api.example.com"}, AllowPrivate: true}, "is not allowed"},
		// Refused by runlet's policy in host/fetch.
		{"wrong port", runtime.Limits{AllowedHosts: []string{"127.0.0.1:1"}, AllowPrivate: true}, "not on the script's allow-list"},
		{"private network", runtime.Limits{AllowedHosts: []string{"127.0.0.1"}}, "loopback address"},
		{"no HTTP granted", runtime.Limits{}, "is not allowed"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			_, err := e.Run(context.Background(), extismJob(t, "fetch", args, r.limits))
			var se *runtime.ScriptError
			if !errors.As(err, &se) || !strings.Contains(se.Message, r.want) {
				t.Fatalf("err = %v, want a refusal mentioning %q", err, r.want)
			}
		})
	}
	if hits.Load() != 1 {
		t.Fatalf("server saw %d requests, want only the allowed one", hits.Load())
	}
}

func TestExtismTimeout(t *testing.T) {
	t.Parallel()
	mod := extismPlugin(t)
	e := newEngine(t, 1, false)
	warmUp(t, e, mod)
	if _, err := e.Run(context.Background(), extismJob(t, "main", `{}`, runtime.Limits{})); err != nil {
		t.Fatal(err)
	}
	const timeout = time.Second
	start := time.Now()
	_, err := e.Run(context.Background(), extismJob(t, "spin", `{}`, runtime.Limits{Timeout: timeout}))
	took := time.Since(start)
	var te *runtime.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || runtime.ErrorName(err) != "Timeout" {
		t.Fatalf("err = %v, want a timeout", err)
	}
	// No soft stop for a plugin that never calls the host: the worker is
	// killed at the deadline plus the grace.
	if !te.Hard || took < timeout || took > timeout+5*time.Second {
		t.Fatalf("hard=%v after %s for a %s timeout", te.Hard, took, timeout)
	}
	res, err := e.Run(context.Background(), extismJob(t, "main", `{"name":"again"}`, runtime.Limits{}))
	if err != nil || !strings.Contains(string(res.Output), "hello again") {
		t.Fatalf("engine after the timeout: %v %v", err, res)
	}
}

// A plugin that calls the host after its deadline is stopped there, and its
// worker survives.
func TestExtismSoftStopAtHostCall(t *testing.T) {
	t.Parallel()
	const timeout = 500 * time.Millisecond
	start := time.Now()
	_, err := extismShared(t).Run(context.Background(), extismJob(t, "flood", `{}`, runtime.Limits{Timeout: timeout, MaxLogBytes: 1 << 30}))
	var te *runtime.TimeoutError
	if !errors.As(err, &te) || te.Hard {
		t.Fatalf("err = %#v after %s, want a soft timeout", err, time.Since(start))
	}
}

func TestExtismMemoryLimit(t *testing.T) {
	t.Parallel()
	e := extismShared(t)
	_, err := e.Run(context.Background(), extismJob(t, "grow", `{}`, runtime.Limits{MaxMemory: 32 << 20, Timeout: 30 * time.Second}))
	var oom *runtime.OutOfMemoryError
	if !errors.As(err, &oom) || oom.Limit != 32<<20 || runtime.ErrorName(err) != "OutOfMemory" {
		t.Fatalf("err = %v, want OutOfMemoryError", err)
	}
	res, err := e.Run(context.Background(), extismJob(t, "main", `{"name":"after"}`, runtime.Limits{MaxMemory: 32 << 20}))
	if err != nil || !strings.Contains(string(res.Output), "hello after") {
		t.Fatalf("after OOM: %v %v", err, res)
	}
}

func TestExtismWarmAndIsolated(t *testing.T) {
	t.Parallel()
	mod := extismPlugin(t)
	e := newEngineWith(t, runtime.Config{Workers: 1, Command: []string{workerBin}, WarmRecycle: 3})
	warmUp(t, e, mod)
	runs := func(mode runtime.Mode, n int) []string {
		var got []string
		for range n {
			job := extismJob(t, "count", `{}`, runtime.Limits{})
			job.Mode = mode
			res, err := e.Run(context.Background(), job)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(res.Output))
		}
		return got
	}
	// Warm: globals and Extism vars carry over, until the instance is
	// recycled after WarmRecycle jobs.
	want := []string{`{"calls":1,"var":1}`, `{"calls":2,"var":2}`, `{"calls":3,"var":3}`, `{"calls":1,"var":1}`}
	if got := runs(runtime.Warm, 4); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("warm: %v, want %v", got, want)
	}
	// Isolated: every job starts from a new instance.
	for i, got := range runs(runtime.Isolated, 3) {
		if got != `{"calls":1,"var":1}` {
			t.Fatalf("isolated job %d: %s, state leaked", i, got)
		}
	}
	// A plugin that exits with 0 succeeds, and its closed instance is
	// replaced.
	quit := extismJob(t, "quit", `{}`, runtime.Limits{})
	quit.Mode = runtime.Warm
	if res, err := e.Run(context.Background(), quit); err != nil || string(res.Output) != `"bye"` {
		t.Fatalf("quit: %v %v", err, res)
	}
	if got := runs(runtime.Warm, 1); got[0] != `{"calls":1,"var":1}` {
		t.Fatalf("warm after an exit: %s", got[0])
	}
	// A failed warm job discards the warm instance.
	fail := extismJob(t, "fail", `{}`, runtime.Limits{})
	fail.Mode = runtime.Warm
	if _, err := e.Run(context.Background(), fail); err == nil {
		t.Fatal("fail succeeded")
	}
	if got := runs(runtime.Warm, 1); got[0] != `{"calls":1,"var":1}` {
		t.Fatalf("warm after an error: %s", got[0])
	}
}

func TestExtismPrepare(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 1, false)
	job := extismJob(t, "main", `{"name":"p"}`, runtime.Limits{})
	if err := e.Prepare(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	res, err := e.Run(context.Background(), job)
	if err != nil || res.Stats.Fresh {
		t.Fatalf("first job after Prepare: %v %+v", err, res)
	}
}

func TestPrepareExtismRefusesNonWasm(t *testing.T) {
	t.Parallel()
	if _, err := runtime.PrepareExtism(t.TempDir(), []byte("package main")); !errors.Is(err, runtime.ErrNotWasm) {
		t.Fatalf("err = %v", err)
	}
}
