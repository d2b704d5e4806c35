package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/server"
)

func TestWorkflowAsCodeTS(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{Runners: 3})
	s.push(t, "f/wf/pipeline", "typescript", `import { step, task, sleep } from "windmill-client";
export async function double(x: number) {
  console.log("doubling " + x);
  return x * 2;
}
export async function fail(why: string) { throw new Error(why) }
export async function main(n: number) {
  const a = await step("prepare", () => n + 1);
  const [b, c] = await Promise.all([task(double)(a), task(double)(a + 1)]);
  await sleep(0.2);
  let caught = "";
  try { await task(fail)("no luck") } catch (e) { caught = String(e.message) }
  const again = await step("prepare", () => 100);
  return { a, b, c, caught, again };
}`, nil)
	r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/wf/pipeline", map[string]any{"n": 4})
	if r.Status != 201 {
		t.Fatalf("run: %d %s", r.Status, r.Body)
	}
	id := r.Body
	j := s.waitJob(t, id)
	var res struct {
		A, B, C, Again int
		Caught         string
	}
	if j["success"] != true || json.Unmarshal([]byte(jsonOf(j["result"])), &res) != nil {
		t.Fatalf("workflow = %s", jsonOf(j))
	}
	if res.A != 5 || res.B != 10 || res.C != 12 || res.Again != 100 || !strings.Contains(res.Caught, "no luck") {
		t.Fatalf("result = %+v", res)
	}
	// Each task is a child job with its own logs.
	r = s.do(t, "GET", "/api/w/main/jobs/list?parent_job="+id, nil)
	var kids []map[string]any
	json.Unmarshal([]byte(r.Body), &kids)
	if len(kids) != 3 {
		t.Fatalf("child jobs = %s", r.Body)
	}
	doubles := 0
	for _, k := range kids {
		if k["task"] != "double" {
			continue
		}
		doubles++
		logs := s.do(t, "GET", "/api/w/main/jobs_u/get_logs/"+k["id"].(string), nil)
		if !strings.Contains(logs.Body, "doubling ") {
			t.Fatalf("task logs = %q", logs.Body)
		}
	}
	if doubles != 2 {
		t.Fatalf("%d double tasks, want 2", doubles)
	}
	// The two tasks of Promise.all were both queued before either was
	// waited for: both exist with the parent's id and distinct ids.
	if kids[0]["id"] == kids[1]["id"] {
		t.Fatal("duplicate task ids")
	}
}

func TestWorkflowApproval(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.push(t, "f/wf/approve", "typescript", `import { getResumeUrls, waitForApproval, workflow } from "windmill-client";
export const main = workflow(async (label: string) => {
  const urls = await getResumeUrls("erin");
  if (!urls.resume.includes("/jobs_u/resume/")) throw new Error("bad links " + JSON.stringify(urls));
  const r = await waitForApproval({ timeout: 60 });
  return { label, payload: r.payload };
});`, nil)
	r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/wf/approve", map[string]any{"label": "deploy"})
	id := r.Body
	// The job waits for an approval: resume it through a signed link
	// (refused with 409 until the wait has begun).
	waitFor(t, 60*time.Second, "the approval to be accepted", func() bool {
		var u server.ResumeURLs
		rr := s.do(t, "GET", "/api/w/main/jobs/resume_urls/"+id+"/3?approver=erin", nil)
		if json.Unmarshal([]byte(rr.Body), &u) != nil || u.Resume == "" {
			t.Fatalf("resume urls: %d %s", rr.Status, rr.Body)
		}
		st := s.do(t, "POST", strings.TrimPrefix(u.Resume, s.URL), `{"ok":true}`, "Authorization", "")
		return st.Status == http.StatusOK
	})
	j := s.waitJob(t, id)
	if j["success"] != true || jsonOf(j["result"]) != `{"label":"deploy","payload":{"ok":true}}` {
		t.Fatalf("approved workflow = %s", jsonOf(j))
	}
}

func TestWorkflowAsCodeGo(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{Runners: 3})
	s.push(t, "f/wf/go", "go", `package inner

import (
	"encoding/json"

	"github.com/runlet/runlet/pdk"
)

type pair struct{ A, B int }

var add = pdk.Task("add", func(p pair) (int, error) { return p.A + p.B, nil })

func main(n int) (map[string]int, error) {
	a, err := pdk.StartTask("add", pair{n, 1})
	if err != nil {
		return nil, err
	}
	b, err := add(pair{n, 2})
	if err != nil {
		return nil, err
	}
	ra, err := pdk.WaitJob(a)
	if err != nil {
		return nil, err
	}
	var sum int
	if err := json.Unmarshal(ra, &sum); err != nil {
		return nil, err
	}
	label, err := pdk.Step("label", func() (int, error) { return n * 100, nil })
	if err != nil {
		return nil, err
	}
	return map[string]int{"a": sum, "b": b, "label": label}, nil
}
`, nil)
	r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/wf/go", map[string]any{"n": 5})
	if r.Status != 200 || r.Body != `{"a":6,"b":7,"label":500}` {
		t.Fatalf("go workflow: %d %s", r.Status, r.Body)
	}
}
