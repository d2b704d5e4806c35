package server_test

// Flow and workflow-as-code benchmarks. See BENCHMARKS.md "Flows".
//
//	go test -run='^$' -bench='Flow|Workflow' -benchtime=3x ./server/

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/runlet/runlet/server"
)

// benchFibo is Windmill's benchmark step: fibo(10) in Go.
const benchFibo = `package inner

func fibo(n int) int {
	if n < 2 {
		return n
	}
	return fibo(n-1) + fibo(n-2)
}

func main(n int) (int, error) { return fibo(n), nil }
`

// bench3Steps is Restate's Flow/run3 as a workflow as code: three
// checkpointed steps (run-restate.sh measures the same shape).
const bench3Steps = `import { step } from "windmill-client";
export async function main(name: string, n: number) {
  const a = await step("step1", () => n + 1);
  const b = await step("step2", () => a * 2);
  const c = await step("step3", () => ({ result: b - 3, steps: 3 }));
  return c;
}`

func benchFlowPush(b *testing.B, s *testServer, path string, value map[string]any) {
	b.Helper()
	body, _ := json.Marshal(map[string]any{"path": path, "summary": "bench", "value": value})
	st, out, err := newBenchClient().post(s.URL+"/api/w/main/flows/create", s.Token, body)
	if err != nil || st != http.StatusCreated {
		b.Fatalf("push flow %s: %d %s %v", path, st, out, err)
	}
}

// BenchmarkFlow400: Windmill's published flow benchmark — 400 sequential
// steps of a trivial Go script (fibo(10)), isolated mode (the default) —
// run through run_wait_result/f. The baseline, measured in the same run,
// is one sync run of the same script (a one-step "flow" without the
// orchestrator). Per-step overhead = ms/step − the baseline.
func BenchmarkFlow400(b *testing.B) {
	for _, fsync := range []bool{true, false} {
		name := "fsync"
		if !fsync {
			name = "nofsync"
		}
		b.Run(name, func(b *testing.B) {
			s := startBenchServer(b, server.Config{StepFsync: &fsync, WaitLimit: 10 * time.Minute})
			benchPush(b, s, "f/bench/fibo", "go", benchFibo, false)
			ld := load{url: s.URL + "/api/w/main/jobs/run_wait_result/p/f/bench/fibo", token: s.Token,
				body: []byte(`{"n":10}`), conns: 8, check: expectBody("55")}
			ld.run(b, 32) // compile and prepare on every worker
			mods := make([]any, 400)
			for i := range mods {
				mods[i] = map[string]any{"id": "s" + strconv.Itoa(i), "value": map[string]any{"type": "script", "path": "f/bench/fibo",
					"input_transforms": map[string]any{"n": map[string]any{"type": "static", "value": 10}}}}
			}
			benchFlowPush(b, s, "f/bench/flow400", map[string]any{"modules": mods})
			b.Run("job", func(b *testing.B) {
				ld := load{url: s.URL + "/api/w/main/jobs/run_wait_result/p/f/bench/fibo", token: s.Token,
					body: []byte(`{"n":10}`), conns: 1, check: expectBody("55")}
				ld.run(b, max(b.N, 50)).report(b, "jobs/s")
			})
			b.Run("flow400", func(b *testing.B) {
				ld := load{url: s.URL + "/api/w/main/jobs/run_wait_result/f/f/bench/flow400", token: s.Token,
					body: []byte(`{}`), conns: 1, check: expectBody("55")}
				r := ld.run(b, b.N)
				b.ReportMetric(float64(r.pct(50))/1e6, "p50-ms/flow")
				b.ReportMetric(float64(r.pct(50))/1e6/400, "ms/step")
			})
		})
	}
}

// BenchmarkWorkflow3Steps: Restate's three-step workflow as a workflow as
// code (three step() checkpoints), sync, at 1 and 32 clients, with each
// checkpoint fsync'd and not. The baseline is the same script without
// step() (a plain job) in the same run.
func BenchmarkWorkflow3Steps(b *testing.B) {
	plain := `export async function main(name: string, n: number) {
  const a = n + 1;
  const b = a * 2;
  return { result: b - 3, steps: 3 };
}`
	want := expectBody(`{"result":41,"steps":3}`)
	body := []byte(`{"name":"bench","n":21}`)
	for _, fsync := range []bool{true, false} {
		name := "fsync"
		if !fsync {
			name = "nofsync"
		}
		b.Run(name, func(b *testing.B) {
			s := startBenchServer(b, server.Config{StepFsync: &fsync})
			for _, mode := range []string{"isolated", "warm"} {
				for _, sc := range []struct{ name, src string }{{"plain", plain}, {"steps3", bench3Steps}} {
					path := "f/bench/" + sc.name + "_" + mode
					benchPush(b, s, path, "typescript", sc.src, mode == "warm")
					url := s.URL + "/api/w/main/jobs/run_wait_result/p/" + path
					(load{url: url, token: s.Token, body: body, conns: 4, check: want}).run(b, 16)
					for _, conns := range []int{1, benchConns} {
						b.Run(fmt.Sprintf("%s/%s/c%d", sc.name, mode, conns), func(b *testing.B) {
							ld := load{url: url, token: s.Token, body: body, conns: conns, check: want}
							ld.run(b, b.N).report(b, "runs/s")
						})
					}
				}
			}
		})
	}
}
