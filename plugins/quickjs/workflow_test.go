package quickjs

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Tests of workflows as code: task, step, sleep and approvals (host ops
// 9-15) and task jobs.

const workflowScript = `
import { task, step, sleep, getResumeUrls, waitForApproval, workflow, getVariable } from "windmill-client";
import * as runlet from "runlet";

export async function double(x) { return 2 * x; }
const triple = task(async function triple(x) { return 3 * x; });
export const inc = task(async function increment(x) { return x + 1; });
async function notExported(x) { return x; }
export async function failing(x) { throw new RangeError("too big: " + x); }

export const main = workflow(async (mode, n) => {
  switch (mode) {
  case "one": return await task(double)(n);
  case "parallel": return await Promise.all([task(double)(n), triple(n + 1), inc(n)]);
  case "then": return task(double)(n).then((v) => v + 0.5);
  case "caught": try { await task(failing)(n); return "resolved"; } catch (e) { return [e instanceof Error, e.message]; }
  case "uncaught": return await task(failing)(n);
  case "inner": return await task(async function inner(x) { return x; })(n);
  case "anonymous": try { task(async (x) => x); } catch (e) { return [e.name, e.message]; }
  case "exports":
    return [runlet.task === task, typeof runlet.step, typeof runlet.sleep, typeof runlet.workflow,
      typeof runlet.runScriptByPath, typeof runlet.runScriptByPathAsync, typeof runlet.runScript, typeof runlet.waitJob];
  case "steps": {
    const a = await step("fetch", async () => { await getVariable("u/x/effect"); return { n }; });
    const b = await step("fetch", () => { getVariable("u/x/effect"); return n + 1; });
    const u = await step("nothing", () => { getVariable("u/x/effect"); });
    return [a, b, u === undefined ? "undefined" : u];
  }
  case "approval": {
    await sleep(1.5);
    const urls = await getResumeUrls("bob");
    const approval = await waitForApproval({ timeout: 60, approver: "bob" });
    let canceled; try { await waitForApproval(); } catch (e) { canceled = e.message; }
    let bad; try { await sleep(-1); } catch (e) { bad = e.name; }
    return { urls, approval, canceled, bad, anyone: await getResumeUrls() };
  }
  }
});
`

// workflowHost answers ops 9-15 as runlet's server would: a started task
// runs at once as a task job on a second instance of the same script, and
// step checkpoints are kept in memory by name and occurrence.
type workflowHost struct {
	tb        testing.TB
	child     *guest
	nextID    int
	results   map[string]string // job id -> result JSON
	failures  map[string]string // job id -> the host's error text
	steps     map[string]json.RawMessage
	seen      map[string]int // step occurrences in this run
	approvals int
}

func newWorkflowHost(tb testing.TB, script string, g *guest) *workflowHost {
	tb.Helper()
	h := &workflowHost{tb: tb, child: newGuest(tb, script), results: map[string]string{}, failures: map[string]string{},
		steps: map[string]json.RawMessage{}, seen: map[string]int{}}
	h.install(g)
	h.install(h.child)
	return h
}

func (h *workflowHost) install(g *guest) {
	g.variables = map[string]string{"u/x/effect": "done"}
	g.ops = map[uint32]func([]byte) (uint64, []byte){
		7: func(req []byte) (uint64, []byte) { return 0, []byte(`{"ran":` + string(req) + `}`) },
		9: h.wait, 10: h.start, 11: h.stepGet, 12: h.stepSet,
		13: func([]byte) (uint64, []byte) { return 0, []byte(`{}`) },
		14: func(req []byte) (uint64, []byte) {
			var r struct{ Approver string }
			json.Unmarshal(req, &r)
			return 0, []byte(`{"approvalPage":"https://r/page?for=` + r.Approver + `","resume":"https://r/resume","cancel":"https://r/cancel"}`)
		},
		15: func([]byte) (uint64, []byte) {
			h.approvals++
			if h.approvals > 1 {
				return 1, []byte("approval canceled by bob")
			}
			return 0, []byte(`{"approved":true,"payload":{"note":"ok"},"approver":"bob"}`)
		},
	}
}

// replay starts another run of the same job: step occurrences count anew.
func (h *workflowHost) replay() { h.seen = map[string]int{} }

func (h *workflowHost) start(req []byte) (uint64, []byte) {
	var r struct {
		Name string          `json:"name"`
		Args json.RawMessage `json:"args"`
	}
	if err := json.Unmarshal(req, &r); err != nil {
		return 1, []byte(err.Error())
	}
	h.nextID++
	id := fmt.Sprintf("job-%d", h.nextID)
	doc, _ := json.Marshal(map[string]any{"args": r.Args, "task": r.Name})
	rc, result, failure := h.child.runRaw(h.tb, doc)
	if rc != 0 {
		f := parseFailure(h.tb, failure)
		h.failures[id] = fmt.Sprintf("child job %s failed: %s: %s", id, f.Name, f.Message)
	} else {
		h.results[id] = result
	}
	return 0, []byte(`{"id":"` + id + `"}`)
}

func (h *workflowHost) wait(req []byte) (uint64, []byte) {
	var r struct{ ID string }
	json.Unmarshal(req, &r)
	if msg, ok := h.failures[r.ID]; ok {
		return 1, []byte(msg)
	}
	res, ok := h.results[r.ID]
	if !ok {
		return 1, []byte("no job " + r.ID)
	}
	return 0, []byte(res)
}

func (h *workflowHost) stepGet(req []byte) (uint64, []byte) {
	var r struct{ Name string }
	json.Unmarshal(req, &r)
	key := fmt.Sprintf("%s#%d", r.Name, h.seen[r.Name])
	h.seen[r.Name]++
	if v, ok := h.steps[key]; ok {
		return 0, []byte(`{"found":true,"value":` + string(v) + `}`)
	}
	return 0, []byte(`{"found":false,"value":null}`)
}

func (h *workflowHost) stepSet(req []byte) (uint64, []byte) {
	var r struct {
		Name  string
		Value json.RawMessage
	}
	json.Unmarshal(req, &r)
	h.steps[fmt.Sprintf("%s#%d", r.Name, h.seen[r.Name]-1)] = r.Value
	return 0, []byte(`{}`)
}

// callsFrom returns the host calls of g from index i on, as "op request".
func callsFrom(g *guest, i int) []string {
	var out []string
	for _, c := range g.calls[i:] {
		out = append(out, fmt.Sprintf("%d %s", c.Op, c.Req))
	}
	return out
}

func TestTaskStartAndWait(t *testing.T) {
	t.Parallel()
	g := newGuest(t, workflowScript)
	newWorkflowHost(t, workflowScript, g)

	if got := g.run(t, "one", 21); got != "42" {
		t.Errorf("one task = %s, want 42", got)
	}
	if want := []string{`10 {"name":"double","args":[21]}`, `9 {"id":"job-1"}`}; !reflect.DeepEqual(callsFrom(g, 0), want) {
		t.Errorf("calls %q, want %q", callsFrom(g, 0), want)
	}
	// Promise.all: every task starts before the first wait.
	n := len(g.calls)
	if got := g.run(t, "parallel", 5); got != "[10,18,6]" {
		t.Errorf("parallel = %s, want [10,18,6]", got)
	}
	want := []string{
		`10 {"name":"double","args":[5]}`, `10 {"name":"triple","args":[6]}`, `10 {"name":"increment","args":[5]}`,
		`9 {"id":"job-2"}`, `9 {"id":"job-3"}`, `9 {"id":"job-4"}`,
	}
	if !reflect.DeepEqual(callsFrom(g, n), want) {
		t.Errorf("calls %q, want %q", callsFrom(g, n), want)
	}
	if got := g.run(t, "then", 1); got != "2.5" {
		t.Errorf("then = %s, want 2.5", got)
	}
}

func TestTaskErrors(t *testing.T) {
	t.Parallel()
	g := newGuest(t, workflowScript)
	newWorkflowHost(t, workflowScript, g)

	if got, want := g.run(t, "caught", 7), `[true,"child job job-1 failed: RangeError: too big: 7"]`; got != want {
		t.Errorf("caught = %s, want %s", got, want)
	}
	rc, _, failure := g.runArgs(t, "uncaught", 8)
	if f := parseFailure(t, failure); rc != 1 || f.Message != "child job job-2 failed: RangeError: too big: 8" {
		t.Errorf("uncaught: rc %d, error %s", rc, failure)
	}
	// A task given to task() inside main is not registered: its job
	// cannot find it.
	if rc, _, failure := g.runArgs(t, "inner", 1); rc != 1 || !strings.HasPrefix(parseFailure(t, failure).Message, `child job job-3 failed: Error: task "inner" not found: `) {
		t.Errorf("inner task: rc %d, error %s", rc, failure)
	}
	if got, want := g.run(t, "anonymous"), `["TypeError","task: the function must be named`; !strings.HasPrefix(got, want) {
		t.Errorf("anonymous = %s, want prefix %s", got, want)
	}
	// Host refusals reject the awaited task.
	g.unsupported = map[uint32]bool{10: true}
	delete(g.ops, 10)
	if rc, _, failure := g.runArgs(t, "one", 1); rc != 1 || parseFailure(t, failure).Message != "runlet: task is not supported by this host" {
		t.Errorf("unsupported: rc %d, error %s", rc, failure)
	}
}

func TestTaskJob(t *testing.T) {
	t.Parallel()
	g := newGuest(t, workflowScript)
	tests := []struct {
		name, doc, result, failure string
	}{
		{"exported", `{"args":[4],"task":"double"}`, `8`, ""},
		{"registered at top level", `{"args":[4],"task":"triple"}`, `12`, ""},
		{"registered and exported under another name", `{"args":[4],"task":"increment"}`, `5`, ""},
		{"export of a task wrapper", `{"args":[4],"task":"inc"}`, `5`, ""},
		{"null task is main", `{"args":["exports"],"task":null}`, `[true,"function","function","function","function","function","function","function"]`, ""},
		{"not exported", `{"args":[4],"task":"notExported"}`, "", `task "notExported" not found: `},
		{"missing", `{"args":[],"task":"nope"}`, "", `task "nope" not found: `},
		{"not a name", `{"args":[],"task":5}`, "", `runlet: "task" must be the name of a task function`},
		{"failing", `{"args":[1],"task":"failing"}`, "", "too big: 1"},
	}
	for _, tt := range tests {
		rc, result, failure := g.runRaw(t, []byte(tt.doc))
		if tt.failure == "" {
			if rc != 0 || result != tt.result {
				t.Errorf("%s: rc %d, result %s, error %s; want %s", tt.name, rc, result, failure, tt.result)
			}
			continue
		}
		if rc != 1 || !strings.HasPrefix(parseFailure(t, failure).Message, tt.failure) {
			t.Errorf("%s: rc %d, result %s, error %s; want error %q", tt.name, rc, result, failure, tt.failure)
		}
	}
	if len(g.calls) != 0 {
		t.Errorf("task jobs made host calls: %v", g.calls)
	}
}

func TestStepReplay(t *testing.T) {
	t.Parallel()
	g := newGuest(t, workflowScript)
	h := newWorkflowHost(t, workflowScript, g)

	const want = `[{"n":5},6,"undefined"]`
	if got := g.run(t, "steps", 5); got != want {
		t.Errorf("first run = %s, want %s", got, want)
	}
	wantCalls := []string{
		`11 {"name":"fetch"}`, `4 {"path":"u/x/effect"}`, `12 {"name":"fetch","value":{"n":5}}`,
		`11 {"name":"fetch"}`, `4 {"path":"u/x/effect"}`, `12 {"name":"fetch","value":6}`,
		`11 {"name":"nothing"}`, `4 {"path":"u/x/effect"}`, `12 {"name":"nothing","value":null}`,
	}
	if !reflect.DeepEqual(callsFrom(g, 0), wantCalls) {
		t.Errorf("calls %q\nwant  %q", callsFrom(g, 0), wantCalls)
	}
	// The replay finds every checkpoint: no step function runs (no op 4),
	// and the result is the same (undefined was checkpointed as null).
	h.replay()
	n := len(g.calls)
	if got := g.run(t, "steps", 5); got != `[{"n":5},6,null]` {
		t.Errorf("replay = %s", got)
	}
	if want := []string{`11 {"name":"fetch"}`, `11 {"name":"fetch"}`, `11 {"name":"nothing"}`}; !reflect.DeepEqual(callsFrom(g, n), want) {
		t.Errorf("replay calls %q, want %q", callsFrom(g, n), want)
	}
}

func TestSleepAndApproval(t *testing.T) {
	t.Parallel()
	g := newGuest(t, workflowScript)
	newWorkflowHost(t, workflowScript, g)

	want := `{"urls":{"approvalPage":"https://r/page?for=bob","resume":"https://r/resume","cancel":"https://r/cancel"},` +
		`"approval":{"approved":true,"payload":{"note":"ok"},"approver":"bob"},"canceled":"approval canceled by bob","bad":"TypeError",` +
		`"anyone":{"approvalPage":"https://r/page?for=","resume":"https://r/resume","cancel":"https://r/cancel"}}`
	if got := g.run(t, "approval"); got != want {
		t.Errorf("result %s\nwant   %s", got, want)
	}
	wantCalls := []string{`13 {"seconds":1.5}`, `14 {"approver":"bob"}`, `15 {"timeout":60,"approver":"bob"}`, `15 {}`, `14 {}`}
	if !reflect.DeepEqual(callsFrom(g, 0), wantCalls) {
		t.Errorf("calls %q, want %q", callsFrom(g, 0), wantCalls)
	}
}

func TestWindmillAliases(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
import { runScriptByPath, runScriptByPathAsync, runScript } from "windmill-client";
export async function main() { return [await runScriptByPath("f/a", { n: 1 }), typeof runScriptByPathAsync, typeof runScript]; }`)
	newWorkflowHost(t, `export function main() {}`, g)
	if got, want := g.run(t), `[{"ran":{"path":"f/a","args":{"n":1}}},"function","function"]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestRepeatedTaskRunsDoNotGrowMemory runs task jobs and workflow calls
// thousands of times on one instance: a reference the glue leaked per
// run (the task name, the function it found) would grow linear memory.
func TestRepeatedTaskRunsDoNotGrowMemory(t *testing.T) {
	t.Parallel()
	g := newGuest(t, workflowScript)
	g.variables = map[string]string{"u/x/effect": "done"}
	g.ops = map[uint32]func([]byte) (uint64, []byte){
		9:  func([]byte) (uint64, []byte) { return 0, []byte(`7`) },
		10: func([]byte) (uint64, []byte) { return 0, []byte(`{"id":"j"}`) },
		11: func([]byte) (uint64, []byte) { return 0, []byte(`{"found":false}`) },
		12: func([]byte) (uint64, []byte) { return 0, []byte(`{}`) },
	}
	docs := []string{
		`{"args":[4],"task":"double"}`, `{"args":[4],"task":"inc"}`, `{"args":[4],"task":"nope"}`,
		`{"args":[4],"task":7}`, `{"args":[4],"task":"failing"}`, `{"args":["parallel",1]}`, `{"args":["steps",1]}`,
	}
	round := func(n int) {
		for i := range n {
			g.runRaw(t, []byte(docs[i%len(docs)]))
		}
		g.mu.Lock()
		g.logs, g.calls = nil, nil
		g.mu.Unlock()
	}
	round(1000)
	before := g.mod.Memory().Size()
	round(10000)
	if after := g.mod.Memory().Size(); after != before {
		t.Errorf("linear memory grew from %d to %d bytes over 10000 runs", before, after)
	}
}
