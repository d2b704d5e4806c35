package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/server"
)

func TestVariablesResourcesAndRedaction(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	if r := s.do(t, "POST", "/api/w/main/variables/create", map[string]any{"path": "f/ops/api_key", "value": "s3cr3t-value", "is_secret": true}); r.Status != 201 {
		t.Fatalf("create variable: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/variables/create", map[string]any{"path": "f/ops/api_key", "value": "x"}); r.Status != 409 {
		t.Fatalf("duplicate variable: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/resources/create", map[string]any{"path": "f/ops/db", "resource_type": "postgresql", "value": map[string]any{"host": "db.internal", "port": 5432}}); r.Status != 201 {
		t.Fatalf("create resource: %d %s", r.Status, r.Body)
	}
	r := s.do(t, "GET", "/api/w/main/variables/list", nil)
	if r.Status != 200 || strings.Contains(r.Body, "s3cr3t") || !strings.Contains(r.Body, `"is_secret":true`) {
		t.Fatalf("list must hide secret values: %s", r.Body)
	}
	s.push(t, "f/ops/use", "typescript", `import * as wmill from "windmill-client";
export async function main(key: string, db: object) {
  const again = await wmill.getVariable("f/ops/api_key");
  const res = await wmill.getResource("f/ops/db");
  console.log("using key", key, "and", again);
  return { same: key === again, host: (db as any).host, port: res.port };
}`, nil)
	r = s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/use", map[string]any{"key": "$var:f/ops/api_key", "db": "$res:f/ops/db"})
	if r.Status != 201 {
		t.Fatalf("run: %d %s", r.Status, r.Body)
	}
	id := r.Body
	j := s.waitJob(t, id)
	res, _ := json.Marshal(j["result"])
	if j["success"] != true || string(res) != `{"host":"db.internal","port":5432,"same":true}` {
		t.Fatalf("job: %v", j)
	}
	// The stored args keep the reference, not the secret.
	if args, _ := json.Marshal(j["args"]); strings.Contains(string(args), "s3cr3t") {
		t.Fatalf("args leak the secret: %s", args)
	}
	logs := s.do(t, "GET", "/api/w/main/jobs_u/get_logs/"+id, nil).Body
	if strings.Contains(logs, "s3cr3t") || !strings.Contains(logs, "using key [redacted] and [redacted]") {
		t.Fatalf("logs must redact the secret: %q", logs)
	}
	// An unknown reference fails the job, naming it.
	r = s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/ops/use", map[string]any{"key": "$var:f/ops/nope", "db": "$res:f/ops/db"})
	if r.Status != 500 || !strings.Contains(r.Body, "f/ops/nope") {
		t.Fatalf("unknown variable: %d %s", r.Status, r.Body)
	}
}

func TestRetriesAndTimeout(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	// Fails on its first two attempts (state counts them), then succeeds.
	s.push(t, "f/ops/flaky", "typescript", `import { getState, setState } from "windmill-client";
export async function main() {
  const n = ((await getState()) ?? 0) + 1;
  await setState(n);
  if (n < 3) throw new Error("attempt " + n + " failed");
  return n;
}`, map[string]any{"retry": map[string]any{"constant": map[string]any{"attempts": 2, "seconds": 0}}})
	r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/flaky", `{}`)
	j := s.waitJob(t, r.Body)
	if j["success"] != true || j["result"] != float64(3) || j["attempt"] != float64(2) {
		t.Fatalf("retried job: %v", j)
	}
	// Out of attempts: fails with the last error.
	s.push(t, "f/ops/always", "typescript", `export function main() { throw new Error("always"); }`,
		map[string]any{"retry": map[string]any{"constant": map[string]any{"attempts": 1, "seconds": 0}}})
	j = s.waitJob(t, s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/always", `{}`).Body)
	if j["success"] != false || j["attempt"] != float64(1) || !strings.Contains(jsonString(j["result"]), "always") {
		t.Fatalf("exhausted retries: %v", j)
	}
	// Per-script timeout.
	s.push(t, "f/ops/spin", "typescript", `export function main() { for (;;) {} }`, map[string]any{"timeout": 1})
	start := time.Now()
	r = s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/ops/spin", `{}`)
	if r.Status != 500 || errorOf(t, r.Body)["name"] != "Timeout" || time.Since(start) > 20*time.Second {
		t.Fatalf("timeout: %d %s after %s", r.Status, r.Body, time.Since(start))
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestChildJobsCancelAndDepth(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{MaxDepth: 3})
	s.push(t, "f/ops/child", "typescript", `export function main(n: number) { return n * 10; }`, nil)
	s.push(t, "f/ops/parent", "typescript", `import * as wmill from "windmill-client";
export async function main() {
  const a = await wmill.runScript("f/ops/child", { n: 1 });
  const id = await wmill.runScriptAsync("f/ops/child", { n: 2 });
  const b = await wmill.waitJob(id);
  return a + b;
}`, nil)
	r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/ops/parent", `{}`)
	if r.Status != 200 || r.Body != "30" {
		t.Fatalf("parent: %d %s", r.Status, r.Body)
	}
	// More parents waiting on children than there are runners and workers
	// (2): no deadlock, because a waiting parent lends its slot.
	s.push(t, "f/ops/fan", "typescript", `import * as wmill from "windmill-client";
export async function main(i: number) { return await wmill.runScript("f/ops/child", { n: i }); }`, nil)
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/fan", map[string]any{"i": i}).Body
	}
	for i, id := range ids {
		if j := s.waitJob(t, id); j["result"] != float64(i*10) {
			t.Fatalf("fan %d: %v", i, j)
		}
	}
	// A recursive RunScript ends at the depth limit with an error.
	s.push(t, "f/ops/bomb", "typescript", `import * as wmill from "windmill-client";
export async function main() { return await wmill.runScript("f/ops/bomb", {}); }`, nil)
	r = s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/ops/bomb", `{}`)
	if r.Status != 500 || !strings.Contains(r.Body, "depth") {
		t.Fatalf("fork bomb: %d %s", r.Status, r.Body)
	}
	// Cancel cascades to a running child.
	s.push(t, "f/ops/sleeper", "typescript", `export async function main() { await new Promise((r) => setTimeout(r, 30000)); return 1; }`, nil)
	s.push(t, "f/ops/waiter", "typescript", `import * as wmill from "windmill-client";
export async function main() { return await wmill.runScript("f/ops/sleeper", {}); }`, nil)
	parent := s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/waiter", `{}`).Body
	var child string
	for deadline := time.Now().Add(30 * time.Second); child == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var list []map[string]any
		json.Unmarshal([]byte(s.do(t, "GET", "/api/w/main/jobs/list?parent_job="+parent, nil).Body), &list)
		if len(list) == 1 && list[0]["running"] == true {
			child = list[0]["id"].(string)
		}
	}
	if child == "" {
		t.Fatal("the child never started")
	}
	if r := s.do(t, "POST", "/api/w/main/jobs_u/queue/cancel/"+parent, `{}`); r.Status != 200 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	if j := s.waitJob(t, child); j["canceled"] != true {
		t.Fatalf("child after cancel: %v", j)
	}
	if j := s.waitJob(t, parent); j["canceled"] != true {
		t.Fatalf("parent after cancel: %v", j)
	}
}

func TestQueueLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{QueueLimit: 2})
	s.push(t, "f/ops/greet", "typescript", greetTS, nil)
	for range 2 {
		if r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/greet?scheduled_in_secs=3600", map[string]any{"name": "x"}); r.Status != 201 {
			t.Fatalf("queue: %d %s", r.Status, r.Body)
		}
	}
	r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/greet", map[string]any{"name": "x"})
	if r.Status != 429 || errorOf(t, r.Body)["code"] != "queue_full" {
		t.Fatalf("over the limit: %d %s", r.Status, r.Body)
	}
}

func TestGoScriptAndState(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.push(t, "u/admin/counter", "go", `package inner

import wmill "github.com/windmill-labs/windmill-go-client"

func main(step int) (int, error) {
	var n int
	if v, err := wmill.GetState(); err == nil && v != nil {
		n = int(v.(float64))
	}
	n += step
	return n, wmill.SetState(n)
}
`, nil)
	for i, want := range []string{"2", "4", "6"} {
		r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/u/admin/counter", map[string]any{"step": 2})
		if r.Status != 200 || r.Body != want {
			t.Fatalf("run %d: %d %s, want %s", i, r.Status, r.Body, want)
		}
	}
}

// TestConcurrencyLimit: a script with concurrent_limit 1 never runs two jobs
// at once (each job records its start and end; intervals must not overlap).
func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.push(t, "f/ops/single", "typescript", `export async function main() {
  const start = Date.now();
  await new Promise((r) => setTimeout(r, 150));
  return [start, Date.now()];
}`, map[string]any{"concurrent_limit": 1})
	var ids []string
	for range 3 {
		ids = append(ids, s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/single", `{}`).Body)
	}
	var spans [][2]float64
	for _, id := range ids {
		j := s.waitJob(t, id)
		r, ok := j["result"].([]any)
		if !ok || len(r) != 2 {
			t.Fatalf("job %s: %v", id, j)
		}
		spans = append(spans, [2]float64{r[0].(float64), r[1].(float64)})
	}
	for i := range spans {
		for k := range spans {
			if i != k && spans[i][0] < spans[k][1] && spans[k][0] < spans[i][1] {
				t.Fatalf("jobs %d and %d overlapped: %v", i, k, spans)
			}
		}
	}
}

// TestTriggerScriptSkipped: a trigger script that finds nothing new (an
// empty array, null or no result) ends as skipped — not failed, not
// success — whether run by hand or sync; an empty object is not empty.
func TestTriggerScriptSkipped(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.push(t, "f/poll/new_items", "typescript", `export function main(mode: string) {
  if (mode === "array") return [];
  if (mode === "null") return null;
  if (mode === "none") return undefined;
  if (mode === "object") return {};
  return [1, 2];
}`, map[string]any{"kind": "trigger"})
	for mode, want := range map[string]string{"array": "skipped", "null": "skipped", "none": "skipped", "object": "success", "items": "success"} {
		id := s.do(t, "POST", "/api/w/main/jobs/run/p/f/poll/new_items", map[string]any{"mode": mode}).Body
		j := s.waitJob(t, id)
		if j["status"] != want || j["success"] != true || j["is_skipped"] != (want == "skipped") {
			t.Fatalf("mode %s: %v, want status %s", mode, j, want)
		}
	}
	// Sync: 200 with the (empty) result.
	if r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/poll/new_items", map[string]any{"mode": "array"}); r.Status != 200 || r.Body != "[]" {
		t.Fatalf("sync skipped run: %d %s", r.Status, r.Body)
	}
	// A plain script returning [] is a success.
	s.push(t, "f/poll/plain", "typescript", `export function main() { return []; }`, nil)
	if j := s.waitJob(t, s.do(t, "POST", "/api/w/main/jobs/run/p/f/poll/plain", `{}`).Body); j["status"] != "success" {
		t.Fatalf("plain script: %v", j)
	}
}

// TestStateCompareAndSet: concurrent runs of a counter using
// compareAndSetState never lose an update (setState would).
func TestStateCompareAndSet(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.push(t, "f/state/counter", "typescript", `import { getState, compareAndSetState } from "windmill-client";
export async function main() {
  let cur = await getState();
  for (let i = 0; i < 100; i++) {
    const r = await compareAndSetState(cur, (cur ?? 0) + 1);
    if (r.swapped) return r.current;
    cur = r.current;
  }
  throw new Error("too much contention");
}`, nil)
	var ids []string
	for range 8 {
		ids = append(ids, s.do(t, "POST", "/api/w/main/jobs/run/p/f/state/counter", `{}`).Body)
	}
	seen := map[float64]bool{}
	for _, id := range ids {
		j := s.waitJob(t, id)
		n, ok := j["result"].(float64)
		if !ok || seen[n] {
			t.Fatalf("job %s: %v (results so far %v)", id, j, seen)
		}
		seen[n] = true
	}
	for i := 1; i <= 8; i++ {
		if !seen[float64(i)] {
			t.Fatalf("counter values %v: an update was lost", seen)
		}
	}
}
