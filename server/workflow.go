package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/runlet/runlet/internal/scriptbuild"
	"github.com/runlet/runlet/pdk"
)

// Workflows as code: a script's task(), step(), sleep() and
// waitForApproval() calls. Each is numbered by its occurrence in the run
// (per name), so a resumed run (the same script, started again after a
// restart) meets them in the same order: a task finds the child job its
// earlier attempt started (its id derives from the occurrence), a step
// finds its checkpointed result, a sleep its wake-up time.

// taskTrigger is the trigger of a workflow's task jobs.
const taskTrigger = "task"

// taskArgs is what a task job's guest receives: for JS/TS
// {"args":[...],"task":name}; for Go {"__runlet_task":name,"input":…}.
func taskArgs(lang, task string, args json.RawMessage) (json.RawMessage, error) {
	var ta struct {
		Args json.RawMessage `json:"args"`
	}
	if len(args) > 0 {
		if err := json.Unmarshal(args, &ta); err != nil {
			return nil, fmt.Errorf("task arguments: %v", err)
		}
	}
	if len(ta.Args) == 0 {
		ta.Args = json.RawMessage("null")
	}
	switch lang {
	case scriptbuild.TypeScript, scriptbuild.JavaScript:
		if string(ta.Args) == "null" {
			ta.Args = json.RawMessage("[]")
		}
		return json.Marshal(map[string]any{"args": ta.Args, "task": task})
	case scriptbuild.Go:
		return json.Marshal(map[string]any{"__runlet_task": task, "input": ta.Args})
	}
	return nil, fmt.Errorf("tasks are not supported for %s scripts", lang)
}

// workflowState is a running job's checkpoints and occurrence counters.
type workflowState struct {
	once   sync.Once
	err    error
	mu     sync.Mutex
	checks map[string]json.RawMessage
	counts map[string]int
	// pending: the checkpoint name of a step's last lookup, by step name.
	pending map[string]string
}

// load reads the job's checkpoints once.
func (c *jobCaller) workflow(ctx context.Context) (*workflowState, error) {
	w := &c.wf
	w.once.Do(func() {
		w.checks, w.err = c.s.st.Checkpoints(ctx, c.job.ID)
		w.counts, w.pending = map[string]int{}, map[string]string{}
	})
	return w, w.err
}

// next numbers the next occurrence of kind+name.
func (w *workflowState) next(kind, name string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := kind + ":" + name
	n := w.counts[k]
	w.counts[k] = n + 1
	return k + "#" + strconv.Itoa(n)
}

func (w *workflowState) get(name string) (json.RawMessage, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.checks[name]
	return v, ok
}

// put records a checkpoint (fsync'd unless step_fsync is off).
func (c *jobCaller) put(ctx context.Context, w *workflowState, name string, v json.RawMessage) error {
	if err := c.s.st.PutCheckpoint(ctx, c.job.ID, name, v, c.s.cfg.stepFsync()); err != nil {
		return err
	}
	w.mu.Lock()
	w.checks[name] = v
	w.mu.Unlock()
	return nil
}

// workflowCall answers the workflow ops; handled false for other ops.
func (c *jobCaller) workflowCall(ctx context.Context, op pdk.Op, req []byte) (out []byte, handled bool, err error) {
	switch op {
	case pdk.OpTask, pdk.OpStepGet, pdk.OpStepSet, pdk.OpSleep, pdk.OpResumeURLs, pdk.OpWaitApproval:
	default:
		return nil, false, nil
	}
	var r struct {
		Name     string          `json:"name"`
		Args     json.RawMessage `json:"args"`
		Value    json.RawMessage `json:"value"`
		Seconds  float64         `json:"seconds"`
		Timeout  float64         `json:"timeout"`
		Approver string          `json:"approver"`
	}
	if len(req) > 0 {
		if err := json.Unmarshal(req, &r); err != nil {
			return nil, true, fmt.Errorf("bad request: %v", err)
		}
	}
	w, err := c.workflow(ctx)
	if err != nil {
		return nil, true, err
	}
	s := c.s
	switch op {
	case pdk.OpTask:
		if r.Name == "" {
			return nil, true, errors.New("task: a named function is required")
		}
		key := w.next("task", r.Name)
		id := stepJobID(c.job.ID, key)
		if _, ok := w.get(key); !ok {
			b, _ := json.Marshal(id)
			if err := c.put(ctx, w, key, b); err != nil {
				return nil, true, err
			}
		}
		var args any = r.Args
		if len(r.Args) == 0 {
			args = nil
		}
		var err error
		if _, gerr := s.st.GetJob(ctx, c.job.Workspace, id); gerr != nil { // not started by an earlier attempt
			_, err = s.Run(ctx, c.principal(), c.job.Workspace, RunRequest{
				Hash: c.job.ScriptHash, Args: map[string]any{"args": args}, Task: r.Name, JobID: id,
				Trigger: taskTrigger, Parent: c.job, Priority: c.job.Priority + 1,
			})
		}
		var ae *Error
		if err != nil && !(errors.As(err, &ae) && ae.Status == 409) {
			return nil, true, err
		}
		out, err := json.Marshal(map[string]string{"id": id})
		return out, true, err
	case pdk.OpStepGet:
		key := w.next("step", r.Name)
		w.mu.Lock()
		w.pending[r.Name] = key
		w.mu.Unlock()
		v, ok := w.get(key)
		if !ok {
			return []byte(`{"found":false}`), true, nil
		}
		out, err := json.Marshal(map[string]any{"found": true, "value": v})
		return out, true, err
	case pdk.OpStepSet:
		w.mu.Lock()
		key, ok := w.pending[r.Name]
		delete(w.pending, r.Name)
		w.mu.Unlock()
		if !ok {
			return nil, true, fmt.Errorf("step %q: its result was set without a lookup", r.Name)
		}
		if len(r.Value) == 0 {
			r.Value = json.RawMessage("null")
		}
		return []byte("{}"), true, c.put(ctx, w, key, r.Value)
	case pdk.OpSleep:
		if r.Seconds < 0 {
			return nil, true, errors.New("sleep: seconds must not be negative")
		}
		key := w.next("sleep", "")
		until := time.Now().Add(time.Duration(r.Seconds * float64(time.Second))).UTC()
		if v, ok := w.get(key); ok {
			_ = json.Unmarshal(v, &until)
		} else {
			b, _ := json.Marshal(until)
			if err := c.put(ctx, w, key, b); err != nil {
				return nil, true, err
			}
		}
		if d := time.Until(until); d > 0 {
			defer c.lend()()
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return nil, true, ctx.Err()
			}
		}
		return []byte("{}"), true, nil
	case pdk.OpResumeURLs:
		u := s.jobResumeURLs(ctx, c.job, "", r.Approver)
		out, err := json.Marshal(u)
		return out, true, err
	case pdk.OpWaitApproval:
		key := w.next("approval", "")
		ttl := s.cfg.SuspendTimeout
		if r.Timeout > 0 {
			ttl = time.Duration(r.Timeout * float64(time.Second))
		}
		deadline := time.Now().Add(ttl).UTC()
		if v, ok := w.get(key + ":deadline"); ok {
			_ = json.Unmarshal(v, &deadline)
		} else {
			b, _ := json.Marshal(deadline)
			if err := c.put(ctx, w, key+":deadline", b); err != nil {
				return nil, true, err
			}
		}
		giveBack := c.lend()
		evs, err := s.awaitApproval(ctx, c.job, key, 1, deadline, nil)
		giveBack()
		if err != nil {
			return nil, true, err
		}
		last := evs[len(evs)-1]
		out, err := json.Marshal(map[string]any{"approved": true, "payload": last.Payload, "approver": last.Approver})
		return out, true, err
	}
	return nil, false, nil
}

// lend gives the job's runner and worker to others while it waits; the
// returned func takes them back.
func (c *jobCaller) lend() func() {
	s := c.s
	giveBack := s.eng.Borrow()
	until := make(chan struct{})
	go s.runner(s.root, until)
	return func() {
		close(until)
		giveBack()
	}
}
