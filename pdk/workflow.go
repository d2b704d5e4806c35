package pdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// Workflows as code: a script's main orchestrates tasks (functions of the
// same script that run as child jobs), steps (inline results checkpointed
// by the host), durable sleeps and approvals. When a run is started again
// after a restart, main replays from the top: the host hands back the
// child jobs already started and the steps already checkpointed, so only
// the work not yet done runs again. Keep main deterministic between those
// calls: the host matches tasks and steps by name and by their order.

// taskFunc runs a registered task with its JSON input.
type taskFunc func(input []byte) (any, error)

var (
	// tasks maps a task name to its function. Task fills it, normally
	// from package-level variable initialisers, before any job runs.
	tasks = map[string]taskFunc{}
	// running is set once a job runs: registering a name twice is then a
	// Task called from main (again in a reused instance), not a clash of
	// two package-level declarations.
	running bool
)

// taskKey is the argument-document key that makes a job a task job:
// {"__runlet_task":NAME,"input":JSON}.
const taskKey = "__runlet_task"

// Task registers fn as the task name of this script and returns a function
// that runs it as a child job: it starts the job (OpTask), waits for it
// (OpWaitJob) and decodes its result into Out. A failed task returns the
// host's error ("child job ID failed: ...").
//
// Declare tasks at package level, so that every job of the script, and in
// particular the task job itself, has them registered before it starts:
//
//	var double = pdk.Task("double", func(x int) (int, error) { return 2 * x, nil })
//
//	func main(n int) (int, error) { return double(n) }
//
// The task job runs the same script version with the argument document
// {"__runlet_task":name,"input":in}; the pdk calls fn instead of main.
// To run tasks in parallel, start them all with [StartTask], then [WaitJob]
// each. Registering one name twice at package level panics.
func Task[In, Out any](name string, fn func(In) (Out, error)) func(In) (Out, error) {
	if name == "" || fn == nil {
		panic("pdk: Task needs a name and a function")
	}
	if _, dup := tasks[name]; dup && !running {
		panic(fmt.Sprintf("pdk: task %q is registered twice", name))
	}
	tasks[name] = func(input []byte) (any, error) {
		var in In
		if err := decodeJSON(input, &in); err != nil {
			return nil, fmt.Errorf("task %s: decode input: %w", name, err)
		}
		return fn(in)
	}
	return func(in In) (Out, error) {
		var out Out
		id, err := StartTask(name, in)
		if err != nil {
			return out, err
		}
		raw, err := WaitJob(id)
		if err != nil {
			return out, err
		}
		if err := decodeJSON(raw, &out); err != nil {
			return out, fmt.Errorf("task %s: decode result: %w", name, err)
		}
		return out, nil
	}
}

// StartTask starts the registered task name with input as a child job and
// returns its id without waiting; on replay the host returns the job it
// started before. Wait for the result with [WaitJob].
func StartTask[In any](name string, in In) (string, error) {
	if _, ok := tasks[name]; !ok {
		return "", fmt.Errorf("pdk: task %q is not registered (declare it at package level with pdk.Task)", name)
	}
	var resp struct {
		ID string `json:"id"`
	}
	err := call(OpTask, struct {
		Name string `json:"name"`
		Args In     `json:"args"`
	}{name, in}, &resp)
	return resp.ID, err
}

// runTask runs the registered task name for a task job.
func runTask(name string, input []byte) (any, error) {
	fn, ok := tasks[name]
	if !ok {
		return nil, fmt.Errorf("task %q not found: the script registers no task of that name (declare tasks at package level: var f = pdk.Task(%q, fn))", name, name)
	}
	return fn(input)
}

// taskCall reports whether args is a task job's argument document and,
// if so, the task's name and input.
func taskCall(args []byte) (name string, input []byte, ok bool) {
	if !bytes.Contains(args, []byte(`"`+taskKey+`"`)) {
		return "", nil, false
	}
	var doc struct {
		Task  *string         `json:"__runlet_task"`
		Input json.RawMessage `json:"input"`
	}
	if json.Unmarshal(args, &doc) != nil || doc.Task == nil {
		return "", nil, false
	}
	return *doc.Task, doc.Input, true
}

// Step runs fn once per run of the workflow: the first time, its result is
// checkpointed by the host under name (OpStepSet); when the job is
// replayed, Step returns the checkpoint without calling fn. The host counts
// the occurrences of each name, so a step in a loop is checkpointed per
// iteration. An error of fn is returned and nothing is checkpointed.
func Step[T any](name string, fn func() (T, error)) (T, error) {
	var zero T
	var got struct {
		Found bool            `json:"found"`
		Value json.RawMessage `json:"value"`
	}
	if err := call(OpStepGet, struct {
		Name string `json:"name"`
	}{name}, &got); err != nil {
		return zero, err
	}
	if got.Found {
		var v T
		if err := decodeJSON(got.Value, &v); err != nil {
			return zero, fmt.Errorf("step %s: decode checkpoint: %w", name, err)
		}
		return v, nil
	}
	v, err := fn()
	if err != nil {
		return v, err
	}
	err = call(OpStepSet, struct {
		Name  string `json:"name"`
		Value T      `json:"value"`
	}{name, v}, nil)
	return v, err
}

// Sleep suspends the job for seconds. The sleep is durable: the host keeps
// its deadline, and a job replayed after a restart sleeps only what is left.
func Sleep(seconds float64) error {
	if math.IsNaN(seconds) || math.IsInf(seconds, 0) || seconds < 0 {
		return fmt.Errorf("pdk: sleep of %v seconds: want a finite number >= 0", seconds)
	}
	return call(OpSleep, struct {
		Seconds float64 `json:"seconds"`
	}{seconds}, nil)
}

// ResumeURLs are the links that approve (resume) or cancel the job's next
// [WaitForApproval], and the page that offers both.
type ResumeURLs struct {
	ApprovalPage string `json:"approvalPage"`
	Resume       string `json:"resume"`
	Cancel       string `json:"cancel"`
}

// GetResumeURLs returns the approval links of the job, for approver
// (empty: anyone allowed to approve).
func GetResumeURLs(approver string) (ResumeURLs, error) {
	var u ResumeURLs
	err := call(OpResumeURLs, struct {
		Approver string `json:"approver,omitempty"`
	}{approver}, &u)
	return u, err
}

// Approval is how a job waiting in [WaitForApproval] was resumed.
type Approval struct {
	Approved bool            `json:"approved"`
	Payload  json.RawMessage `json:"payload,omitempty"` // what the approver sent, if anything
	Approver string          `json:"approver,omitempty"`
}

// WaitForApproval suspends the job until one of its resume links (see
// [GetResumeURLs]) is used. timeoutSeconds 0 leaves the timeout to the
// host, and approver "" allows anyone; a cancel or the timeout is an error.
func WaitForApproval(timeoutSeconds int, approver string) (Approval, error) {
	var a Approval
	err := call(OpWaitApproval, struct {
		Timeout  int    `json:"timeout,omitempty"`
		Approver string `json:"approver,omitempty"`
	}{timeoutSeconds, approver}, &a)
	return a, err
}

// decodeJSON decodes b into v, leaving v as it is when b is empty.
func decodeJSON(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}
