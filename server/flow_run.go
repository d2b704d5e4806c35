package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/runlet/runlet/internal/flow"
	"github.com/runlet/runlet/internal/store"
)

// triggerFlow is the trigger of a flow's child jobs.
const triggerFlow = "flow"

// stepNamespace derives child job ids: a step's job id is a function of
// the flow run and the step's position, so a resumed run finds the jobs
// its previous attempt started instead of starting them again.
var stepNamespace = uuid.MustParse("6f1c0f0e-6b0a-4c53-9a55-5d0c3b9d1e70")

// stepJobID is the id of the child job of step (a module path such as
// "b" or "c/3/d") of flow run parent.
func stepJobID(parent, step string) string {
	return uuid.NewSHA1(stepNamespace, []byte(parent+"/"+step)).String()
}

// flowStop is how a sequence of modules ended early.
type flowStop int

const (
	goOn      flowStop = iota
	stopped            // stop_after_if: the flow (or the loop) ends here
	skippedRn          // stop_after_if with skip_if_stopped, or a trigger with nothing new
)

// flowError is a failed step: the flow fails with it (or runs its failure
// module).
type flowError struct {
	Step    string `json:"step_id"`
	Name    string `json:"name"`
	Message string `json:"message"`
	Job     string `json:"job,omitempty"`
}

func (e *flowError) Error() string { return fmt.Sprintf("step %s: %s: %s", e.Step, e.Name, e.Message) }

// errorValue is the error as flow expressions see it (continue_on_error
// results, skip_failures items, the failure module's error).
func (e *flowError) errorValue() map[string]any {
	return map[string]any{"error": map[string]any{"name": e.Name, "message": e.Message, "step_id": e.Step, "job": e.Job}}
}

// flowRun is one execution (attempt) of a flow job by its orchestrator.
type flowRun struct {
	s     *Service
	ctx   context.Context
	job   *store.Job
	rec   *store.Flow
	def   *flow.Flow
	input map[string]any

	mu     sync.Mutex
	status *store.FlowStatus
	dirty  map[int]bool               // modules changed since the last write (nil map: all)
	checks map[string]json.RawMessage // the flow job's checkpoints (sleeps, approvals)
}

// scope is what a sequence's expressions see.
type scope struct {
	input   map[string]any // flow_input (with iter inside loops)
	results map[string]any // results.<id>, visible to later modules
	prefix  string         // step path prefix ("", "c/3/")
	top     bool           // the flow's own module list
	resume  any            // the last approval's payload ("resume")
}

func (sc *scope) child(input map[string]any, prefix string) *scope {
	res := make(map[string]any, len(sc.results))
	for k, v := range sc.results {
		res[k] = v
	}
	return &scope{input: input, results: res, prefix: prefix, resume: sc.resume}
}

// executeFlow runs a claimed flow job: the orchestrator walks the modules,
// starting each step as a child job and waiting for it. It holds no
// worker; its runner is lent to the queue while it waits. A resumed run
// (after a restart) walks again from the start: steps whose job exists
// are not started again, finished ones only give their result.
func (s *Service) executeFlow(ctx, jctx context.Context, j *store.Job) (status string, result json.RawMessage, jerr *store.JobError, st *store.FlowStatus) {
	fail := func(name, msg string) (string, json.RawMessage, *store.JobError, *store.FlowStatus) {
		return store.StatusFailure, nil, &store.JobError{Name: name, Message: msg}, nil
	}
	rec, err := s.st.GetFlow(ctx, j.Workspace, j.ScriptPath, j.FlowVersion)
	if err != nil {
		return fail("FlowNotFound", fmt.Sprintf("flow %s version %d: %v", j.ScriptPath, j.FlowVersion, err))
	}
	var def flow.Flow
	if err := json.Unmarshal(rec.Definition, &def); err != nil {
		return fail("FlowError", "stored flow definition: "+err.Error())
	}
	var input map[string]any
	if err := json.Unmarshal(j.Args, &input); err != nil || input == nil {
		input = map[string]any{}
	}
	checks, err := s.st.Checkpoints(ctx, j.ID)
	if err != nil {
		return fail("StoreError", err.Error())
	}
	r := &flowRun{s: s, ctx: jctx, job: j, rec: rec, def: &def, input: input, checks: checks}
	r.status = j.Flow
	if r.status == nil || len(r.status.Modules) != len(def.Value.Modules) {
		r.status = &store.FlowStatus{}
		for _, m := range def.Value.Modules {
			r.status.Modules = append(r.status.Modules, store.FlowModuleStatus{ID: m.ID, Type: m.Value.Type, Status: store.FlowWaiting})
		}
	}

	// The runner is lent to the queue for the run's length: the steps
	// need runners, the orchestrator only waits.
	until := make(chan struct{})
	defer close(until)
	go s.runner(s.root, until)

	if def.Value.SkipExpr != "" {
		v, _, err := r.eval(def.Value.SkipExpr, r.env(&scope{input: input, results: map[string]any{}}, nil, false))
		if err != nil {
			return fail("ExpressionError", "value.skip_expr: "+err.Error())
		}
		if truthy(v) {
			return store.StatusSkipped, nil, nil, r.snapshot()
		}
	}
	top := &scope{input: input, results: map[string]any{}, top: true}
	last, stop, ferr := r.runSeq(def.Value.Modules, top, nil)
	if jctx.Err() != nil {
		return "", nil, nil, r.snapshot() // canceled or shutting down: the caller decides
	}
	if ferr != nil {
		var fe *flowError
		if !errors.As(ferr, &fe) {
			fe = &flowError{Step: "", Name: "FlowError", Message: ferr.Error()}
		}
		jerr := &store.JobError{Name: fe.Name, Message: fe.Error()}
		var out json.RawMessage
		if fm := def.Value.FailureModule; fm != nil {
			r.mu.Lock()
			r.status.Failure = &store.FlowModuleStatus{ID: fm.ID, Type: fm.Value.Type, Status: store.FlowRunning}
			r.mu.Unlock()
			errVal := fe.errorValue()["error"]
			fs := &scope{input: input, results: top.results}
			fs.results["error"] = errVal
			res, err := r.runModule(fm, fs, errVal, fm.ID)
			r.mu.Lock()
			if err != nil {
				r.status.Failure.Status, r.status.Failure.Error = store.FlowFailure, err.Error()
			} else {
				r.status.Failure.Status = store.FlowSuccess
				out, _ = json.Marshal(res)
				r.status.Failure.Result = out
			}
			r.mu.Unlock()
		}
		return store.StatusFailure, out, jerr, r.snapshot()
	}
	out, err := json.Marshal(last)
	if err != nil {
		return fail("FlowError", "result: "+err.Error())
	}
	if stop == skippedRn {
		return store.StatusSkipped, out, nil, r.snapshot()
	}
	return store.StatusSuccess, out, nil, r.snapshot()
}

// snapshot copies the status for writing.
func (r *flowRun) snapshot() *store.FlowStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := json.Marshal(r.status)
	var c store.FlowStatus
	_ = json.Unmarshal(b, &c)
	return &c
}

// save writes the status (best effort: it is a view; the child jobs are
// the record).
func (r *flowRun) save() {
	r.mu.Lock()
	var mods []int
	if r.dirty != nil {
		mods = make([]int, 0, len(r.dirty))
		for i := range r.dirty {
			mods = append(mods, i)
		}
	}
	err := r.s.st.UpdateFlowStatus(context.WithoutCancel(r.ctx), r.job.ID, r.job.LeaseOwner, r.status, mods)
	r.dirty = map[int]bool{}
	r.mu.Unlock()
	if err != nil && r.ctx.Err() == nil {
		r.s.log.Warn("writing a flow's status failed", "job", r.job.ID, "err", err)
	}
	r.s.notify(r.job.ID + "/status")
}

// setTop updates the status of top-level module i and writes it.
func (r *flowRun) setTop(sc *scope, i int, fn func(m *store.FlowModuleStatus)) {
	if r.note(sc, i, fn) {
		r.save()
	}
}

// note updates the status of top-level module i in memory only (the next
// write carries it: a step's success goes out with the next step's start).
func (r *flowRun) note(sc *scope, i int, fn func(m *store.FlowModuleStatus)) bool {
	if !sc.top {
		return false
	}
	r.mu.Lock()
	r.status.Step = i
	fn(&r.status.Modules[i])
	r.touch(i)
	r.mu.Unlock()
	return true
}

// touch marks module i for the next write (r.mu held).
func (r *flowRun) touch(i int) {
	if r.dirty != nil {
		r.dirty[i] = true
	}
}

// addJob records a child job under the top-level module it belongs to.
func (r *flowRun) addJob(step, id string) {
	top, _, _ := strings.Cut(step, "/")
	r.mu.Lock()
	for i := range r.status.Modules {
		m := &r.status.Modules[i]
		if m.ID != top {
			continue
		}
		if top == step {
			m.Job = id
		} else if !slices.Contains(m.Jobs, id) {
			m.Jobs = append(m.Jobs, id)
		}
		r.touch(i)
	}
	r.mu.Unlock()
}

// runSeq runs modules one after another. prev is the previous result
// (the flow's input has none).
func (r *flowRun) runSeq(mods []flow.Module, sc *scope, prev any) (any, flowStop, error) {
	for i := range mods {
		m := &mods[i]
		if err := r.ctx.Err(); err != nil {
			return nil, goOn, err
		}
		step := sc.prefix + m.ID
		if m.SkipIf != nil {
			v, _, err := r.eval(m.SkipIf.Expr, r.env(sc, prev, false))
			if err != nil {
				return nil, goOn, &flowError{Step: step, Name: "ExpressionError", Message: "skip_if: " + err.Error()}
			}
			if truthy(v) {
				r.setTop(sc, i, func(st *store.FlowModuleStatus) { st.Status = store.FlowSkipped })
				sc.results[m.ID] = prev
				continue
			}
		}
		r.setTop(sc, i, func(st *store.FlowModuleStatus) {
			st.Status = store.FlowRunning
			switch m.Value.Type {
			case flow.TypeRawScript, flow.TypeScript, flow.TypeFlow:
				if (m.Mock == nil || !m.Mock.Enabled) && m.CacheTTL == 0 {
					st.Job = stepJobID(r.job.ID, step) // known before it starts
				}
			}
		})
		res, err := r.runModule(m, sc, prev, step)
		var skip *skipError
		switch {
		case errors.As(err, &skip):
			// A trigger step found nothing new: the whole run is skipped.
			r.setTop(sc, i, func(st *store.FlowModuleStatus) { st.Status = store.FlowSkipped })
			return nil, skippedRn, nil
		case err != nil && r.ctx.Err() != nil:
			return nil, goOn, err
		case err != nil && m.ContinueOnError:
			var fe *flowError
			if !errors.As(err, &fe) {
				fe = &flowError{Step: step, Name: "Error", Message: err.Error()}
			}
			res = fe.errorValue()
			r.setTop(sc, i, func(st *store.FlowModuleStatus) { st.Status, st.Error = store.FlowFailure, fe.Message })
		case err != nil:
			r.setTop(sc, i, func(st *store.FlowModuleStatus) { st.Status, st.Error = store.FlowFailure, err.Error() })
			return nil, goOn, err
		}
		sc.results[m.ID] = res
		if m.Suspend != nil {
			if err := r.suspend(m, step, i, sc); err != nil {
				r.setTop(sc, i, func(st *store.FlowModuleStatus) { st.Status, st.Error = store.FlowFailure, err.Error() })
				return nil, goOn, err
			}
		}
		if err == nil {
			r.note(sc, i, func(st *store.FlowModuleStatus) {
				st.Status = store.FlowSuccess
				st.Result, _ = json.Marshal(res)
			})
		}
		if sc.top && r.def.Value.EarlyReturn == m.ID {
			b, _ := json.Marshal(res)
			if string(b) == "null" || len(b) == 0 {
				b = json.RawMessage("null")
			}
			r.mu.Lock()
			r.status.EarlyReturn = b
			r.mu.Unlock()
			r.save()
			r.s.notify(r.job.ID)
		}
		for _, cond := range []*flow.StopAfterIf{m.StopAfterIf, allIters(m)} {
			if cond == nil {
				continue
			}
			env := r.env(sc, prev, true)
			env["result"] = res
			v, _, err := r.eval(cond.Expr, env)
			if err != nil {
				return nil, goOn, &flowError{Step: step, Name: "ExpressionError", Message: "stop_after_if: " + err.Error()}
			}
			if truthy(v) {
				if cond.ErrorMessage != "" {
					return nil, goOn, &flowError{Step: step, Name: "StopAfterIf", Message: cond.ErrorMessage}
				}
				if cond.SkipIfStopped {
					return res, skippedRn, nil
				}
				return res, stopped, nil
			}
		}
		if m.Sleep != nil {
			r.save()
			if err := r.sleep(m, step, sc, res); err != nil {
				return nil, goOn, err
			}
		}
		prev = res
	}
	return prev, goOn, nil
}

// allIters is a loop's stop_after_all_iters_if (checked after the loop).
func allIters(m *flow.Module) *flow.StopAfterIf {
	if m.Value.Type == flow.TypeForLoop || m.Value.Type == flow.TypeWhileLoop {
		return m.StopAfterAllItersIf
	}
	return nil
}

// skipError: a trigger step ended skipped (nothing new).
type skipError struct{ step string }

func (e *skipError) Error() string { return "step " + e.step + " skipped" }

// runModule runs one module and returns its result.
func (r *flowRun) runModule(m *flow.Module, sc *scope, prev any, step string) (any, error) {
	if m.Mock != nil && m.Mock.Enabled {
		var v any
		if len(m.Mock.ReturnValue) > 0 {
			_ = json.Unmarshal(m.Mock.ReturnValue, &v)
		}
		return v, nil
	}
	switch m.Value.Type {
	case flow.TypeIdentity:
		return prev, nil
	case flow.TypeRawScript, flow.TypeScript, flow.TypeFlow:
		return r.runStep(m, sc, prev, step)
	case flow.TypeForLoop:
		return r.forLoop(m, sc, prev, step)
	case flow.TypeWhileLoop:
		return r.whileLoop(m, sc, prev, step)
	case flow.TypeBranchOne:
		return r.branchOne(m, sc, prev, step)
	case flow.TypeBranchAll:
		return r.branchAll(m, sc, prev, step)
	}
	return nil, &flowError{Step: step, Name: "FlowError", Message: fmt.Sprintf("unknown module type %q", m.Value.Type)}
}

// inputs computes a step's arguments from its input transforms.
func (r *flowRun) inputs(m *flow.Module, sc *scope, prev any, step string) (map[string]any, error) {
	args := map[string]any{}
	exprs := map[string]string{}
	for name, t := range m.Value.InputTransforms {
		switch t.Type {
		case "static", "":
			if len(t.Value) == 0 {
				continue
			}
			var v any
			if err := json.Unmarshal(t.Value, &v); err != nil {
				return nil, &flowError{Step: step, Name: "ArgumentError", Message: fmt.Sprintf("input %q: %v", name, err)}
			}
			args[name] = v
		case "javascript":
			exprs[name] = t.Expr
		}
	}
	if len(exprs) > 0 {
		vals, err := r.evalMany(exprs, r.env(sc, prev, false))
		if err != nil {
			return nil, &flowError{Step: step, Name: "ExpressionError", Message: err.Error()}
		}
		for k, v := range vals {
			args[k] = v
		}
	}
	return args, nil
}

// runStep runs a script, inline script or sub-flow as a child job.
func (r *flowRun) runStep(m *flow.Module, sc *scope, prev any, step string) (any, error) {
	args, err := r.inputs(m, sc, prev, step)
	if err != nil {
		return nil, err
	}
	var cacheKey string
	if m.CacheTTL > 0 {
		cacheKey = r.cacheKey(m, args)
		if v, ok := r.cached(cacheKey); ok {
			return v, nil
		}
	}
	id := stepJobID(r.job.ID, step)
	r.addJob(step, id)
	req := RunRequest{
		Args: args, JobID: id, Trigger: triggerFlow, Parent: r.job, StepID: step, FlowPath: r.job.ScriptPath,
		SchedulePath: r.job.SchedulePath, Priority: r.job.Priority + 1, Retry: retryOf(m.Retry),
		Timeout: time.Duration(m.Timeout) * time.Second,
	}
	switch m.Value.Type {
	case flow.TypeRawScript:
		req.Hash = r.rec.Steps[m.ID]
		if req.Hash == "" {
			return nil, &flowError{Step: step, Name: "FlowError", Message: "no stored script for inline module " + m.ID}
		}
	case flow.TypeScript:
		req.Path, req.Hash = m.Value.Path, m.Value.Hash
	case flow.TypeFlow:
		req.Path, req.Flow, req.FlowPath = m.Value.Path, true, ""
	}
	s := r.s
	// A resumed run waits for the job its earlier attempt started (even
	// when the queue is full or the script is gone by now).
	if _, err := s.st.GetJob(r.ctx, r.job.Workspace, id); err != nil {
		if _, err := s.Run(r.ctx, r.principal(), r.job.Workspace, req); err != nil {
			var ae *Error
			if !errors.As(err, &ae) || ae.Status != 409 { // 409: started meanwhile
				return nil, &flowError{Step: step, Name: "StepError", Message: err.Error(), Job: id}
			}
		}
	}
	j, err := r.waitJob(id)
	if err != nil {
		return nil, err
	}
	switch {
	case j.Status == store.StatusSkipped && m.Value.Type != flow.TypeFlow:
		return nil, &skipError{step}
	case !j.OK():
		fe := &flowError{Step: step, Name: j.Status, Message: j.Status, Job: id}
		if j.Error != nil {
			fe.Name, fe.Message = j.Error.Name, j.Error.Message
		}
		return nil, fe
	}
	var v any
	if len(j.Result) > 0 {
		if err := json.Unmarshal(j.Result, &v); err != nil {
			return nil, &flowError{Step: step, Name: "ResultError", Message: err.Error(), Job: id}
		}
	}
	if cacheKey != "" {
		r.storeCache(cacheKey, j.Result, m.CacheTTL)
	}
	return v, nil
}

// waitJob waits for a child job to end.
func (r *flowRun) waitJob(id string) (*store.Job, error) {
	for {
		j, err := r.s.Wait(r.ctx, r.job.Workspace, id, time.Hour)
		if err != nil {
			return nil, err
		}
		if j.Done() {
			return j, nil
		}
	}
}

// principal is what the flow's steps run as: the flow run's creator.
func (r *flowRun) principal() *Principal {
	return &Principal{Workspace: r.job.Workspace, User: r.job.CreatedBy, Role: store.RoleDeveloper}
}

// retryOf is a module's retry policy; an empty one is none.
func retryOf(r *flow.Retry) *store.Retry {
	if r == nil || (r.Constant == nil && r.Exponential == nil) {
		return nil
	}
	return r
}

// iterScope is a loop iteration's scope: flow_input.iter = {value, index}.
func iterScope(sc *scope, value any, index int, prefix string) *scope {
	in := make(map[string]any, len(sc.input)+1)
	for k, v := range sc.input {
		in[k] = v
	}
	in["iter"] = map[string]any{"value": value, "index": index}
	return sc.child(in, prefix)
}

// forLoop runs its modules once per item of the iterator, in order or in
// parallel (at most parallelism at once); the result is the list of the
// iterations' results.
func (r *flowRun) forLoop(m *flow.Module, sc *scope, prev any, step string) (any, error) {
	var v any
	var err error
	if m.Value.Iterator.Type == "static" {
		err = json.Unmarshal(m.Value.Iterator.Value, &v)
	} else {
		v, _, err = r.eval(m.Value.Iterator.Expr, r.env(sc, prev, false))
	}
	if err != nil {
		return nil, &flowError{Step: step, Name: "ExpressionError", Message: "iterator: " + err.Error()}
	}
	items, ok := v.([]any)
	if !ok {
		return nil, &flowError{Step: step, Name: "IteratorError", Message: fmt.Sprintf("iterator: want an array, got %s", jsType(v))}
	}
	if len(items) > r.s.cfg.FlowMaxIterations {
		return nil, &flowError{Step: step, Name: "IteratorError", Message: fmt.Sprintf("iterator: %d items, over the limit of %d (flow_max_iterations)", len(items), r.s.cfg.FlowMaxIterations)}
	}
	return r.iterate(m, sc, prev, step, len(items), func(i int) any { return items[i] })
}

// iterate runs n iterations of a loop's body.
func (r *flowRun) iterate(m *flow.Module, sc *scope, prev any, step string, n int, item func(int) any) (any, error) {
	results := make([]any, n)
	errs := make([]error, n)
	broke := make([]bool, n)
	one := func(i int) {
		isc := iterScope(sc, item(i), i, step+"/"+strconv.Itoa(i)+"/")
		res, stop, err := r.runSeq(m.Value.Modules, isc, prev)
		results[i], errs[i] = res, err
		broke[i] = stop != goOn
		r.mu.Lock()
		if sc.top {
			for k := range r.status.Modules {
				if r.status.Modules[k].ID == m.ID {
					r.status.Modules[k].Iterations++
					r.touch(k)
				}
			}
		}
		r.mu.Unlock()
	}
	done := n
	if !m.Value.Parallel {
		for i := 0; i < n; i++ {
			one(i)
			if r.ctx.Err() != nil {
				return nil, r.ctx.Err()
			}
			if errs[i] != nil && !m.Value.SkipFailures {
				return nil, errs[i]
			}
			if broke[i] {
				done = i + 1
				break
			}
		}
	} else {
		par := m.Value.Parallelism
		if par <= 0 || par > n {
			par = n
		}
		sem := make(chan struct{}, max(par, 1))
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				one(i)
			}()
		}
		wg.Wait()
		if r.ctx.Err() != nil {
			return nil, r.ctx.Err()
		}
		for i := 0; i < n; i++ {
			if errs[i] != nil && !m.Value.SkipFailures {
				return nil, errs[i]
			}
		}
	}
	out := results[:done]
	for i := range out {
		if errs[i] != nil {
			var fe *flowError
			if !errors.As(errs[i], &fe) {
				fe = &flowError{Step: step, Name: "Error", Message: errs[i].Error()}
			}
			out[i] = fe.errorValue()
		}
	}
	r.save()
	return out, nil
}

// whileLoop runs its modules until one's stop_after_if holds, at most
// flow_max_iterations times.
func (r *flowRun) whileLoop(m *flow.Module, sc *scope, prev any, step string) (any, error) {
	var out []any
	for i := 0; ; i++ {
		if i >= r.s.cfg.FlowMaxIterations {
			return nil, &flowError{Step: step, Name: "IterationLimit", Message: fmt.Sprintf("while loop ran %d iterations without stopping (flow_max_iterations)", i)}
		}
		isc := iterScope(sc, i, i, step+"/"+strconv.Itoa(i)+"/")
		res, stop, err := r.runSeq(m.Value.Modules, isc, prev)
		if sc.top {
			r.mu.Lock()
			for k := range r.status.Modules {
				if r.status.Modules[k].ID == m.ID {
					r.status.Modules[k].Iterations = i + 1
					r.touch(k)
				}
			}
			r.mu.Unlock()
		}
		if err != nil {
			if r.ctx.Err() != nil || !m.Value.SkipFailures {
				return nil, err
			}
			var fe *flowError
			if !errors.As(err, &fe) {
				fe = &flowError{Step: step, Name: "Error", Message: err.Error()}
			}
			res = fe.errorValue()
		}
		out = append(out, res)
		if stop != goOn {
			return out, nil
		}
	}
}

// branchOne runs the first branch whose expr is true, else the default.
func (r *flowRun) branchOne(m *flow.Module, sc *scope, prev any, step string) (any, error) {
	chosen := -1
	for i, b := range m.Value.Branches {
		v, _, err := r.eval(b.Expr, r.env(sc, prev, false))
		if err != nil {
			return nil, &flowError{Step: step, Name: "ExpressionError", Message: fmt.Sprintf("branches[%d].expr: %v", i, err)}
		}
		if truthy(v) {
			chosen = i
			break
		}
	}
	mods, prefix := m.Value.Default, step+"/default/"
	if chosen >= 0 {
		mods, prefix = m.Value.Branches[chosen].Modules, step+"/"+strconv.Itoa(chosen)+"/"
	}
	if sc.top {
		r.mu.Lock()
		for k := range r.status.Modules {
			if r.status.Modules[k].ID == m.ID {
				c := chosen
				r.status.Modules[k].Branch = &c
				r.touch(k)
			}
		}
		r.mu.Unlock()
	}
	bsc := sc.child(sc.input, prefix)
	res, _, err := r.runSeq(mods, bsc, prev)
	if err != nil {
		return nil, err
	}
	for k, v := range bsc.results {
		sc.results[k] = v
	}
	return res, nil
}

// branchAll runs every branch (in parallel when asked); the result is the
// list of the branches' results.
func (r *flowRun) branchAll(m *flow.Module, sc *scope, prev any, step string) (any, error) {
	n := len(m.Value.Branches)
	results := make([]any, n)
	errs := make([]error, n)
	one := func(i int) {
		bsc := sc.child(sc.input, step+"/"+strconv.Itoa(i)+"/")
		results[i], _, errs[i] = r.runSeq(m.Value.Branches[i].Modules, bsc, prev)
	}
	if m.Value.Parallel {
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); one(i) }()
		}
		wg.Wait()
	} else {
		for i := 0; i < n; i++ {
			one(i)
			if errs[i] != nil && !m.Value.Branches[i].SkipFailure {
				break
			}
		}
	}
	if r.ctx.Err() != nil {
		return nil, r.ctx.Err()
	}
	for i := 0; i < n; i++ {
		if errs[i] == nil {
			continue
		}
		if !m.Value.Branches[i].SkipFailure {
			return nil, errs[i]
		}
		var fe *flowError
		if !errors.As(errs[i], &fe) {
			fe = &flowError{Step: step, Name: "Error", Message: errs[i].Error()}
		}
		results[i] = fe.errorValue()
	}
	return results, nil
}

// sleep waits the module's sleep (seconds) after it ran. The wake-up time
// is a checkpoint of the flow job, so a resumed run sleeps only the rest.
func (r *flowRun) sleep(m *flow.Module, step string, sc *scope, res any) error {
	var secs float64
	switch m.Sleep.Type {
	case "javascript":
		env := r.env(sc, res, true)
		env["result"] = res
		v, _, err := r.eval(m.Sleep.Expr, env)
		if err != nil {
			return &flowError{Step: step, Name: "ExpressionError", Message: "sleep: " + err.Error()}
		}
		f, ok := v.(float64)
		if !ok {
			return &flowError{Step: step, Name: "ArgumentError", Message: fmt.Sprintf("sleep: want a number of seconds, got %s", jsType(v))}
		}
		secs = f
	default:
		if err := json.Unmarshal(m.Sleep.Value, &secs); err != nil {
			return &flowError{Step: step, Name: "ArgumentError", Message: "sleep: want a number of seconds"}
		}
	}
	if secs <= 0 {
		return nil
	}
	until, err := r.checkpointTime("sleep:"+step, time.Now().Add(time.Duration(secs*float64(time.Second))))
	if err != nil {
		return err
	}
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// checkpointTime returns the time stored under name, storing def first
// when there is none.
func (r *flowRun) checkpointTime(name string, def time.Time) (time.Time, error) {
	r.mu.Lock()
	raw, ok := r.checks[name]
	r.mu.Unlock()
	if ok {
		var t time.Time
		if json.Unmarshal(raw, &t) == nil {
			return t, nil
		}
	}
	b, _ := json.Marshal(def.UTC())
	if err := r.s.st.PutCheckpoint(r.ctx, r.job.ID, name, b, r.s.cfg.stepFsync()); err != nil {
		return time.Time{}, err
	}
	r.mu.Lock()
	r.checks[name] = b
	r.mu.Unlock()
	return def, nil
}

// cacheKey identifies a cached step result: the flow, the module, its
// definition and its arguments.
func (r *flowRun) cacheKey(m *flow.Module, args map[string]any) string {
	mb, _ := json.Marshal(m.Value)
	ab, _ := json.Marshal(args)
	h := sha256.New()
	h.Write(mb)
	h.Write([]byte{0})
	h.Write(ab)
	return "flowcache/" + r.job.ScriptPath + "/" + m.ID + "/" + hex.EncodeToString(h.Sum(nil)[:12])
}

type cacheEntry struct {
	Expires time.Time       `json:"expires"`
	Result  json.RawMessage `json:"result"`
}

func (r *flowRun) cached(key string) (any, bool) {
	raw, err := r.s.st.GetState(r.ctx, r.job.Workspace, key)
	if err != nil {
		return nil, false
	}
	var e cacheEntry
	if json.Unmarshal(raw, &e) != nil || time.Now().After(e.Expires) {
		return nil, false
	}
	var v any
	if len(e.Result) > 0 && json.Unmarshal(e.Result, &v) != nil {
		return nil, false
	}
	return v, true
}

func (r *flowRun) storeCache(key string, res json.RawMessage, ttl int) {
	if len(res) == 0 {
		res = json.RawMessage("null")
	}
	b, _ := json.Marshal(cacheEntry{Expires: time.Now().Add(time.Duration(ttl) * time.Second).UTC(), Result: res})
	if err := r.s.st.SetState(r.ctx, r.job.Workspace, key, b); err != nil {
		r.s.log.Warn("caching a step result failed", "job", r.job.ID, "err", err)
	}
}

// truthy is JavaScript's truthiness of a JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && x == x
	case json.Number:
		f, _ := x.Float64()
		return f != 0
	case string:
		return x != ""
	}
	return true
}

// jsType names a JSON value's type for messages.
func jsType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// runFlowJob executes a claimed flow job and records how it ended.
func (s *Service) runFlowJob(ctx, jctx context.Context, j *store.Job, rj *runningJob) {
	defer s.jobRun(j)()
	defer s.heartbeat(ctx, j)()
	status, result, jerr, st := s.executeFlow(ctx, jctx, j)
	if jctx.Err() != nil && st != nil {
		if errors.Is(context.Cause(jctx), errShutdown) {
			// The next process resumes from this status.
			_ = s.st.UpdateFlowStatus(context.WithoutCancel(ctx), j.ID, j.LeaseOwner, st, nil)
		}
		j.Flow = st
	}
	if s.interrupted(ctx, jctx, j, rj) {
		return
	}
	j.Status, j.Result, j.Error, j.CompletedAt = status, result, jerr, time.Now().UTC()
	j.Flow = st
	s.finish(ctx, j)
}
