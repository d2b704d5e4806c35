package quickjs

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestMainSync(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export function main(a, b) {
  return { sum: a + b, list: [a, b], nested: { ok: true, none: null } };
}`)
	if got, want := g.run(t, 1, 2), `{"sum":3,"list":[1,2],"nested":{"ok":true,"none":null}}`; got != want {
		t.Errorf("result = %s, want %s", got, want)
	}
}

func TestMainAsync(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
async function double(x) { await null; return x * 2; }
export async function main(x, s) {
  const y = await double(x);
  const z = await new Promise((resolve) => Promise.resolve().then(() => resolve(y + 1)));
  return [y, z, s.toUpperCase()];
}`)
	if got, want := g.run(t, 2, "abc"), `[4,5,"ABC"]`; got != want {
		t.Errorf("result = %s, want %s", got, want)
	}
}

func TestArgsByPosition(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export function main(a, b, c, d) {
  return { a, b, c, d: d === undefined ? "undefined" : d, n: arguments.length };
}`)
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"x", map[string]any{"k": 1.5}, []any{1, "2", nil}}, `{"a":"x","b":{"k":1.5},"c":[1,"2",null],"d":"undefined","n":3}`},
		{[]any{}, `{"d":"undefined","n":0}`},
		{[]any{nil, false, 0, "last"}, `{"a":null,"b":false,"c":0,"d":"last","n":4}`},
	} {
		if got := g.run(t, tc.args...); got != tc.want {
			t.Errorf("main(%v) = %s, want %s", tc.args, got, tc.want)
		}
	}
	// No args key or an empty document: main gets no arguments.
	for _, doc := range []string{`{}`, ``, `{"args":null}`} {
		if rc, got, failure := g.runRaw(t, []byte(doc)); rc != 0 || got != `{"d":"undefined","n":0}` {
			t.Errorf("args document %q: rc %d, result %s, error %s", doc, rc, got, failure)
		}
	}
	// Malformed documents fail the job with a clear message.
	for doc, want := range map[string]string{
		`{"args":{"a":1}}`: `"args" must be an array`,
		`[1,2]`:            `must be a JSON object`,
		`{"args":[1,`:      `SyntaxError`,
	} {
		rc, _, failure := g.runRaw(t, []byte(doc))
		if f := parseFailure(t, failure); rc != 1 || !strings.Contains(f.Name+": "+f.Message, want) {
			t.Errorf("args document %q: rc %d, error %s; want one mentioning %q", doc, rc, failure, want)
		}
	}
}

func TestResults(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export async function main(kind) {
  switch (kind) {
  case "undefined": return undefined;
  case "none": return;
  case "null": return null;
  case "string": return "héllo \"q\" \u2603";
  case "number": return 0.1 + 0.2;
  case "array": return [1, [2, [3]], {}];
  case "date": return new Date(Date.UTC(2020, 0, 2, 3, 4, 5));
  case "map": return new Map([[1, 2]]);
  case "function": return () => 1;
  case "bigint": return 1n;
  case "cyclic": { const o = {}; o.self = o; return o; }
  }
}`)
	for kind, want := range map[string]string{
		"undefined": `null`,
		"none":      `null`,
		"null":      `null`,
		"string":    `"héllo \"q\" ☃"`,
		"number":    `0.30000000000000004`,
		"array":     `[1,[2,[3]],{}]`,
		"date":      `"2020-01-02T03:04:05.000Z"`,
		"map":       `{}`,
		"function":  `null`,
	} {
		if got := g.run(t, kind); got != want {
			t.Errorf("main(%q) = %s, want %s", kind, got, want)
		}
	}
	for _, kind := range []string{"bigint", "cyclic"} {
		rc, _, failure := g.runArgs(t, kind)
		if f := parseFailure(t, failure); rc != 1 || f.Name != "TypeError" {
			t.Errorf("main(%q): rc %d, error %s; want a TypeError from JSON.stringify", kind, rc, failure)
		}
	}
}

func TestSyncMainUndefinedIsNull(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `export function main() {}`)
	if got := g.run(t); got != "null" {
		t.Errorf("result = %s, want null", got)
	}
}

func TestThrownError(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `// line 1
function helper(x) {
  throw new RangeError("boom " + x); // line 3
}
export async function main(mode) {
  if (mode === "sync") helper(1); // line 6
  if (mode === "string") throw "just a string";
  if (mode === "object") throw { code: 42 };
  if (mode === "ok") return 1;
  if (mode === "getter") throw new (class extends Error { get message() { throw new Error("no"); } })();
  await null;
  helper(2); // line 12
}`)
	for _, tc := range []struct {
		mode, name, message string
		stack               []string
	}{
		{"sync", "RangeError", "boom 1", []string{"at helper (<script>:3)", "at main (<script>:6)"}},
		{"async", "RangeError", "boom 2", []string{"at helper (<script>:3)", "at main (<script>:12)"}},
		{"string", "Error", "just a string", nil},
		{"object", "Error", `{"code":42}`, nil},
		{"getter", "Error", "", []string{"at main (<script>:10)"}},
	} {
		rc, _, failure := g.runArgs(t, tc.mode)
		if rc != 1 {
			t.Fatalf("main(%q): rc %d, want 1", tc.mode, rc)
		}
		f := parseFailure(t, failure)
		if f.Name != tc.name || f.Message != tc.message {
			t.Errorf("main(%q): error %+v, want name %q message %q", tc.mode, f, tc.name, tc.message)
		}
		for _, s := range tc.stack {
			if !strings.Contains(f.Stack, s) {
				t.Errorf("main(%q): stack %q does not mention %q", tc.mode, f.Stack, s)
			}
		}
	}
	// The instance keeps working after failures.
	if rc, _, _ := g.runArgs(t, "ok"); rc != 0 {
		t.Errorf("run after failures: rc %d", rc)
	}
}

func TestSyntaxError(t *testing.T) {
	t.Parallel()
	g := newInstance(t)
	rc, failure := g.load(t, "export function main() {\n  return 1 +;\n}\n")
	if rc != 1 {
		t.Fatalf("runlet_load = %d, want 1", rc)
	}
	f := parseFailure(t, failure)
	if f.Name != "SyntaxError" || f.Message == "" || !strings.Contains(f.Stack, "<script>:2") {
		t.Errorf("error %+v: want a SyntaxError at <script>:2", f)
	}
	// Nothing is loaded: runlet_run fails cleanly.
	if rc, _, failure := g.runArgs(t); rc != 1 || !strings.Contains(failure, "no script is loaded") {
		t.Errorf("run after a failed load: rc %d, error %s", rc, failure)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ script, want string }{
		{`export const x = 1;`, "does not export a function main"},
		{`export const main = 42;`, "does not export a function main"},
		{`throw new TypeError("top-level failure");`, "top-level failure"},
		{`import _ from "lodash"; export function main() {}`, "module not found: lodash"},
		{`import { x } from "./helper.js"; export function main() {}`, "module not found: ./helper.js"},
		{`import { nope } from "runlet"; export function main() {}`, "nope"},
	} {
		g := newInstance(t)
		rc, failure := g.load(t, tc.script)
		if rc != 1 || !strings.Contains(parseFailure(t, failure).Message, tc.want) {
			t.Errorf("load %q: rc %d, error %s; want one mentioning %q", tc.script, rc, failure, tc.want)
		}
	}
}

func TestLoadOnceAndReuse(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
let evaluated = 0, calls = 0;
evaluated++;
export function main() { return { evaluated, calls: ++calls }; }`)
	for i, want := range []string{`{"evaluated":1,"calls":1}`, `{"evaluated":1,"calls":2}`} {
		if got := g.run(t); got != want {
			t.Errorf("run %d = %s, want %s", i, got, want)
		}
	}
	if rc, failure := g.load(t, `export function main() {}`); rc != 1 || !strings.Contains(failure, "already loaded") {
		t.Errorf("second runlet_load: rc %d, error %s", rc, failure)
	}
}

func TestStateRoundTrip(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
import { getState, setState } from "windmill-client";
export async function main() {
  const s = (await getState()) ?? { n: 0 };
  s.n++;
  await setState(s);
  return s;
}`)
	for i, want := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		if got := g.run(t); got != want {
			t.Errorf("run %d = %s, want %s", i, got, want)
		}
	}
	wantCalls := []hostCall{
		{1, `{}`}, {2, `{"value":{"n":1}}`},
		{1, `{}`}, {2, `{"value":{"n":2}}`},
		{1, `{}`}, {2, `{"value":{"n":3}}`},
	}
	if !reflect.DeepEqual(g.calls, wantCalls) {
		t.Errorf("host calls %v, want %v", g.calls, wantCalls)
	}
}

func TestHostCalls(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
import * as runlet from "runlet";
import { getVariable, getResource, setState, getState } from "windmill-client";
export async function main(what) {
  switch (what) {
  case "variable": return await getVariable("u/alice/token");
  case "resource": return await runlet.getResource("u/alice/db");
  case "missing": return await getResource("u/alice/none");
  case "state-undefined": await setState(undefined); return await getState();
  case "same-functions": return typeof runlet.getState === "function" && runlet.getVariable !== undefined;
  case "unsupported": return await getState();
  case "caught":
    try { await getVariable("nope"); } catch (e) { return [e instanceof Error, e.message]; }
  }
}`)
	g.variables = map[string]string{"u/alice/token": "s3cr3t"}
	g.resources = map[string]json.RawMessage{"u/alice/db": json.RawMessage(`{"host":"db","port":5432}`)}
	for what, want := range map[string]string{
		"variable":        `"s3cr3t"`,
		"resource":        `{"host":"db","port":5432}`,
		"state-undefined": `null`,
		"same-functions":  `true`,
		"caught":          `[true,"variable nope not found"]`,
	} {
		if got := g.run(t, what); got != want {
			t.Errorf("main(%q) = %s, want %s", what, got, want)
		}
	}
	if rc, _, failure := g.runArgs(t, "missing"); rc != 1 || parseFailure(t, failure).Message != "resource u/alice/none not found" {
		t.Errorf("missing resource: rc %d, error %s", rc, failure)
	}
	g.unsupported = map[uint32]bool{1: true}
	if rc, _, failure := g.runArgs(t, "unsupported"); rc != 1 || !strings.Contains(failure, "getState is not supported") {
		t.Errorf("unsupported op: rc %d, error %s", rc, failure)
	}
	var reqs []string
	for _, c := range g.calls {
		reqs = append(reqs, c.Req)
	}
	for _, want := range []string{`{"path":"u/alice/token"}`, `{"path":"u/alice/db"}`, `{"value":null}`} {
		if !slices.Contains(reqs, want) {
			t.Errorf("no host call with request %s in %v", want, reqs)
		}
	}
}

func TestConsoleLevels(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export function main() {
  console.log("log", 1, { x: [1, "a"] }, null, undefined, true, [2]);
  console.info("info");
  console.debug("debug");
  console.warn("warn", 2.5);
  console.error(new TypeError("bad"));
  const cyc = {}; cyc.self = cyc;
  console.log(cyc, Symbol("s"), function f() {}, 10n);
  console.log();
}`)
	g.run(t)
	want := []logLine{
		{1, `log 1 {"x":[1,"a"]} null undefined true [2]`},
		{1, `info`},
		{0, `debug`},
		{2, `warn 2.5`},
	}
	if len(g.logs) != 7 {
		t.Fatalf("logs %+v: want 7 lines", g.logs)
	}
	if !reflect.DeepEqual(g.logs[:4], want) {
		t.Errorf("logs %+v, want %+v", g.logs[:4], want)
	}
	if l := g.logs[4]; l.Level != 3 || !strings.HasPrefix(l.Text, "TypeError: bad\n    at main (<script>:") {
		t.Errorf("console.error(Error) logged %+v", l)
	}
	if l := g.logs[5]; l.Level != 1 || !strings.HasPrefix(l.Text, "[object Object] Symbol(s) function f() {} 10") {
		t.Errorf("console.log(cyclic, symbol, function, bigint) logged %+v", l)
	}
	if l := g.logs[6]; l != (logLine{1, ""}) {
		t.Errorf("console.log() logged %+v", l)
	}
}

func TestNeverSettles(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `export function main() { return new Promise(() => {}); }`)
	if rc, _, failure := g.runArgs(t); rc != 1 || !strings.Contains(failure, "never settled") {
		t.Errorf("rc %d, error %s", rc, failure)
	}
}

func TestThenables(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
let kept;
export function main(mode) {
  if (mode === "sync") return { then(ok) { ok(42); } };
  if (mode === "keep") return { then(ok) { kept = ok; } };
  if (mode === "stale") return new Promise((resolve) => Promise.resolve().then(() => { kept("stale"); resolve("fresh"); }));
}`)
	if got := g.run(t, "sync"); got != "42" {
		t.Errorf("thenable = %s, want 42", got)
	}
	if rc, _, failure := g.runArgs(t, "keep"); rc != 1 || !strings.Contains(failure, "never settled") {
		t.Errorf("thenable that never calls back: rc %d, error %s", rc, failure)
	}
	// A callback kept from the earlier run must not settle this one.
	if got := g.run(t, "stale"); got != `"fresh"` {
		t.Errorf("result = %s, want \"fresh\"", got)
	}
}

// TestRepeatedRunsDoNotGrowMemory runs every path of runlet_run thousands
// of times on one instance: a reference leaked per run would grow linear
// memory.
func TestRepeatedRunsDoNotGrowMemory(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
import { getState, setState } from "runlet";
export async function main(mode, payload) {
  console.log("run", mode, payload);
  if (mode === "throw") throw new Error("fail " + payload.items.length);
  if (mode === "reject") { await null; throw { payload }; }
  if (mode === "state") { await setState(payload); return await getState(); }
  if (mode === "missing") return await getState().then(() => { throw new Error("x"); });
  return { echo: payload, list: payload.items.map((x) => x * 2) };
}`)
	payload := map[string]any{"items": []int{1, 2, 3, 4, 5, 6, 7, 8}, "name": strings.Repeat("x", 200)}
	modes := []string{"ok", "throw", "reject", "state", "missing"}
	round := func(n int) {
		for i := range n {
			g.runArgs(t, modes[i%len(modes)], payload)
		}
		g.mu.Lock()
		g.logs, g.calls = nil, nil
		g.mu.Unlock()
	}
	round(1000)
	before := g.mod.Memory().Size()
	round(10000) // a 16-byte leak per run would take 160 KB
	if after := g.mod.Memory().Size(); after != before {
		t.Errorf("linear memory grew from %d to %d bytes over 10000 runs", before, after)
	}
}

func TestStackOverflow(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
function deep(n) { return n === 0 ? 0 : 1 + deep(n - 1); }
export function main(n) { return deep(n); }`)
	// The 1 MiB C stack holds about 3000 frames of this function.
	if got := g.run(t, 2500); got != "2500" {
		t.Errorf("deep(2500) = %s", got)
	}
	// QuickJS reports an InternalError "stack overflow" (V8: RangeError);
	// the trace is cut after 50 lines.
	rc, _, failure := g.runArgs(t, 10000000)
	f := parseFailure(t, failure)
	if rc != 1 || f.Name != "InternalError" || f.Message != "stack overflow" {
		t.Errorf("deep(1e7): rc %d, error %s; want a stack overflow", rc, failure)
	}
	if lines := strings.Split(f.Stack, "\n"); len(lines) != 52 || !strings.HasPrefix(lines[50], "    ... ") {
		t.Errorf("stack of the overflow has %d lines, ending %q; want 50 and a count", len(lines), lines[len(lines)-2:])
	}
	if got := g.run(t, 10); got != "10" {
		t.Errorf("after the overflow: deep(10) = %s", got)
	}
	// Other recursive C paths check the stack too instead of trapping.
	// (JSON.stringify does since runlet's patch, but it needs a nesting
	// of ~10^5 to get there, which takes QuickJS's quadratic cycle check
	// 20 s: not tested.)
	for _, expr := range []string{
		`JSON.parse("[".repeat(200000))`,
		`eval("(".repeat(200000) + ")".repeat(200000))`,
	} {
		g := newGuest(t, "export function main() { return "+expr+"; }")
		rc, _, failure := g.runArgs(t)
		if f := parseFailure(t, failure); rc != 1 || f.Message != "stack overflow" {
			t.Errorf("%s: rc %d, error %.200s; want a stack overflow", expr, rc, failure)
		}
	}
}

func TestMathRandom(t *testing.T) {
	t.Parallel()
	const script = `export function main() { const a = []; for (let i = 0; i < 4; i++) a.push(Math.random()); return a; }`
	a, b := newGuest(t, script), newGuest(t, script)
	ra, rb := a.run(t), b.run(t)
	if ra == rb {
		t.Errorf("two instances drew the same numbers %s", ra)
	}
	var xs []float64
	if err := json.Unmarshal([]byte(ra), &xs); err != nil {
		t.Fatal(err)
	}
	for _, x := range xs {
		if x < 0 || x >= 1 {
			t.Errorf("Math.random() = %v, outside [0, 1)", x)
		}
	}
	// runlet_reseed draws a new seed.
	a.call(t, "runlet_reseed")
	if again := a.run(t); again == ra {
		t.Errorf("after runlet_reseed the numbers repeat")
	}
}

func TestLanguageFeatures(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
class Counter { #n = 0; inc() { return ++this.#n; } }
export async function main() {
  const c = new Counter(); c.inc();
  const { a, ...rest } = { a: 1, b: 2, c: 3 };
  const re = /(?<year>\d{4})-(?<month>\d{2})/u.exec("on 2024-05");
  const big = 2n ** 64n;
  const arr = [3, 1, 2].sort((x, y) => x - y).map((x) => x ** 2);
  const s = new Set([1, 1, 2]);
  const opt = rest?.c ?? 0;
  const gen = (function* () { yield 1; yield 2; })();
  return {
    n: c.inc(), rest, year: re.groups.year, big: big.toString(), arr, set: [...s], opt, gen: [...gen],
    json: JSON.parse('{"x":[1,{"y":null}]}'), str: "abc".padStart(5, "-").slice(-1), date: typeof Date.now(),
  };
}`)
	want := `{"n":2,"rest":{"b":2,"c":3},"year":"2024","big":"18446744073709551616","arr":[1,4,9],"set":[1,2],"opt":3,"gen":[1,2],"json":{"x":[1,{"y":null}]},"str":"c","date":"number"}`
	if got := g.run(t); got != want {
		t.Errorf("result = %s\nwant     %s", got, want)
	}
}

func TestWarmup(t *testing.T) {
	t.Parallel()
	// The engine's order: _initialize, runlet_load, runlet_warmup; and
	// runlet_warmup alone (no script) must not fail either.
	newInstance(t).call(t, "runlet_warmup")
	g := newGuest(t, `export function main(x) { return x; }`)
	g.call(t, "runlet_warmup")
	if got := g.run(t, "ok"); got != `"ok"` {
		t.Errorf("result after warm-up = %s", got)
	}
	if len(g.logs) != 0 || len(g.calls) != 0 {
		t.Errorf("warm-up used host imports: logs %v, calls %v", g.logs, g.calls)
	}
}

// TestModuleInterface checks the module's exports and imports. (Its
// freedom from SIMD is checked by compiling it with SIMD disabled, see
// runtimeForTests; runlet's module rewriter is checked by the integrator.)
func TestModuleInterface(t *testing.T) {
	t.Parallel()
	_, compiled := runtimeForTests(t)
	var exports []string
	for name := range compiled.ExportedFunctions() {
		exports = append(exports, name)
	}
	slices.Sort(exports)
	want := []string{"_initialize", "runlet_abi_v1", "runlet_alloc", "runlet_begin", "runlet_load", "runlet_reseed", "runlet_run", "runlet_warmup"}
	if !slices.Equal(exports, want) {
		t.Errorf("exported functions %v, want %v", exports, want)
	}
	for _, f := range compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case "runlet":
			if !slices.Contains([]string{"result_set", "error_set", "log", "call", "recv"}, name) {
				t.Errorf("unexpected import runlet.%s", name)
			}
		case "wasi_snapshot_preview1":
		default:
			t.Errorf("unexpected import %s.%s", mod, name)
		}
	}
}
