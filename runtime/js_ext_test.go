package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/host"
	"github.com/runlet/runlet/internal/jsbuild"
	"github.com/runlet/runlet/pdk"
	"github.com/runlet/runlet/plugins/quickjs"
	"github.com/runlet/runlet/runtime"
)

var (
	jsOnce sync.Once
	jsMod  runtime.Module
	jsErr  error
)

// jsJob builds a JS/TS script into a job for the QuickJS plugin.
func jsJob(t testing.TB, src, args string, l runtime.Limits) runtime.Job {
	t.Helper()
	jsOnce.Do(func() { jsMod, jsErr = runtime.Prepare(cacheDir+"/modules", quickjs.Wasm) })
	if jsErr != nil {
		t.Fatal(jsErr)
	}
	out, err := jsbuild.Build("script.ts", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return runtime.Job{Module: jsMod, Load: out.Code, Args: []byte(args), Limits: l}
}

func TestHostileJS(t *testing.T) {
	t.Parallel()
	e, _ := shared(t)
	tests := []struct {
		name   string
		src    string
		limits runtime.Limits
		check  func(t *testing.T, res *runtime.Result, err error)
	}{
		{name: "infinite loop", src: `export function main() { let x = 0; for (;;) { x++; } }`, limits: runtime.Limits{Timeout: time.Second},
			check: func(t *testing.T, _ *runtime.Result, err error) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want timeout", err)
				}
			}},
		{name: "unbounded allocation", src: `export function main() { const a = []; for (;;) { a.push("x".repeat(1 << 16) + a.length); } }`, limits: runtime.Limits{MaxMemory: 32 << 20, Timeout: 20 * time.Second},
			check: func(t *testing.T, _ *runtime.Result, err error) {
				var oom *runtime.OutOfMemoryError
				if !errors.As(err, &oom) {
					t.Fatalf("err = %v, want OutOfMemoryError", err)
				}
			}},
		{name: "huge output", src: `export function main() { for (let i = 0; ; i++) console.log("line", i, "y".repeat(100)); }`, limits: runtime.Limits{MaxLogBytes: 64 << 10},
			check: wantLimit("logs")},
		{name: "huge result", src: `export function main() { return "x".repeat(2 << 20); }`, limits: runtime.Limits{MaxResultBytes: 1 << 20},
			check: wantLimit("result")},
		{name: "host call flood", src: `import { getState } from "windmill-client";
export async function main() { for (;;) { await getState().catch(() => 0); } }`, limits: runtime.Limits{MaxHostCalls: 300},
			check: wantLimit("host calls")},
		{name: "stack overflow", src: `function f(n) { return f(n + 1) + 1; }
export function main() { return f(0); }`,
			check: func(t *testing.T, _ *runtime.Result, err error) {
				var se *runtime.ScriptError
				if !errors.As(err, &se) || !strings.Contains(se.Message, "stack overflow") {
					t.Fatalf("err = %v, want a stack overflow", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := e.Run(context.Background(), jsJob(t, tt.src, `{}`, tt.limits))
			tt.check(t, res, err)
		})
	}
}

// TestJSPrototypePollutionDoesNotLeak: one job changes built-ins; the next
// isolated job of the same script sees pristine ones.
func TestJSPrototypePollutionDoesNotLeak(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 1, false)
	src := `export function main(pollute) {
  const seen = typeof Array.prototype.evil + "/" + JSON.stringify([1].map(x => x)) + "/" + typeof globalThis.leak;
  if (pollute) {
    Array.prototype.evil = () => "pwned";
    Array.prototype.map = function () { return ["hijacked"]; };
    globalThis.leak = 42;
  }
  return seen;
}`
	for i, pollute := range []string{"true", "false", "false"} {
		res, err := e.Run(context.Background(), jsJob(t, src, `{"args":[`+pollute+`]}`, runtime.Limits{}))
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Output) != `"undefined/[1]/undefined"` {
			t.Fatalf("job %d saw %s: state leaked from an earlier job", i, res.Output)
		}
	}
}

func TestJSFetchThroughHost(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"method":%q,"path":%q}`, r.Method, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	e, _ := shared(t)
	src := `export async function main(url: string) {
  const r = await fetch(url, { method: "POST", body: "x" });
  return { status: r.status, body: await r.json() };
}`
	args := `{"args":["` + srv.URL + `/hook"]}`
	res, err := e.Run(context.Background(), jsJob(t, src, args, runtime.Limits{AllowedHosts: []string{"127.0.0.1"}, AllowPrivate: true}))
	if err != nil || string(res.Output) != `{"status":200,"body":{"method":"POST","path":"/hook"}}` {
		t.Fatalf("allowed: %v %v", err, res)
	}
	refusals := []struct {
		limits runtime.Limits
		want   string
	}{
		{runtime.Limits{AllowedHosts: []string{"api.example.com"}, AllowPrivate: true}, "not on the script's allow-list"},
		{runtime.Limits{AllowedHosts: []string{"127.0.0.1"}}, "loopback address"},
		{runtime.Limits{}, "outbound HTTP is not granted"},
	}
	for _, r := range refusals {
		_, err := e.Run(context.Background(), jsJob(t, src, args, r.limits))
		var se *runtime.ScriptError
		if !errors.As(err, &se) || !strings.Contains(se.Message, r.want) {
			t.Fatalf("limits %+v: err = %v, want a refusal mentioning %q", r.limits, err, r.want)
		}
	}
}

// childCaller answers child-job calls the way the server will.
type childCaller struct{}

func (childCaller) Call(ctx context.Context, op pdk.Op, req []byte) ([]byte, error) {
	switch op {
	case pdk.OpRunScript:
		return []byte(`{"ran":` + string(req) + `}`), nil
	case pdk.OpRunScriptAsync:
		return []byte(`"job-1"`), nil
	case pdk.OpWaitJob:
		return []byte(`{"waited":` + string(req) + `}`), nil
	}
	return nil, host.ErrUnsupported
}

func TestJSWindmillClientChildJobs(t *testing.T) {
	t.Parallel()
	e, _ := shared(t)
	src := `import * as wmill from "windmill-client";
export async function main() {
  const direct = await wmill.runScript("f/ops/child", { n: 1 });
  const id = await wmill.runScriptAsync("f/ops/child", { n: 2 });
  const waited = await wmill.waitJob(id);
  let resume = "";
  try { await wmill.getResumeUrls(); } catch (e) { resume = e.message; }
  let variable = "";
  try { await wmill.getVariable("u/x/y"); } catch (e) { variable = e.message; }
  return { direct, id, waited, resume, variable };
}`
	job := jsJob(t, src, `{}`, runtime.Limits{})
	job.Caller = childCaller{}
	res, err := e.Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"direct":{"ran":{"path":"f/ops/child","args":{"n":1}}},"id":"job-1","waited":{"waited":{"id":"job-1"}},"resume":"runlet: getResumeUrls is not supported by this host","variable":"runlet: getVariable is not supported by this host"}`
	if string(res.Output) != want {
		t.Fatalf("got  %s\nwant %s", res.Output, want)
	}
}

// TestJSWarmFreshContext: in warm mode the instance (and its QuickJS
// runtime) is reused, but each job gets a fresh JSContext: globals and
// changed built-ins of one job are gone in the next, while the reuse shows
// in the stats (no fresh instance).
func TestJSWarmFreshContext(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 1, false)
	src := `let calls = 0;
export function main(pollute: boolean) {
  calls++;
  const seen = typeof Array.prototype.evil + "/" + JSON.stringify([1].map(x => x)) + "/" + typeof globalThis.leak + "/" + calls;
  if (pollute) {
    Array.prototype.evil = () => "pwned";
    Array.prototype.map = function () { return ["hijacked"]; };
    Object.prototype.polluted = true;
    globalThis.leak = 42;
  }
  return seen;
}`
	for i, pollute := range []string{"true", "false", "true", "false"} {
		job := jsJob(t, src, `{"args":[`+pollute+`]}`, runtime.Limits{})
		job.Mode = runtime.Warm
		res, err := e.Run(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Output) != `"undefined/[1]/undefined/1"` {
			t.Fatalf("warm job %d saw %s: state leaked from an earlier job", i, res.Output)
		}
		if i > 0 && res.Stats.Fresh {
			t.Fatalf("warm job %d ran on a fresh instance: the instance was not reused", i)
		}
	}
}

// TestJSInGuestDeadline: QuickJS's interrupt handler stops a runaway loop
// at the in-guest deadline (before the host's stop flag), the error carries
// the script's line, and the warm instance stays usable.
func TestJSInGuestDeadline(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 1, false)
	src := `export function main(spin: boolean) {
  let x = 0;
  while (spin) { x++; }
  return "ok";
}`
	job := jsJob(t, src, `{"args":[true]}`, runtime.Limits{Timeout: time.Second})
	job.Mode = runtime.Warm
	start := time.Now()
	_, err := e.Run(context.Background(), job)
	var te *runtime.TimeoutError
	if !errors.As(err, &te) || te.Hard {
		t.Fatalf("err = %#v, want a soft TimeoutError", err)
	}
	out, err := jsbuild.Build("script.ts", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if stack := out.Map.MapStack(te.Stack, "script.ts"); !strings.Contains(stack, "at main (script.ts:3)") {
		t.Fatalf("timeout stack %q (mapped %q) does not point at the loop (line 3)", te.Stack, stack)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeout took %s", d)
	}
	job.Args = []byte(`{"args":[false]}`)
	res, err := e.Run(context.Background(), job)
	if err != nil || string(res.Output) != `"ok"` {
		t.Fatalf("after the timeout: %v %v", res, err)
	}
}

// TestJSTimerPastDeadline: a timer due after the deadline does not keep
// the worker asleep until the hard kill.
func TestJSTimerPastDeadline(t *testing.T) {
	t.Parallel()
	e, _ := shared(t)
	src := `export async function main() {
  await new Promise((resolve) => setTimeout(resolve, 3600 * 1000));
  return "woke";
}`
	start := time.Now()
	_, err := e.Run(context.Background(), jsJob(t, src, `{}`, runtime.Limits{Timeout: 200 * time.Millisecond}))
	var te *runtime.TimeoutError
	if !errors.As(err, &te) || te.Hard {
		t.Fatalf("err = %#v, want a soft TimeoutError", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeout took %s", d)
	}
}

// TestJSHeapLimit: QuickJS's own heap limit (derived from the memory
// limit) ends an unbounded allocation with OutOfMemoryError while the
// guest can still report it, and the warm instance survives.
func TestJSHeapLimit(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 1, false)
	src := `export function main(grow: boolean) {
  const a = [];
  while (grow) { a.push(new Array(1 << 14).fill(a.length)); }
  return a.length;
}`
	job := jsJob(t, src, `{"args":[true]}`, runtime.Limits{MaxMemory: 48 << 20, Timeout: 20 * time.Second})
	job.Mode = runtime.Warm
	_, err := e.Run(context.Background(), job)
	var oom *runtime.OutOfMemoryError
	if !errors.As(err, &oom) {
		t.Fatalf("err = %v, want OutOfMemoryError", err)
	}
	job.Args = []byte(`{"args":[false]}`)
	res, err := e.Run(context.Background(), job)
	if err != nil || string(res.Output) != `0` {
		t.Fatalf("after the out-of-memory: %v %v", res, err)
	}
}

// TestIsolatedAfterWarm: an isolated job of a program whose instance a warm
// job left behind does not see the warm job's state.
func TestIsolatedAfterWarm(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 1, false)
	src := `let calls = 0;
export function main() { calls++; return calls; }`
	warm := jsJob(t, src, `{}`, runtime.Limits{})
	warm.Mode = runtime.Warm
	iso := warm
	iso.Mode = runtime.Isolated
	for i, job := range []runtime.Job{warm, iso, iso} {
		res, err := e.Run(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Output) != "1" {
			t.Fatalf("job %d returned %s, want 1 (a fresh module scope)", i, res.Output)
		}
	}
}
