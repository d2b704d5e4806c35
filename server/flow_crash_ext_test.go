package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond every 20 ms for up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *serverProc) waitDone(t *testing.T, id string) map[string]any {
	t.Helper()
	var j map[string]any
	waitFor(t, 90*time.Second, "job "+id, func() bool {
		j = p.job(t, id)
		return j["type"] == "CompletedJob"
	})
	return j
}

func (p *serverProc) kill(t *testing.T) {
	t.Helper()
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.cmd.Wait()
}

// counter is a step that counts its executions in its own state and
// returns the count (state is per flow step, so each step has its own).
const counter = `import { getState, setState } from "windmill-client";
export async function main(ms: number) {
  const n = ((await getState()) ?? 0) + 1;
  await setState(n);
  await new Promise((r) => setTimeout(r, ms));
  return n;
}`

// TestKill9MidFlow: a flow whose server is killed while its second step
// runs resumes after the restart: the first step's job is not run again,
// the interrupted step runs again, the rest runs once.
func TestKill9MidFlow(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, dir, addr)
	step := func(id string, ms int) map[string]any {
		return map[string]any{"id": id, "value": map[string]any{"type": "rawscript", "language": "typescript", "content": counter,
			"input_transforms": map[string]any{"ms": map[string]any{"type": "static", "value": ms}}}}
	}
	flow := map[string]any{"path": "f/crash/flow", "summary": "crash", "value": map[string]any{"modules": []any{
		step("a", 0), step("b", 3000), step("c", 0),
	}}}
	body, _ := json.Marshal(flow)
	if code, b, err := p.post("/api/w/main/flows/create", string(body)); err != nil || code != 201 {
		t.Fatalf("push: %d %s %v", code, b, err)
	}
	code, id, err := p.post("/api/w/main/jobs/run/f/f/crash/flow", `{}`)
	if err != nil || code != 201 {
		t.Fatalf("run: %d %s %v", code, id, err)
	}
	var aJob map[string]any
	waitFor(t, 60*time.Second, "step b to start", func() bool {
		j := p.job(t, id)
		st, _ := j["flow_status"].(map[string]any)
		if st == nil {
			return false
		}
		mods := st["modules"].([]any)
		a, b := mods[0].(map[string]any), mods[1].(map[string]any)
		if a["status"] == "success" && b["status"] == "running" && b["job"] != nil {
			aJob = p.job(t, a["job"].(string))
			return p.job(t, b["job"].(string))["running"] == true
		}
		return false
	})
	p.kill(t)

	p = startProc(t, dir, addr)
	j := p.waitDone(t, id)
	if j["success"] != true || jsonOf(j["result"]) != "1" {
		t.Fatalf("resumed flow = %s", jsonOf(j))
	}
	mods := j["flow_status"].(map[string]any)["modules"].([]any)
	res := func(i int) string { return jsonOf(mods[i].(map[string]any)["result"]) }
	// a: its job completed before the crash and was not run again.
	if res(0) != "1" {
		t.Fatalf("step a result %s, want 1 (one execution)", res(0))
	}
	a2 := p.job(t, aJob["id"].(string))
	if a2["completed_at"] != aJob["completed_at"] || a2["attempt"] != float64(0) {
		t.Fatalf("step a's job changed after the restart: before %s after %s", jsonOf(aJob), jsonOf(a2))
	}
	// b was interrupted while running: it ran again (its count is 2, or 1
	// if the kill came before its first line ran); c ran once.
	if (res(1) != "2" && res(1) != "1") || res(2) != "1" {
		t.Fatalf("steps b, c = %s, %s; want 1 or 2, then 1", res(1), res(2))
	}
	kids := p.list(t, "parent_job="+id)
	if len(kids) != 3 {
		t.Fatalf("%d child jobs, want 3: %s", len(kids), jsonOf(kids))
	}
}

func (p *serverProc) list(t *testing.T, query string) []map[string]any {
	t.Helper()
	code, body, err := p.get("/api/w/main/jobs/list?" + query)
	if err != nil || code != 200 {
		t.Fatalf("list: %d %s %v", code, body, err)
	}
	var out []map[string]any
	json.Unmarshal([]byte(body), &out)
	return out
}

// TestKill9MidWorkflow: a workflow as code killed while a task runs
// resumes: the step finished before the crash is not executed again (its
// side effect happened once), the task finished before it is not started
// again, and the workflow ends with the same values.
func TestKill9MidWorkflow(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, dir, addr)
	script := `import { getState, setState, step, task } from "windmill-client";
export async function slow(x: number) {
  await new Promise((r) => setTimeout(r, 3000));
  return x * 10;
}
export async function quick(x: number) { return x + 1 }
export async function main(n: number) {
  const first = await step("count", async () => {
    const c = ((await getState()) ?? 0) + 1;
    await setState(c);
    return c;
  });
  const q = await task(quick)(n);
  const s = await task(slow)(q);
  return { first, q, s, executions: await getState() };
}`
	body, _ := json.Marshal(map[string]any{"path": "f/crash/wf", "language": "typescript", "content": script})
	if code, b, err := p.post("/api/w/main/scripts/create", string(body)); err != nil || code != 201 {
		t.Fatalf("push: %d %s %v", code, b, err)
	}
	code, id, err := p.post("/api/w/main/jobs/run/p/f/crash/wf", `{"n":4}`)
	if err != nil || code != 201 {
		t.Fatalf("run: %d %s %v", code, id, err)
	}
	var quick map[string]any
	var kids []map[string]any
	defer func() {
		if t.Failed() {
			t.Logf("children: %s\nparent: %s\nserver: %s", jsonOf(kids), jsonOf(p.job(t, id)), p.stderr.String())
		}
	}()
	waitFor(t, 60*time.Second, "the slow task to start", func() bool {
		kids = p.list(t, "parent_job="+id)
		slow := false
		for _, k := range kids {
			if k["task"] == "quick" {
				quick = k
			}
			slow = slow || k["task"] == "slow" && k["running"] == true
		}
		return slow && quick != nil && quick["type"] == "CompletedJob"
	})
	p.kill(t)

	p = startProc(t, dir, addr)
	j := p.waitDone(t, id)
	if j["success"] != true || jsonOf(j["result"]) != `{"executions":1,"first":1,"q":5,"s":50}` {
		t.Fatalf("resumed workflow = %s", jsonOf(j))
	}
	kids = p.list(t, "parent_job="+id)
	var tasks []string
	for _, k := range kids {
		tasks = append(tasks, fmt.Sprint(k["task"]))
		if k["task"] == "quick" && (k["completed_at"] != quick["completed_at"] || k["id"] != quick["id"]) {
			t.Fatalf("the quick task ran again: before %s after %s", jsonOf(quick), jsonOf(k))
		}
	}
	if len(kids) != 2 || !strings.Contains(strings.Join(tasks, ","), "quick") || !strings.Contains(strings.Join(tasks, ","), "slow") {
		t.Fatalf("child jobs = %v, want one quick and one slow", tasks)
	}
}

func (p *serverProc) get(path string) (int, string, error) {
	req, _ := http.NewRequest("GET", p.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+p.token)
	c := &http.Client{Timeout: 30 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}
