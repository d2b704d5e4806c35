package pdk

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
)

// Entry runs a script's main with the job's JSON arguments. runlet's
// generated wrapper registers one; scripts do not call Register themselves.
type Entry func(args []byte) (any, error)

var (
	entry Entry
	//lint:ignore U1000 read by the wasip1 ABI (runlet_warmup)
	entryWarmup func()
)

// RegisterWarmup installs the wrapper's warm-up: it decodes an empty
// argument document into main's parameter types so the JSON decoder's
// caches are built before the host snapshots the instance. It never runs
// the script's own code.
func RegisterWarmup(f func()) { entryWarmup = f }

// MaxStack is the goroutine stack limit of a guest: a runaway recursion ends
// in "fatal error: stack overflow" rather than exhausting linear memory.
const MaxStack = 32 << 20

func init() { debug.SetMaxStack(MaxStack) }

// Register installs the script's entry point. It is called from the
// generated wrapper's init.
func Register(e Entry) { entry = e }

// Failure is the error document a guest hands the host for a failed job.
type Failure struct {
	Message string `json:"message"`
	Stack   string `json:"stack,omitempty"`
	Panic   bool   `json:"panic,omitempty"`
	// Timeout and OOM tell the host the guest stopped itself at its
	// in-guest deadline or heap limit (runlet_begin), so the job is
	// reported as a timeout or out-of-memory with this stack.
	Timeout bool `json:"timeout,omitempty"`
	OOM     bool `json:"oom,omitempty"`
}

// invoke runs the registered entry, or the task a task job's argument
// document {"__runlet_task":NAME,"input":JSON} names (see Task), turning a
// returned error or a panic into a Failure and the result into JSON.
func invoke(args []byte) (out []byte, failure *Failure) {
	running = true
	defer func() {
		if r := recover(); r != nil {
			out, failure = nil, &Failure{Message: fmt.Sprint(r), Stack: userStack(debug.Stack()), Panic: true}
		}
	}()
	var res any
	var err error
	if name, input, ok := taskCall(args); ok {
		res, err = runTask(name, input)
	} else if entry == nil {
		return nil, &Failure{Message: "pdk: no entry registered (was the script built by runlet?)"}
	} else {
		res, err = entry(args)
	}
	if err != nil {
		return nil, &Failure{Message: err.Error()}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, &Failure{Message: "encode result: " + err.Error()}
	}
	return b, nil
}

// userStack drops the pdk's own frames from a panic stack so that the first
// lines point at the script (main or a task).
func userStack(stack []byte) string {
	lines := strings.Split(strings.TrimRight(string(stack), "\n"), "\n")
	// Skip the goroutine header, debug.Stack, and frames up to panic();
	// stop at the generated entry point.
	out := lines
	for i := 1; i+1 < len(lines); i += 2 {
		if strings.HasPrefix(lines[i], "panic(") {
			out = append([]string{lines[0]}, lines[i+2:]...)
			break
		}
	}
	for i := 1; i < len(out); i += 2 {
		// main's caller, or a task's (the closure Task registers)
		if strings.Contains(out[i], ".RunletEntry(") || strings.Contains(out[i], "/pdk.Task[") {
			out = out[:i]
			break
		}
	}
	return strings.Join(out, "\n")
}
