package gobuild_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/runlet/runlet/host"
	"github.com/runlet/runlet/internal/gobuild"
	"github.com/runlet/runlet/pdk"
)

const workflowScript = `package inner

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/runlet/runlet/pdk"
)

type pair struct{ A, B int }

var add = pdk.Task("add", func(p pair) (int, error) {
	if p.A < 0 {
		return 0, errors.New("negative")
	}
	return p.A + p.B, nil
})

func main(n int) (map[string]any, error) {
	sum, err := add(pair{n, 1})
	if err != nil {
		return nil, err
	}
	a, err := pdk.StartTask("add", pair{1, 2})
	if err != nil {
		return nil, err
	}
	b, err := pdk.StartTask("add", pair{3, 4})
	if err != nil {
		return nil, err
	}
	ra, err := pdk.WaitJob(a)
	if err != nil {
		return nil, err
	}
	rb, err := pdk.WaitJob(b)
	if err != nil {
		return nil, err
	}
	label, err := pdk.Step("label", func() (string, error) {
		if _, err := pdk.GetVariable("u/x/effect"); err != nil {
			return "", err
		}
		return fmt.Sprint("n=", n), nil
	})
	if err != nil {
		return nil, err
	}
	if err := pdk.Sleep(0.5); err != nil {
		return nil, err
	}
	_, failed := add(pair{-1, 0})
	return map[string]any{"sum": sum, "parallel": []json.RawMessage{ra, rb}, "label": label, "failed": failed.Error()}, nil
}
`

// guestRunner runs one built module in wazero with runlet's host module:
// each run is a fresh instance, as in the engine's isolated mode.
type guestRunner struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
}

func newGuestRunner(t *testing.T, wasm []byte) *guestRunner {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if err := host.Instantiate(ctx, rt); err != nil {
		t.Fatal(err)
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return &guestRunner{rt: rt, compiled: compiled}
}

// run runs the module with the argument document args and returns its
// result or its error document.
func (r *guestRunner) run(ctx context.Context, args []byte, caller host.Caller) (result, failure []byte, err error) {
	job := &host.Job{Logs: host.NewLogs(1<<20, nil), Caller: caller}
	ctx = host.WithJob(ctx, job)
	mod, err := r.rt.InstantiateModule(ctx, r.compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		return nil, nil, err
	}
	defer mod.Close(ctx)
	res, err := mod.ExportedFunction("runlet_alloc").Call(ctx, uint64(len(args)))
	if err != nil {
		return nil, nil, err
	}
	ptr := api.DecodeU32(res[0])
	mod.Memory().Write(ptr, args)
	if _, err := mod.ExportedFunction("runlet_run").Call(ctx, uint64(ptr), uint64(len(args))); err != nil {
		return nil, nil, err
	}
	return job.Result(), job.Failure(), nil
}

// workflowCaller is the server's side of the workflow operations, in
// memory: a started task runs at once as a task job (a fresh instance of
// the same module), and tasks and steps are remembered by name and
// occurrence, so running the parent again replays it.
type workflowCaller struct {
	r *guestRunner

	mu      sync.Mutex
	calls   []string
	seen    map[string]int    // occurrences of each task and step name in this run
	jobs    map[string]string // "name#occurrence" -> job id
	results map[string]json.RawMessage
	errs    map[string]string
	steps   map[string]json.RawMessage
}

func (c *workflowCaller) replay() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls, c.seen = nil, map[string]int{}
}

func (c *workflowCaller) Call(ctx context.Context, op pdk.Op, req []byte) ([]byte, error) {
	var r struct {
		Name  string          `json:"name"`
		Args  json.RawMessage `json:"args"`
		Value json.RawMessage `json:"value"`
		ID    string          `json:"id"`
	}
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.calls = append(c.calls, fmt.Sprintf("%d %s", op, req))
	c.mu.Unlock()
	switch op {
	case pdk.OpTask:
		c.mu.Lock()
		key := fmt.Sprintf("task %s#%d", r.Name, c.seen["task "+r.Name])
		c.seen["task "+r.Name]++
		id, ok := c.jobs[key]
		if !ok {
			id = fmt.Sprintf("job-%d", len(c.jobs)+1)
			c.jobs[key] = id
		}
		c.mu.Unlock()
		if !ok {
			doc, _ := json.Marshal(map[string]any{"__runlet_task": r.Name, "input": r.Args})
			result, failure, err := c.r.run(ctx, doc, c)
			if err != nil {
				return nil, err
			}
			c.mu.Lock()
			if failure != nil {
				var f pdk.Failure
				json.Unmarshal(failure, &f)
				c.errs[id] = fmt.Sprintf("child job %s failed: Error: %s", id, f.Message)
			} else {
				c.results[id] = result
			}
			c.mu.Unlock()
		}
		return json.Marshal(map[string]string{"id": id})
	case pdk.OpWaitJob:
		c.mu.Lock()
		defer c.mu.Unlock()
		if msg, ok := c.errs[r.ID]; ok {
			return nil, errors.New(msg)
		}
		return c.results[r.ID], nil
	case pdk.OpStepGet:
		c.mu.Lock()
		defer c.mu.Unlock()
		key := fmt.Sprintf("step %s#%d", r.Name, c.seen["step "+r.Name])
		c.seen["step "+r.Name]++
		if v, ok := c.steps[key]; ok {
			return json.Marshal(map[string]any{"found": true, "value": v})
		}
		return []byte(`{"found":false,"value":null}`), nil
	case pdk.OpStepSet:
		c.mu.Lock()
		defer c.mu.Unlock()
		c.steps[fmt.Sprintf("step %s#%d", r.Name, c.seen["step "+r.Name]-1)] = r.Value
		return []byte(`{}`), nil
	case pdk.OpSleep:
		return []byte(`{}`), nil
	case pdk.OpVariableGet:
		return []byte(`"v"`), nil
	}
	return nil, host.ErrUnsupported
}

// TestGoWorkflowGuest builds a Go script using pdk.Task, pdk.StartTask and
// pdk.Step and runs it with an in-memory host: the tasks run as task jobs
// of the same module, and a second run replays the first.
func TestGoWorkflowGuest(t *testing.T) {
	t.Parallel()
	b := &gobuild.Builder{Dir: t.TempDir(), Env: []string{"GOPROXY=off", "GOSUMDB=off", "GOFLAGS=-mod=mod"}}
	out, err := b.Build(context.Background(), "wf.go", []byte(workflowScript), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &workflowCaller{r: newGuestRunner(t, out.Wasm), seen: map[string]int{}, jobs: map[string]string{},
		results: map[string]json.RawMessage{}, errs: map[string]string{}, steps: map[string]json.RawMessage{}}
	ctx := context.Background()

	const want = `{"failed":"pdk: host call 9: child job job-4 failed: Error: negative","label":"n=5","parallel":[3,7],"sum":6}`
	result, failure, err := c.r.run(ctx, []byte(`{"n":5}`), c)
	if err != nil || failure != nil || string(result) != want {
		t.Fatalf("first run: result %s, failure %s, err %v; want %s", result, failure, err, want)
	}
	wantCalls := []string{
		`10 {"name":"add","args":{"A":5,"B":1}}`, `9 {"id":"job-1"}`,
		`10 {"name":"add","args":{"A":1,"B":2}}`, `10 {"name":"add","args":{"A":3,"B":4}}`, `9 {"id":"job-2"}`, `9 {"id":"job-3"}`,
		`11 {"name":"label"}`, `4 {"path":"u/x/effect"}`, `12 {"name":"label","value":"n=5"}`,
		`13 {"seconds":0.5}`,
		`10 {"name":"add","args":{"A":-1,"B":0}}`, `9 {"id":"job-4"}`,
	}
	if !reflect.DeepEqual(c.calls, wantCalls) {
		t.Errorf("calls\n%s\nwant\n%s", strings.Join(c.calls, "\n"), strings.Join(wantCalls, "\n"))
	}

	// The replay gets the same jobs back and the step's checkpoint: no
	// task job runs again and the step's function (op 4) does not run.
	c.replay()
	result, failure, err = c.r.run(ctx, []byte(`{"n":5}`), c)
	if err != nil || failure != nil || string(result) != want {
		t.Fatalf("replay: result %s, failure %s, err %v; want %s", result, failure, err, want)
	}
	if len(c.jobs) != 4 {
		t.Errorf("the replay started new jobs: %v", c.jobs)
	}
	for _, call := range c.calls {
		if strings.HasPrefix(call, "4 ") {
			t.Errorf("the replay ran the step's function: %q", c.calls)
		}
	}

	// A task job with an unknown name fails with a clear message.
	_, failure, err = c.r.run(ctx, []byte(`{"__runlet_task":"nope","input":1}`), c)
	if err != nil || !strings.Contains(string(failure), `task \"nope\" not found`) {
		t.Errorf("unknown task: failure %s, err %v", failure, err)
	}
}
