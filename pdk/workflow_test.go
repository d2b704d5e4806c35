//go:build !wasip1

package pdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The tests of this file change package state (the task registry and
// fakeHost), so none of them is parallel: parallel tests start only once
// they are done.

// workflowHost is an in-memory host for the workflow operations.
type workflowHost struct {
	calls       []string          // "op request" in order
	steps       map[string][]byte // checkpoints by "name#occurrence"
	seen        map[string]int    // step occurrences of this run
	results     map[string][]byte // child job id -> result
	failed      map[string]string // child job id -> error message
	nextID      int
	approval    []byte
	approvalErr string
}

func newWorkflowHost(t *testing.T) *workflowHost {
	t.Helper()
	h := &workflowHost{steps: map[string][]byte{}, seen: map[string]int{}, results: map[string][]byte{}, failed: map[string]string{}}
	fakeHost = h.call
	t.Cleanup(func() { fakeHost = nil })
	return h
}

// replay starts a new run of the job: step occurrences count from zero.
func (h *workflowHost) replay() { h.seen = map[string]int{}; h.calls = nil }

func (h *workflowHost) call(op Op, req []byte) ([]byte, error) {
	h.calls = append(h.calls, fmt.Sprintf("%d %s", op, req))
	var r struct {
		Name  string          `json:"name"`
		Args  json.RawMessage `json:"args"`
		Value json.RawMessage `json:"value"`
		ID    string          `json:"id"`
	}
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, err
	}
	fail := func(msg string) ([]byte, error) { return nil, &HostError{Op: op, Message: msg} }
	switch op {
	case OpTask:
		h.nextID++
		id := fmt.Sprintf("job-%d", h.nextID)
		// the "child job": run the task as its job would
		out, f := invoke([]byte(fmt.Sprintf(`{"__runlet_task":%q,"input":%s}`, r.Name, r.Args)))
		if f != nil {
			h.failed[id] = fmt.Sprintf("child job %s failed: Error: %s", id, f.Message)
		} else {
			h.results[id] = out
		}
		return json.Marshal(map[string]string{"id": id})
	case OpWaitJob:
		if msg, ok := h.failed[r.ID]; ok {
			return fail(msg)
		}
		return h.results[r.ID], nil
	case OpStepGet:
		key := fmt.Sprintf("%s#%d", r.Name, h.seen[r.Name])
		h.seen[r.Name]++
		if v, ok := h.steps[key]; ok {
			return json.Marshal(map[string]any{"found": true, "value": json.RawMessage(v)})
		}
		return []byte(`{"found":false,"value":null}`), nil
	case OpStepSet:
		h.steps[fmt.Sprintf("%s#%d", r.Name, h.seen[r.Name]-1)] = r.Value
		return []byte(`{}`), nil
	case OpSleep:
		return []byte(`{}`), nil
	case OpResumeURLs:
		return []byte(`{"approvalPage":"https://r/a","resume":"https://r/r","cancel":"https://r/c"}`), nil
	case OpWaitApproval:
		if h.approvalErr != "" {
			return fail(h.approvalErr)
		}
		return h.approval, nil
	}
	return nil, &HostError{Op: op, Message: "not supported by this host", Unsupported: true}
}

// task registers a task for the test and removes it afterwards.
func task[In, Out any](t *testing.T, name string, fn func(In) (Out, error)) func(In) (Out, error) {
	t.Helper()
	t.Cleanup(func() { delete(tasks, name) })
	return Task(name, fn)
}

func TestTaskJobDispatch(t *testing.T) {
	type pair struct{ A, B int }
	task(t, "add", func(p pair) (int, error) { return p.A + p.B, nil })
	task(t, "fail", func(string) (any, error) { return nil, errors.New("no luck") })
	task(t, "boom", func(struct{}) (int, error) { panic("kaboom") })
	Register(func(args []byte) (any, error) { return "main:" + string(args), nil })
	t.Cleanup(func() { Register(nil) })

	tests := []struct {
		name, args, out, failure string
		panic                    bool
	}{
		{name: "task", args: `{"__runlet_task":"add","input":{"A":40,"B":2}}`, out: `42`},
		{name: "no input", args: `{"__runlet_task":"add"}`, out: `0`},
		{name: "main", args: `{"x":1}`, out: `"main:{\"x\":1}"`},
		{name: "main mentioning the key", args: `{"x":"__runlet_task"}`, out: `"main:{\"x\":\"__runlet_task\"}"`},
		{name: "unknown", args: `{"__runlet_task":"nope","input":1}`, failure: `task "nope" not found: `},
		{name: "bad input", args: `{"__runlet_task":"add","input":"x"}`, failure: "task add: decode input: "},
		{name: "error", args: `{"__runlet_task":"fail","input":"x"}`, failure: "no luck"},
		{name: "panic", args: `{"__runlet_task":"boom","input":{}}`, failure: "kaboom", panic: true},
	}
	for _, tt := range tests {
		out, f := invoke([]byte(tt.args))
		switch {
		case tt.failure == "" && (f != nil || string(out) != tt.out):
			t.Errorf("%s: out %s, failure %+v; want %s", tt.name, out, f, tt.out)
		case tt.failure != "" && (f == nil || !strings.HasPrefix(f.Message, tt.failure) || f.Panic != tt.panic):
			t.Errorf("%s: out %s, failure %+v; want failure %q (panic %v)", tt.name, out, f, tt.failure, tt.panic)
		}
	}
}

func TestTaskRegisteredTwice(t *testing.T) {
	defer func(r bool) { running = r }(running)
	running = false
	task(t, "twice", func(int) (int, error) { return 0, nil })
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), `task "twice" is registered twice`) {
				t.Errorf("second package-level registration: recovered %v", r)
			}
		}()
		Task("twice", func(int) (int, error) { return 1, nil })
	}()
	// Called again from main (a reused instance): the newer one wins.
	running = true
	Task("twice", func(int) (int, error) { return 2, nil })
	if out, f := invoke([]byte(`{"__runlet_task":"twice"}`)); f != nil || string(out) != "2" {
		t.Errorf("out %s, failure %+v", out, f)
	}
}

func TestTaskStartsAndWaits(t *testing.T) {
	h := newWorkflowHost(t)
	double := task(t, "double", func(x int) (int, error) { return 2 * x, nil })
	fail := task(t, "failing", func(x int) (int, error) { return 0, fmt.Errorf("odd %d", x) })

	if got, err := double(21); err != nil || got != 42 {
		t.Fatalf("double(21) = %d, %v", got, err)
	}
	want := []string{`10 {"name":"double","args":21}`, `9 {"id":"job-1"}`}
	if !reflect.DeepEqual(h.calls, want) {
		t.Errorf("calls %q, want %q", h.calls, want)
	}
	// A failed task is the host's error, which names the child job.
	if _, err := fail(3); err == nil || !strings.Contains(err.Error(), "child job job-2 failed: Error: odd 3") {
		t.Errorf("failing task: err = %v", err)
	}
	// Parallel: start both, then wait.
	h.calls = nil
	a, err1 := StartTask("double", 1)
	b, err2 := StartTask("double", 2)
	ra, err3 := WaitJob(a)
	rb, err4 := WaitJob(b)
	if err := errors.Join(err1, err2, err3, err4); err != nil || string(ra) != "2" || string(rb) != "4" {
		t.Fatalf("parallel: %s %s %v", ra, rb, err)
	}
	want = []string{`10 {"name":"double","args":1}`, `10 {"name":"double","args":2}`, `9 {"id":"job-3"}`, `9 {"id":"job-4"}`}
	if !reflect.DeepEqual(h.calls, want) {
		t.Errorf("calls %q, want %q", h.calls, want)
	}
	if _, err := StartTask("unregistered", 1); err == nil || !strings.Contains(err.Error(), `task "unregistered" is not registered`) {
		t.Errorf("unregistered task: err = %v", err)
	}
}

func TestStepReplay(t *testing.T) {
	h := newWorkflowHost(t)
	type rec struct {
		N    int    `json:"n"`
		Name string `json:"name"`
	}
	runs := 0
	flow := func() ([]rec, error) {
		var out []rec
		for i := range 2 {
			r, err := Step("fetch", func() (rec, error) {
				runs++
				return rec{N: i, Name: fmt.Sprint("item", i)}, nil
			})
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	first, err := flow()
	if err != nil || runs != 2 {
		t.Fatalf("first run: %v, %v (fn ran %d times)", first, err, runs)
	}
	want := []string{`11 {"name":"fetch"}`, `12 {"name":"fetch","value":{"n":0,"name":"item0"}}`, `11 {"name":"fetch"}`, `12 {"name":"fetch","value":{"n":1,"name":"item1"}}`}
	if !reflect.DeepEqual(h.calls, want) {
		t.Errorf("calls %q, want %q", h.calls, want)
	}
	h.replay()
	again, err := flow()
	if err != nil || runs != 2 || !reflect.DeepEqual(again, first) {
		t.Fatalf("replay: %v, %v (fn ran %d times in all), want %v", again, err, runs, first)
	}
	if want := []string{`11 {"name":"fetch"}`, `11 {"name":"fetch"}`}; !reflect.DeepEqual(h.calls, want) {
		t.Errorf("replay calls %q, want %q", h.calls, want)
	}
	// An error of fn is returned and not checkpointed.
	h.calls = nil
	if _, err := Step("bad", func() (int, error) { return 0, errors.New("nope") }); err == nil || err.Error() != "nope" {
		t.Errorf("err = %v", err)
	}
	if want := []string{`11 {"name":"bad"}`}; !reflect.DeepEqual(h.calls, want) {
		t.Errorf("calls %q, want %q", h.calls, want)
	}
}

func TestSleepAndApproval(t *testing.T) {
	h := newWorkflowHost(t)
	h.approval = []byte(`{"approved":true,"payload":{"ok":1},"approver":"bob"}`)
	if err := Sleep(1.5); err != nil {
		t.Fatal(err)
	}
	if err := Sleep(-1); err == nil {
		t.Error("Sleep(-1) succeeded")
	}
	urls, err := GetResumeURLs("bob")
	if err != nil || urls != (ResumeURLs{ApprovalPage: "https://r/a", Resume: "https://r/r", Cancel: "https://r/c"}) {
		t.Errorf("resume URLs %+v, %v", urls, err)
	}
	a, err := WaitForApproval(60, "bob")
	if err != nil || !a.Approved || string(a.Payload) != `{"ok":1}` || a.Approver != "bob" {
		t.Errorf("approval %+v, %v", a, err)
	}
	h.approvalErr = "approval canceled by bob"
	if _, err := WaitForApproval(0, ""); err == nil || !strings.Contains(err.Error(), "approval canceled by bob") {
		t.Errorf("canceled: err = %v", err)
	}
	want := []string{`13 {"seconds":1.5}`, `14 {"approver":"bob"}`, `15 {"timeout":60,"approver":"bob"}`, `15 {}`}
	if !reflect.DeepEqual(h.calls, want) {
		t.Errorf("calls %q, want %q", h.calls, want)
	}
}
