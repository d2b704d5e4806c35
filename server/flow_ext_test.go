package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/server"
)

// ts is an inline TypeScript module.
func ts(id, content string, inputs map[string]any) map[string]any {
	return map[string]any{"id": id, "value": map[string]any{"type": "rawscript", "language": "bun", "content": content, "input_transforms": inputs}}
}

func static(v any) map[string]any   { return map[string]any{"type": "static", "value": v} }
func js(expr string) map[string]any { return map[string]any{"type": "javascript", "expr": expr} }

// pushFlow creates (or updates) a flow and returns the response document.
func (s *testServer) pushFlow(t *testing.T, path string, value map[string]any, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"path": path, "summary": "test flow", "value": value}
	for k, v := range extra {
		body[k] = v
	}
	r := s.do(t, "POST", "/api/w/main/flows/create", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("push flow %s: %d %s", path, r.Status, r.Body)
	}
	var out map[string]any
	json.Unmarshal([]byte(r.Body), &out)
	return out
}

// runFlow starts a flow and waits for the run; it returns the job.
func (s *testServer) runFlow(t *testing.T, path string, args any) map[string]any {
	t.Helper()
	r := s.do(t, "POST", "/api/w/main/jobs/run/f/"+path, args)
	if r.Status != http.StatusCreated {
		t.Fatalf("run flow %s: %d %s", path, r.Status, r.Body)
	}
	return s.waitJob(t, r.Body)
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// flowModules is a finished flow job's module statuses by id.
func flowModules(t *testing.T, j map[string]any) map[string]map[string]any {
	t.Helper()
	st, _ := j["flow_status"].(map[string]any)
	if st == nil {
		t.Fatalf("no flow_status in %s", jsonOf(j))
	}
	out := map[string]map[string]any{}
	mods, _ := st["modules"].([]any)
	for _, m := range mods {
		mm := m.(map[string]any)
		out[mm["id"].(string)] = mm
	}
	return out
}

func TestFlowSequenceTransformsAndStatus(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.pushFlow(t, "f/flows/seq", map[string]any{"modules": []any{
		ts("a", `export function main(n: number) { return n + 1 }`, map[string]any{"n": js("flow_input.n")}),
		ts("b", `export function main(x: number, label: string) { return { x, label } }`, map[string]any{
			"x": js("results.a * 10 + (previous_result === results.a ? 1 : 0)"), "label": static("$var:f/flows/label")}),
		map[string]any{"id": "c", "value": map[string]any{"type": "identity"}},
	}}, map[string]any{"schema": map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "number"}}, "required": []string{"n"}}})
	r := s.do(t, "POST", "/api/w/main/variables/create", map[string]any{"path": "f/flows/label", "value": "from a variable"})
	if r.Status != http.StatusCreated {
		t.Fatalf("variable: %d %s", r.Status, r.Body)
	}

	j := s.runFlow(t, "f/flows/seq", map[string]any{"n": 4})
	if j["success"] != true || jsonOf(j["result"]) != `{"label":"from a variable","x":51}` {
		t.Fatalf("flow job = %s", jsonOf(j))
	}
	if j["job_kind"] != "flow" {
		t.Fatalf("job_kind = %v, want flow", j["job_kind"])
	}
	mods := flowModules(t, j)
	for _, id := range []string{"a", "b", "c"} {
		if mods[id]["status"] != "success" {
			t.Fatalf("module %s status %v; statuses %s", id, mods[id]["status"], jsonOf(mods))
		}
	}
	// Each script step is a child job with its own result and logs.
	child := s.waitJob(t, mods["b"]["job"].(string))
	if child["parent_job"] != j["id"] || child["flow_step_id"] != "b" || jsonOf(child["result"]) != `{"label":"from a variable","x":51}` {
		t.Fatalf("step b's job = %s", jsonOf(child))
	}
	if mods["c"]["job"] != nil {
		t.Fatalf("identity ran a job: %v", mods["c"]["job"])
	}

	// The flow's inputs are checked against its schema.
	r = s.do(t, "POST", "/api/w/main/jobs/run/f/f/flows/seq", map[string]any{"n": "four"})
	if r.Status != http.StatusBadRequest || errorOf(t, r.Body)["field"] != "n" {
		t.Fatalf("bad input: %d %s", r.Status, r.Body)
	}
	// Sync run answers the result.
	r = s.do(t, "POST", "/api/w/main/jobs/run_wait_result/f/f/flows/seq", map[string]any{"n": 1})
	if r.Status != http.StatusOK || r.Body != `{"label":"from a variable","x":21}` {
		t.Fatalf("sync run: %d %s", r.Status, r.Body)
	}
	// Unknown flow.
	r = s.do(t, "POST", "/api/w/main/jobs/run/f/f/flows/nope", map[string]any{})
	if r.Status != http.StatusNotFound {
		t.Fatalf("unknown flow: %d %s", r.Status, r.Body)
	}
}

func TestFlowLoopsAndBranches(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	double := `export function main(v: number, i: number) { if (v < 0) throw new Error("negative " + v); return v * 2 + i / 10 }`
	inner := map[string]any{"v": js("flow_input.iter.value"), "i": js("flow_input.iter.index")}
	s.pushFlow(t, "f/flows/loops", map[string]any{"modules": []any{
		map[string]any{"id": "loop", "value": map[string]any{
			"type": "forloopflow", "iterator": js("flow_input.items"), "skip_failures": true,
			"modules": []any{
				map[string]any{"id": "pick", "value": map[string]any{"type": "branchone",
					"branches": []any{map[string]any{"expr": "flow_input.iter.value >= 100", "modules": []any{
						ts("big", `export function main(v: number) { return "big " + v }`, map[string]any{"v": js("flow_input.iter.value")})}}},
					"default": []any{ts("dbl", double, inner)},
				}},
			},
		}},
		map[string]any{"id": "all", "value": map[string]any{"type": "branchall", "parallel": true, "branches": []any{
			map[string]any{"modules": []any{ts("one", `export function main(l: number) { return l }`, map[string]any{"l": js("results.loop.length")})}},
			map[string]any{"modules": []any{ts("two", `export function main() { return "two" }`, nil)}},
		}}},
		map[string]any{"id": "w", "value": map[string]any{"type": "whileloopflow", "modules": []any{
			map[string]any{"id": "tick", "value": map[string]any{"type": "rawscript", "language": "typescript",
				"content": `export function main(i: number) { return i }`, "input_transforms": map[string]any{"i": js("flow_input.iter.index")}},
				"stop_after_if": map[string]any{"expr": "result >= 2"}},
		}}},
	}}, nil)
	j := s.runFlow(t, "f/flows/loops", map[string]any{"items": []any{1, 2, -3, 150}})
	if j["success"] != true {
		t.Fatalf("flow failed: %s", jsonOf(j))
	}
	want := `[2,4.1,{"error":{"job":"`
	res := jsonOf(j["result"])
	if res != `[0,1,2]` {
		t.Fatalf("flow result (the while loop's iterations) = %s, want [0,1,2]", res)
	}
	mods := flowModules(t, j)
	loop := jsonOf(mods["loop"]["result"])
	if !strings.HasPrefix(loop, want) || !strings.Contains(loop, `"message":"negative -3"`) || !strings.HasSuffix(loop, `"big 150"]`) {
		t.Fatalf("loop result = %s", loop)
	}
	if mods["loop"]["iterations"] != float64(4) || len(mods["loop"]["flow_jobs"].([]any)) != 4 {
		t.Fatalf("loop status = %s", jsonOf(mods["loop"]))
	}
	if jsonOf(mods["all"]["result"]) != `[4,"two"]` {
		t.Fatalf("branchall result = %s", jsonOf(mods["all"]["result"]))
	}
	if mods["w"]["iterations"] != float64(3) {
		t.Fatalf("while iterations = %v", mods["w"]["iterations"])
	}

	// A failing iteration without skip_failures fails the flow, naming the step.
	s.pushFlow(t, "f/flows/strict", map[string]any{"modules": []any{
		map[string]any{"id": "loop", "value": map[string]any{"type": "forloopflow", "iterator": js("flow_input.items"),
			"modules": []any{ts("dbl", double, inner)}}},
	}}, nil)
	j = s.runFlow(t, "f/flows/strict", map[string]any{"items": []any{1, -2, 3}})
	e, _ := j["result"].(map[string]any)["error"].(map[string]any)
	if j["success"] != false || !strings.Contains(jsonOf(e), "loop/1/dbl") || !strings.Contains(jsonOf(e), "negative -2") {
		t.Fatalf("strict loop = %s", jsonOf(j))
	}
	if n := len(flowModules(t, j)["loop"]["flow_jobs"].([]any)); n != 2 {
		t.Fatalf("sequential loop ran %d iterations after a failure, want 2", n)
	}
	// An iterator that is not an array.
	j = s.runFlow(t, "f/flows/strict", map[string]any{"items": "nope"})
	if !strings.Contains(jsonOf(j["result"]), "iterator: want an array, got a string") {
		t.Fatalf("bad iterator = %s", jsonOf(j["result"]))
	}
}

func TestFlowParallelismBound(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{Runners: 4})
	s.pushFlow(t, "f/flows/par", map[string]any{"modules": []any{
		map[string]any{"id": "loop", "value": map[string]any{"type": "forloopflow", "iterator": js("flow_input.items"),
			"parallel": true, "parallelism": 2,
			"modules": []any{ts("nap", `export async function main(v: number) { await new Promise((r) => setTimeout(r, 150)); return v }`,
				map[string]any{"v": js("flow_input.iter.value")})}}},
	}}, nil)
	j := s.runFlow(t, "f/flows/par", map[string]any{"items": []any{1, 2, 3, 4, 5, 6}})
	if jsonOf(j["result"]) != `[1,2,3,4,5,6]` {
		t.Fatalf("result = %s", jsonOf(j))
	}
	// From the children's recorded start and end times: never more than 2
	// iterations at once, and at some point 2.
	type span struct{ start, end time.Time }
	var spans []span
	for _, id := range flowModules(t, j)["loop"]["flow_jobs"].([]any) {
		c := s.waitJob(t, id.(string))
		st, _ := time.Parse(time.RFC3339Nano, c["started_at"].(string))
		en, _ := time.Parse(time.RFC3339Nano, c["completed_at"].(string))
		spans = append(spans, span{st, en})
	}
	if len(spans) != 6 {
		t.Fatalf("%d child jobs, want 6", len(spans))
	}
	type ev struct {
		at time.Time
		d  int
	}
	var evs []ev
	for _, sp := range spans {
		evs = append(evs, ev{sp.start, 1}, ev{sp.end, -1})
	}
	sort.Slice(evs, func(a, b int) bool {
		if evs[a].at.Equal(evs[b].at) {
			return evs[a].d < evs[b].d
		}
		return evs[a].at.Before(evs[b].at)
	})
	cur, peak := 0, 0
	for _, e := range evs {
		cur += e.d
		peak = max(peak, cur)
	}
	if peak != 2 {
		t.Fatalf("peak concurrency %d, want 2 (parallelism)", peak)
	}
}

func TestFlowFailureRetryContinueOnError(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	flaky := `export async function main() {
  const n = ((await getState()) ?? 0) + 1;
  await setState(n);
  if (n < 3) throw new Error("attempt " + n);
  return "ok after " + n;
}`
	s.pushFlow(t, "f/flows/retry", map[string]any{"modules": []any{
		map[string]any{"id": "flaky", "value": map[string]any{"type": "rawscript", "language": "typescript", "content": "import { getState, setState } from \"windmill-client\";\n" + flaky},
			"retry": map[string]any{"constant": map[string]any{"attempts": 2, "seconds": 0}}},
		map[string]any{"id": "oops", "value": map[string]any{"type": "rawscript", "language": "typescript", "content": `export function main() { throw new TypeError("bad thing") }`},
			"continue_on_error": true},
		ts("after", `export function main(prev: string, f: string) { return { prev, f } }`, map[string]any{"prev": js("previous_result.error.message"), "f": js("results.flaky")}),
		ts("boom", `export function main() { throw new Error("boom") }`, nil),
		ts("never", `export function main() { return "unreachable" }`, nil),
	}, "failure_module": map[string]any{"id": "failure", "value": map[string]any{"type": "rawscript", "language": "typescript",
		"content":          `export function main(msg: string, step: string) { return "handled: " + step + ": " + msg }`,
		"input_transforms": map[string]any{"msg": js("error.message"), "step": js("previous_result.step_id")}}}}, nil)
	j := s.runFlow(t, "f/flows/retry", map[string]any{})
	// The run fails with the step's error; the failure module's result is
	// in the status.
	if j["success"] != false || !strings.Contains(jsonOf(j["result"]), "step boom: ScriptError: boom") {
		t.Fatalf("flow = %s", jsonOf(j))
	}
	mods := flowModules(t, j)
	if jsonOf(mods["after"]["result"]) != `{"f":"ok after 3","prev":"bad thing"}` {
		t.Fatalf("after = %s", jsonOf(mods["after"]))
	}
	if mods["oops"]["status"] != "failure" || mods["boom"]["status"] != "failure" || mods["never"]["status"] != "waiting" {
		t.Fatalf("statuses = %s", jsonOf(mods))
	}
	flaky1 := s.waitJob(t, mods["flaky"]["job"].(string))
	if flaky1["attempt"] != float64(2) {
		t.Fatalf("flaky's attempts = %v, want 2 retries", flaky1["attempt"])
	}
	st := j["flow_status"].(map[string]any)["failure_module"].(map[string]any)
	if st["status"] != "success" || st["result"] != "handled: boom: boom" {
		t.Fatalf("failure module status = %s", jsonOf(st))
	}
}

func TestFlowSkipStopAndTriggerHead(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	trigger := `import { getState, setState } from "windmill-client";
export async function main(items: number[]) {
  const seen: number = (await getState()) ?? 0;
  await setState(items.length);
  return items.slice(seen);
}`
	s.pushFlow(t, "f/flows/trig", map[string]any{"modules": []any{
		map[string]any{"id": "t", "value": map[string]any{"type": "rawscript", "language": "typescript", "content": trigger, "is_trigger": true,
			"input_transforms": map[string]any{"items": js("flow_input.items")}}},
		map[string]any{"id": "each", "value": map[string]any{"type": "forloopflow", "iterator": js("results.t"), "skip_failures": true,
			"modules": []any{ts("h", `export function main(v: number) { return v * v }`, map[string]any{"v": js("flow_input.iter.value")})}}},
	}}, nil)
	j := s.runFlow(t, "f/flows/trig", map[string]any{"items": []any{1, 2}})
	if j["success"] != true || jsonOf(j["result"]) != `[1,4]` {
		t.Fatalf("first run = %s", jsonOf(j))
	}
	j = s.runFlow(t, "f/flows/trig", map[string]any{"items": []any{1, 2}})
	if j["is_skipped"] != true || j["success"] != true || flowModules(t, j)["each"]["status"] != "waiting" {
		t.Fatalf("run with nothing new = %s", jsonOf(j))
	}
	j = s.runFlow(t, "f/flows/trig", map[string]any{"items": []any{1, 2, 3}})
	if jsonOf(j["result"]) != `[9]` {
		t.Fatalf("run with one new item = %s", jsonOf(j))
	}

	s.pushFlow(t, "f/flows/stop", map[string]any{"modules": []any{
		map[string]any{"id": "a", "value": map[string]any{"type": "rawscript", "language": "typescript", "content": `export function main(n: number) { return n }`,
			"input_transforms": map[string]any{"n": js("flow_input.n")}},
			"stop_after_if": map[string]any{"expr": "result > 10", "skip_if_stopped": false}},
		map[string]any{"id": "b", "value": map[string]any{"type": "rawscript", "language": "typescript", "content": `export function main() { return "b ran" }`},
			"skip_if": map[string]any{"expr": "flow_input.n == 5"}},
		map[string]any{"id": "c", "value": map[string]any{"type": "identity"},
			"stop_after_if": map[string]any{"expr": "flow_input.n == 6", "skip_if_stopped": true}},
		ts("d", `export function main() { return "d ran" }`, nil),
	}}, nil)
	for _, c := range []struct {
		n       int
		result  string
		skipped bool
		status  map[string]string
	}{
		{20, `20`, false, map[string]string{"a": "success", "b": "waiting"}},
		{5, `"d ran"`, false, map[string]string{"b": "skipped", "d": "success"}},
		{6, `"b ran"`, true, map[string]string{"c": "success", "d": "waiting"}},
	} {
		j := s.runFlow(t, "f/flows/stop", map[string]any{"n": c.n})
		mods := flowModules(t, j)
		if jsonOf(j["result"]) != c.result || j["is_skipped"] != c.skipped {
			t.Fatalf("n=%d: result %s skipped %v; job %s", c.n, jsonOf(j["result"]), j["is_skipped"], jsonOf(j))
		}
		for id, st := range c.status {
			if mods[id]["status"] != st {
				t.Fatalf("n=%d: module %s %v, want %s", c.n, id, mods[id]["status"], st)
			}
		}
	}
}

func TestFlowEarlyReturnSleepAndMock(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.pushFlow(t, "f/flows/early", map[string]any{"early_return": "a", "modules": []any{
		ts("a", `export function main() { return { accepted: true } }`, nil),
		map[string]any{"id": "b", "value": map[string]any{"type": "rawscript", "language": "typescript",
			"content": `export async function main() { await new Promise((r) => setTimeout(r, 1500)); return "late" }`}},
		map[string]any{"id": "m", "value": map[string]any{"type": "rawscript", "language": "typescript", "content": `export function main() { throw new Error("mocked away") }`},
			"mock": map[string]any{"enabled": true, "return_value": map[string]any{"mocked": 1}}},
	}}, nil)
	r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/f/f/flows/early", map[string]any{})
	if r.Status != http.StatusOK || r.Body != `{"accepted":true}` {
		t.Fatalf("early return: %d %s", r.Status, r.Body)
	}
	// The run goes on and ends with the last step's (mocked) result.
	jobs := s.do(t, "GET", "/api/w/main/jobs/list?script_path_exact=f/flows/early", nil)
	var list []map[string]any
	json.Unmarshal([]byte(jobs.Body), &list)
	if len(list) != 1 {
		t.Fatalf("jobs = %s", jobs.Body)
	}
	j := s.waitJob(t, list[0]["id"].(string))
	if jsonOf(j["result"]) != `{"mocked":1}` {
		t.Fatalf("final result = %s", jsonOf(j))
	}

	s.pushFlow(t, "f/flows/sleepy", map[string]any{"modules": []any{
		map[string]any{"id": "a", "value": map[string]any{"type": "identity"}, "sleep": static(1)},
		ts("b", `export function main() { return Date.now() }`, nil),
	}}, nil)
	start := time.Now()
	j = s.runFlow(t, "f/flows/sleepy", map[string]any{})
	ended := time.UnixMilli(int64(j["result"].(float64)))
	if ended.Sub(start) < time.Second {
		t.Fatalf("step b ran %s after the start; the 1 s sleep was skipped", ended.Sub(start))
	}
}

func TestFlowApprovals(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.pushFlow(t, "f/flows/approve", map[string]any{"modules": []any{
		map[string]any{"id": "ask", "value": map[string]any{"type": "identity"},
			"suspend": map[string]any{"required_events": 2, "timeout": 60}},
		ts("after", `export function main(r: any) { return r }`, map[string]any{"r": js("resume")}),
	}}, nil)
	run := func() string {
		r := s.do(t, "POST", "/api/w/main/jobs/run/f/f/flows/approve", map[string]any{})
		if r.Status != 201 {
			t.Fatalf("run: %d %s", r.Status, r.Body)
		}
		// Wait until it is suspended.
		for range 500 {
			st := s.do(t, "GET", "/api/w/main/jobs_u/flow_status/"+r.Body, nil)
			if strings.Contains(st.Body, `"status":"suspended"`) {
				return r.Body
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("the flow never suspended")
		return ""
	}
	urls := func(id, approver string) server.ResumeURLs {
		r := s.do(t, "GET", "/api/w/main/jobs/resume_urls/"+id+"/7?approver="+approver, nil)
		var u server.ResumeURLs
		if r.Status != 200 || json.Unmarshal([]byte(r.Body), &u) != nil || !strings.HasPrefix(u.Resume, s.URL+"/api/w/main/jobs_u/resume/"+id+"/7/") {
			t.Fatalf("resume urls: %d %s", r.Status, r.Body)
		}
		return u
	}
	get := func(u string) response {
		return s.do(t, "GET", strings.TrimPrefix(u, s.URL), nil, "Authorization", "")
	}
	id := run()
	alice, bob := urls(id, "alice"), urls(id, "bob")
	// Forged: another approver's signature, or a changed expiry.
	forged := strings.Replace(alice.Resume, "approver=alice", "approver=mallory", 1)
	if r := get(forged); r.Status != http.StatusUnauthorized {
		t.Fatalf("forged approver: %d %s", r.Status, r.Body)
	}
	if r := get(strings.Replace(alice.Resume, "exp=", "exp=9", 1)); r.Status != http.StatusUnauthorized {
		t.Fatalf("stretched expiry: %d %s", r.Status, r.Body)
	}
	if r := get(alice.Resume + "&payload=eyJvayI6MX0"); r.Status != 200 { // {"ok":1}
		t.Fatalf("alice approves: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "GET", "/api/w/main/jobs_u/get/"+id, nil); !strings.Contains(r.Body, `"running":true`) {
		t.Fatalf("one approval of two ended the wait: %s", r.Body)
	}
	if r := get(bob.ApprovalPage); r.Status != 200 || !strings.Contains(r.Body, "Approve") {
		t.Fatalf("approval page: %d %s", r.Status, r.Body)
	}
	r := s.do(t, "POST", strings.TrimPrefix(bob.Resume, s.URL), `{"by":"bob"}`, "Authorization", "")
	if r.Status != 200 {
		t.Fatalf("bob approves: %d %s", r.Status, r.Body)
	}
	j := s.waitJob(t, id)
	if j["success"] != true || jsonOf(j["result"]) != `{"by":"bob"}` {
		t.Fatalf("approved flow = %s", jsonOf(j))
	}
	if ap := jsonOf(flowModules(t, j)["ask"]["approvers"]); ap != `["alice","bob"]` {
		t.Fatalf("approvers = %s", ap)
	}
	// The URL of a finished run is refused.
	if r := get(alice.Resume); r.Status != http.StatusConflict {
		t.Fatalf("resume after the end: %d %s", r.Status, r.Body)
	}

	// Cancel.
	id = run()
	if r := get(urls(id, "carol").Cancel); r.Status != 200 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	j = s.waitJob(t, id)
	if j["success"] != false || !strings.Contains(jsonOf(j["result"]), "canceled by carol") {
		t.Fatalf("canceled flow = %s", jsonOf(j))
	}

	// Expired: the wait times out, the link expires with it.
	s.pushFlow(t, "f/flows/short", map[string]any{"modules": []any{
		map[string]any{"id": "ask", "value": map[string]any{"type": "identity"}, "suspend": map[string]any{"timeout": 1}},
	}}, nil)
	r = s.do(t, "POST", "/api/w/main/jobs/run/f/f/flows/short", map[string]any{})
	id = r.Body
	var u server.ResumeURLs
	// Links asked for while the step waits expire with the wait.
	for range 500 {
		if st := s.do(t, "GET", "/api/w/main/jobs_u/flow_status/"+id, nil); strings.Contains(st.Body, `"suspended"`) {
			r = s.do(t, "GET", "/api/w/main/jobs/resume_urls/"+id+"/1?approver=dave", nil)
			json.Unmarshal([]byte(r.Body), &u)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	j = s.waitJob(t, id)
	if j["success"] != false || !strings.Contains(jsonOf(j["result"]), "ApprovalTimeout") {
		t.Fatalf("timed-out flow = %s", jsonOf(j))
	}
	time.Sleep(1100 * time.Millisecond) // the link's expiry has second precision
	if r := get(u.Resume); r.Status != http.StatusGone {
		t.Fatalf("expired link: %d %s", r.Status, r.Body)
	}
}

func TestFlowInvalidDefinitions(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	for _, c := range []struct {
		name  string
		value map[string]any
		field string
		msg   string
	}{
		{"unknown type", map[string]any{"modules": []any{map[string]any{"id": "a", "value": map[string]any{"type": "teleport"}}}}, "module a: value.type", `unknown module type "teleport"`},
		{"bad expression", map[string]any{"modules": []any{ts("a", `export function main(x: number) { return x }`, map[string]any{"x": js("results.(")})}}, "module a: value.input_transforms.x.expr", ""},
		{"no iterator", map[string]any{"modules": []any{map[string]any{"id": "l", "value": map[string]any{"type": "forloopflow", "modules": []any{}}}}}, "module l: value.iterator", "required"},
		{"duplicate id", map[string]any{"modules": []any{map[string]any{"id": "a", "value": map[string]any{"type": "identity"}}, map[string]any{"id": "a", "value": map[string]any{"type": "identity"}}}}, "module a: id", "a"},
		{"bad language", map[string]any{"modules": []any{map[string]any{"id": "a", "value": map[string]any{"type": "rawscript", "language": "cobol", "content": "x"}}}}, "module a: value.language", "cobol"},
		{"does not build", map[string]any{"modules": []any{ts("a", `export function main( { return 1 }`, nil)}}, "module a: value.content", `module "a"`},
	} {
		r := s.do(t, "POST", "/api/w/main/flows/create", map[string]any{"path": "f/flows/bad", "summary": "x", "value": c.value})
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
		}
		e := errorOf(t, r.Body)
		if e["field"] != c.field || !strings.Contains(e["message"].(string), c.msg) {
			t.Fatalf("%s: error %s, want field %q and %q in the message", c.name, jsonOf(e), c.field, c.msg)
		}
	}
	// Unknown optional fields are accepted and reported.
	out := s.pushFlow(t, "f/flows/extra", map[string]any{"modules": []any{
		map[string]any{"id": "a", "value": map[string]any{"type": "identity", "colour": "blue"}, "frobnicate": true}}}, nil)
	if w := jsonOf(out["warnings"]); !strings.Contains(w, "colour") || !strings.Contains(w, "frobnicate") {
		t.Fatalf("warnings = %s", w)
	}
	// Versions: an update makes version 2; the same document again is a no-op.
	if out["version"] != float64(1) {
		t.Fatalf("first version = %v", out["version"])
	}
	out = s.pushFlow(t, "f/flows/extra", map[string]any{"modules": []any{map[string]any{"id": "b", "value": map[string]any{"type": "identity"}}}}, nil)
	again := s.pushFlow(t, "f/flows/extra", map[string]any{"modules": []any{map[string]any{"id": "b", "value": map[string]any{"type": "identity"}}}}, nil)
	if out["version"] != float64(2) || again["version"] != float64(2) {
		t.Fatalf("versions %v, %v; want 2, 2", out["version"], again["version"])
	}
	r := s.do(t, "GET", "/api/w/main/flows/history/p/f/flows/extra", nil)
	var hist []map[string]any
	json.Unmarshal([]byte(r.Body), &hist)
	if len(hist) != 2 || hist[0]["version"] != float64(2) {
		t.Fatalf("history = %s", r.Body)
	}
	if r := s.do(t, "GET", "/api/w/main/flows/get/v/1/p/f/flows/extra", nil); !strings.Contains(r.Body, `"id":"a"`) {
		t.Fatalf("version 1 = %s", r.Body)
	}
}

func TestFlowSubflowNestingCacheLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{FlowMaxIterations: 3, ExprTimeout: 300 * time.Millisecond})
	// A sub-flow, run by a for loop nested in a for loop.
	s.pushFlow(t, "f/flows/sub", map[string]any{"modules": []any{
		ts("m", `export function main(a: number, b: number) { return a * 10 + b }`, map[string]any{"a": js("flow_input.a"), "b": js("flow_input.b")}),
	}}, nil)
	s.pushFlow(t, "f/flows/outer", map[string]any{"modules": []any{
		map[string]any{"id": "rows", "value": map[string]any{"type": "forloopflow", "iterator": static([]any{1, 2}), "modules": []any{
			map[string]any{"id": "cols", "value": map[string]any{"type": "forloopflow", "iterator": js("[3, 4]"), "parallel": true, "modules": []any{
				map[string]any{"id": "call", "value": map[string]any{"type": "flow", "path": "f/flows/sub",
					"input_transforms": map[string]any{"a": js("flow_input.iter.value"), "b": js("flow_input.iter.index")}}},
			}}},
		}}},
	}}, nil)
	j := s.runFlow(t, "f/flows/outer", map[string]any{})
	// The inner loop's iter shadows the outer's: a = 3 or 4, b = 0 or 1.
	if j["success"] != true || jsonOf(j["result"]) != `[[30,41],[30,41]]` {
		t.Fatalf("nested loops of sub-flows = %s", jsonOf(j))
	}
	var sub map[string]any
	for _, id := range flowModules(t, j)["rows"]["flow_jobs"].([]any) {
		if c := s.waitJob(t, id.(string)); c["job_kind"] == "flow" {
			sub = c
		}
	}
	if sub == nil || sub["script_path"] != "f/flows/sub" || sub["parent_job"] != j["id"] {
		t.Fatalf("no sub-flow run among the children: %s", jsonOf(flowModules(t, j)["rows"]))
	}

	// cache_ttl: the same module with the same arguments reuses the result.
	s.pushFlow(t, "f/flows/cached", map[string]any{"modules": []any{
		map[string]any{"id": "c", "cache_ttl": 600, "value": map[string]any{"type": "rawscript", "language": "typescript",
			"content": `export function main(k: string) { return k + " at " + Date.now() + Math.random() }`, "input_transforms": map[string]any{"k": js("flow_input.k")}}},
	}}, nil)
	first := jsonOf(s.runFlow(t, "f/flows/cached", map[string]any{"k": "x"})["result"])
	again := s.runFlow(t, "f/flows/cached", map[string]any{"k": "x"})
	other := jsonOf(s.runFlow(t, "f/flows/cached", map[string]any{"k": "y"})["result"])
	if jsonOf(again["result"]) != first || other == first || !strings.HasPrefix(other, `"y at `) {
		t.Fatalf("cache: %s, %s, %s", first, jsonOf(again["result"]), other)
	}
	if flowModules(t, again)["c"]["job"] != nil {
		t.Fatalf("a cached step ran a job: %s", jsonOf(flowModules(t, again)["c"]))
	}

	// timeout, the while loop's cap, a runaway expression, stop_after_all_iters_if.
	s.pushFlow(t, "f/flows/limits", map[string]any{"modules": []any{
		map[string]any{"id": "slow", "timeout": 1, "continue_on_error": true, "value": map[string]any{"type": "rawscript", "language": "typescript",
			"content": `export async function main() { await new Promise((r) => setTimeout(r, 5000)); return "late" }`}},
		map[string]any{"id": "w", "continue_on_error": true, "value": map[string]any{"type": "whileloopflow", "modules": []any{
			map[string]any{"id": "i", "value": map[string]any{"type": "identity"}}}}},
		map[string]any{"id": "spin", "continue_on_error": true, "value": map[string]any{"type": "identity"},
			"skip_if": map[string]any{"expr": "(() => { for (;;) {} })()"}},
		map[string]any{"id": "l", "value": map[string]any{"type": "forloopflow", "iterator": static([]any{1, 2}), "modules": []any{
			map[string]any{"id": "n", "value": map[string]any{"type": "identity"}}}},
			"stop_after_all_iters_if": map[string]any{"expr": "result.length == 2", "skip_if_stopped": true}},
		ts("never", `export function main() { return "ran" }`, nil),
	}}, nil)
	j = s.runFlow(t, "f/flows/limits", map[string]any{})
	mods := flowModules(t, j)
	if !strings.Contains(jsonOf(mods["slow"]), "exceeded its 1s limit") {
		t.Fatalf("timeout step = %s", jsonOf(mods["slow"]))
	}
	if !strings.Contains(jsonOf(mods["w"]), "ran 3 iterations without stopping") {
		t.Fatalf("while cap = %s", jsonOf(mods["w"]))
	}
	// A skip_if that never ends fails the run (continue_on_error covers
	// the step, not its conditions), after expr_timeout.
	if j["success"] != false || !strings.Contains(jsonOf(j["result"]), "expression timed out") {
		t.Fatalf("runaway expression = %s", jsonOf(j))
	}
	s.pushFlow(t, "f/flows/allit", map[string]any{"modules": []any{
		map[string]any{"id": "l", "value": map[string]any{"type": "forloopflow", "iterator": static([]any{1, 2}), "modules": []any{
			map[string]any{"id": "n", "value": map[string]any{"type": "identity"}}}},
			"stop_after_all_iters_if": map[string]any{"expr": "result.length == 2", "skip_if_stopped": true}},
		ts("never", `export function main() { return "ran" }`, nil),
	}}, nil)
	j = s.runFlow(t, "f/flows/allit", map[string]any{})
	if j["is_skipped"] != true || flowModules(t, j)["never"]["status"] != "waiting" {
		t.Fatalf("stop_after_all_iters_if = %s", jsonOf(j))
	}
}

func TestFlowStatusStream(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.pushFlow(t, "f/flows/stream", map[string]any{"modules": []any{
		ts("a", `export async function main() { await new Promise((r) => setTimeout(r, 300)); return 1 }`, nil),
		ts("b", `export async function main() { await new Promise((r) => setTimeout(r, 300)); return 2 }`, nil),
	}}, nil)
	r := s.do(t, "POST", "/api/w/main/jobs/run/f/f/flows/stream", map[string]any{})
	req, _ := http.NewRequest("GET", s.URL+"/api/w/main/jobs_u/flow_status/"+r.Body+"?follow=true", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	res, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	b, _ := io.ReadAll(res.Body) // the stream ends with the run
	text := string(b)
	if !strings.Contains(text, "event: done") || !strings.Contains(text, `"result":2`) {
		t.Fatalf("stream = %s", text)
	}
	// It showed b running at some point before the end.
	if !strings.Contains(text, `{"id":"b","type":"rawscript","status":"running"`) || strings.Count(text, "event: status") < 2 {
		t.Fatalf("the stream missed the progress: %q", text)
	}
	// A script's job is not a flow run.
	s.push(t, "f/flows/plain", "typescript", `export function main() { return 1 }`, nil)
	pj := s.do(t, "POST", "/api/w/main/jobs/run/p/f/flows/plain", map[string]any{}).Body
	if r := s.do(t, "GET", "/api/w/main/jobs_u/flow_status/"+pj, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("status of a script's job: %d %s", r.Status, r.Body)
	}
}
