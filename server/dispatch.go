package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet/host"
	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/pdk"
	"github.com/runlet/runlet/runtime"
)

// Causes a running job's context ends with.
var (
	errCanceled = errors.New("canceled")
	errShutdown = errors.New("server shutting down")
)

// concurrencyBackoff is how long a job waits in the queue when its script
// is at its concurrency limit (a finishing job wakes the runners earlier).
const concurrencyBackoff = 100 * time.Millisecond

// runningJob is a job a runner of this process is executing.
type runningJob struct {
	stop   context.CancelCauseFunc
	mu     sync.Mutex
	by     string
	reason string
}

func (r *runningJob) cancel(by, reason string) {
	r.mu.Lock()
	r.by, r.reason = by, reason
	r.mu.Unlock()
	r.stop(errCanceled)
}

// poke wakes the runners: a job was queued.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start recovers jobs a previous process left running, then starts n
// runners (the engine's workers is the natural n) and the retention loop.
func (s *Service) Start(ctx context.Context, n int) error {
	s.root = ctx
	if err := s.recoverInterrupted(ctx); err != nil {
		return err
	}
	for range n {
		s.bg.Go(func() { s.runner(ctx, nil) })
	}
	s.bg.Go(func() { s.retention(ctx) })
	return nil
}

// waitBackground waits (up to limit) for the runners and the retention
// loop to return once their context ended, so the store can be closed
// under none of them.
func (s *Service) waitBackground(limit time.Duration) {
	done := make(chan struct{})
	go func() {
		s.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		s.log.Warn("background loops still running at shutdown")
	}
}

// recoverInterrupted ends every job left running by an earlier process:
// retried when its policy allows, else failed as interrupted. Each job
// thereby ends exactly one way.
func (s *Service) recoverInterrupted(ctx context.Context) error {
	jobs, err := s.st.Running(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if s.resumable(ctx, &j) {
			// A flow run, or a workflow with checkpoints: it resumes where
			// it was (its finished steps are not run again), same attempt.
			j.ScheduledFor = time.Now().UTC()
			s.log.Info("resuming an interrupted flow or workflow", "job", j.ID, "path", j.ScriptPath, "workspace", j.Workspace)
			if err := s.st.Requeue(ctx, j); err != nil {
				return err
			}
			continue
		}
		sc, _ := s.st.GetScriptByHash(ctx, j.Workspace, j.ScriptHash)
		if sc != nil {
			if delay, ok := retryDelay(retryPolicy(&j, sc), j.Attempt); ok {
				j.Attempt++
				j.ScheduledFor = time.Now().UTC().Add(delay)
				s.log.Info("requeued an interrupted job", "job", j.ID, "path", j.ScriptPath, "workspace", j.Workspace, "attempt", j.Attempt)
				if err := s.st.Requeue(ctx, j); err != nil {
					return err
				}
				continue
			}
		}
		j.Status, j.CompletedAt = store.StatusFailure, time.Now().UTC()
		j.Error = &store.JobError{Name: "Interrupted", Message: "interrupted: the server stopped while the job was running"}
		s.log.Warn("failed an interrupted job", "job", j.ID, "path", j.ScriptPath, "workspace", j.Workspace, "error", "Interrupted")
		if err := s.st.Finish(ctx, j, true); err != nil {
			return err
		}
		s.scheduledJobEnded(ctx, &j)
	}
	return nil
}

// resumable reports whether an interrupted job runs again rather than
// failing: flow runs (they resume), their steps and workflow tasks (their
// parent waits for them: they run again, at least once in all), and
// scripts that checkpointed (a workflow as code that started a task or
// finished a step resumes).
func (s *Service) resumable(ctx context.Context, j *store.Job) bool {
	if j.Kind == store.JobKindFlow || j.Task != "" || (j.StepID != "" && j.ParentJob != "") {
		return true
	}
	cps, err := s.st.Checkpoints(ctx, j.ID)
	return err == nil && len(cps) > 0
}

// runner claims and executes jobs until ctx ends (or, for a temporary
// runner, until until is closed).
func (s *Service) runner(ctx context.Context, until <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-until:
			return
		default:
		}
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		if closing {
			return
		}
		j, err := s.st.Claim(ctx, s.owner, time.Now().UTC(), s.cfg.Lease)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("claim failed", "err", err)
			}
			j = nil
		}
		if j != nil {
			s.execute(ctx, j)
			continue
		}
		wait := time.Second
		if next, err := s.st.NextScheduled(ctx); err == nil && !next.IsZero() {
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-until:
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// retryPolicy is a job's retry policy: its own (a schedule's) or its
// script's.
func retryPolicy(j *store.Job, sc *store.Script) *store.Retry {
	if j.Retry != nil {
		return j.Retry
	}
	return sc.Settings.Retry
}

// retryDelay reports whether a job that failed on attempt (0-based) may
// run again under r, and after how long.
func retryDelay(r *store.Retry, attempt int) (time.Duration, bool) {
	switch {
	case r == nil:
		return 0, false
	case r.Constant != nil:
		if attempt >= r.Constant.Attempts {
			return 0, false
		}
		return time.Duration(r.Constant.Seconds) * time.Second, true
	case r.Exponential != nil:
		x := r.Exponential
		if attempt >= x.Attempts {
			return 0, false
		}
		d := float64(max(x.Multiplier, 1)) * pow(float64(x.Seconds), attempt+1)
		if x.RandomFactor > 0 {
			d += d * float64(x.RandomFactor) / 100 * rand.Float64()
		}
		return min(time.Duration(d*float64(time.Second)), 24*time.Hour), true
	}
	return 0, false
}

func pow(b float64, n int) float64 {
	r := 1.0
	for range n {
		r *= b
		if r > 1e9 {
			break
		}
	}
	return r
}

// execute runs one claimed job to its end and records it.
func (s *Service) execute(ctx context.Context, j *store.Job) {
	defer s.notify(j.ID)
	jctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	rj := &runningJob{stop: stop}
	s.mu.Lock()
	s.running[j.ID] = rj
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, j.ID)
		s.mu.Unlock()
	}()

	fail := func(name, msg, stack string) {
		j.Status, j.CompletedAt = store.StatusFailure, time.Now().UTC()
		j.Error = &store.JobError{Name: name, Message: msg, Stack: stack}
		j.Result = nil
		s.finish(ctx, j)
	}
	if j.Kind == store.JobKindFlow {
		s.runFlowJob(ctx, jctx, j, rj)
		return
	}
	sc, err := s.st.GetScriptByHash(ctx, j.Workspace, j.ScriptHash)
	if err != nil {
		fail("ScriptNotFound", fmt.Sprintf("script version %s: %v", j.ScriptHash, err), "")
		return
	}
	if limit := sc.Settings.ConcurrencyLimit; limit > 0 {
		key := sc.Workspace + "/" + sc.Path
		s.mu.Lock()
		full := s.concurrent[key] >= limit
		if !full {
			s.concurrent[key]++
		}
		s.mu.Unlock()
		if full {
			// At the script's concurrency limit: back in the queue, shortly.
			j.ScheduledFor = time.Now().UTC().Add(concurrencyBackoff)
			if err := s.st.Requeue(ctx, *j); err != nil {
				s.log.Error("requeue at the concurrency limit failed", "job", j.ID, "err", err)
			}
			return
		}
		defer func() {
			s.mu.Lock()
			s.concurrent[key]--
			s.mu.Unlock()
			s.poke()
		}()
	}
	defer s.jobRun(j)() // logs and metrics; reads how j ended
	bs, err := s.prepared(ctx, sc)
	if err != nil {
		fail("BuildError", err.Error(), "")
		return
	}
	args, secrets, err := s.resolveArgs(ctx, j.Workspace, j.Args)
	if err != nil {
		fail("ArgumentError", err.Error(), "")
		return
	}
	var guestArgs json.RawMessage
	if j.Task != "" {
		guestArgs, err = taskArgs(sc.Language, j.Task, args)
	} else {
		guestArgs, err = bs.built.Args(args)
	}
	if err != nil {
		fail("ArgumentError", err.Error(), "")
		return
	}
	defer s.heartbeat(ctx, j)()
	caller := &jobCaller{s: s, job: j, secrets: secrets}
	rjob := runtime.Job{
		Module: bs.built.Module, Args: guestArgs, Load: bs.built.Load,
		Limits: s.limits(sc.Settings), Caller: caller, Entry: sc.Settings.Entry,
	}
	if j.Timeout > 0 {
		rjob.Limits.Timeout = j.Timeout
	}
	if sc.Settings.Warm {
		rjob.Mode = runtime.Warm
	}
	res, err := s.eng.Run(jctx, rjob)
	s.met.observeRun(res)
	if res != nil {
		if err := s.st.AppendLogs(ctx, j.ID, formatLogs(res.Logs, caller.redactions())); err != nil {
			s.log.Warn("storing logs failed", "job", j.ID, "err", err)
		}
	}
	if s.interrupted(ctx, jctx, j, rj) {
		return
	}
	if err == nil {
		j.Status, j.CompletedAt, j.Result, j.Error = store.StatusSuccess, time.Now().UTC(), res.Output, nil
		if sc.Kind == "trigger" && j.Task == "" && emptyTriggerResult(res.Output) {
			j.Status = store.StatusSkipped
		}
		s.finish(ctx, j)
		return
	}
	name, msg, stack := runtime.ErrorName(err), err.Error(), ""
	var se *runtime.ScriptError
	if errors.As(err, &se) {
		msg, stack = bs.built.MapStack(se.Message), bs.built.MapStack(se.Stack)
	}
	var te *runtime.TimeoutError
	if errors.As(err, &te) && te.Stack != "" {
		stack = bs.built.MapStack(te.Stack)
	}
	if delay, ok := retryDelay(retryPolicy(j, sc), j.Attempt); ok {
		j.Attempt++
		j.ScheduledFor = time.Now().UTC().Add(delay)
		j.Error = &store.JobError{Name: name, Message: msg, Stack: stack} // the last attempt's error, until it ends
		if err := s.st.Requeue(ctx, *j); err != nil {
			s.log.Error("requeue for retry failed", "job", j.ID, "err", err)
		}
		s.poke()
		return
	}
	fail(name, msg, stack)
}

// interrupted records a job whose run was stopped by a shutdown (requeued
// for the next process, same attempt) or a cancel, and reports whether
// it was.
func (s *Service) interrupted(ctx, jctx context.Context, j *store.Job, rj *runningJob) bool {
	switch cause := context.Cause(jctx); {
	case errors.Is(cause, errShutdown):
		j.StartedAt = time.Time{} // Requeue checks j.LeaseOwner is still ours, then clears it
		if err := s.st.Requeue(context.WithoutCancel(ctx), *j); err != nil {
			s.log.Error("requeue at shutdown failed", "job", j.ID, "err", err)
		}
		return true
	case errors.Is(cause, errCanceled):
		rj.mu.Lock()
		j.CanceledBy, j.CancelReason = rj.by, rj.reason
		rj.mu.Unlock()
		j.Status, j.CompletedAt = store.StatusCanceled, time.Now().UTC()
		j.Error = &store.JobError{Name: "Canceled", Message: j.CancelReason}
		s.finish(ctx, j)
		return true
	}
	return false
}

// heartbeat keeps a running job's lease until the returned stop is
// called.
func (s *Service) heartbeat(ctx context.Context, j *store.Job) (stop func()) {
	hbDone := make(chan struct{})
	go func() {
		t := time.NewTicker(s.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-hbDone:
				return
			case <-t.C:
				if err := s.st.Heartbeat(ctx, j.ID, s.owner, time.Now().UTC().Add(s.cfg.Lease)); err != nil {
					s.log.Warn("heartbeat failed", "job", j.ID, "err", err)
				}
			}
		}
	}()
	return func() { close(hbDone) }
}

// finish records a job's final state. Async jobs are fsync'd (so a
// completion once reported is never lost); sync ones need not be.
func (s *Service) finish(ctx context.Context, j *store.Job) {
	s.mu.Lock()
	sync := s.syncJobs[j.ID]
	delete(s.syncJobs, j.ID)
	s.mu.Unlock()
	if err := s.st.Finish(context.WithoutCancel(ctx), *j, !sync); err != nil {
		s.log.Error("recording a finished job failed", "job", j.ID, "err", err)
		return
	}
	s.scheduledJobEnded(context.WithoutCancel(ctx), j)
}

// formatLogs renders log lines as stored text, secrets redacted.
func formatLogs(lines []host.Line, redact *strings.Replacer) []byte {
	var b strings.Builder
	for _, l := range lines {
		text := l.Text
		if redact != nil {
			text = redact.Replace(text)
		}
		fmt.Fprintf(&b, "%s %-5s %s\n", l.Time.UTC().Format("2006-01-02T15:04:05.000Z"), strings.ToUpper(l.Level.String()), text)
	}
	return []byte(b.String())
}

// resolveArgs replaces top-level "$var:<path>" and "$res:<path>" string
// arguments with the variable's or resource's value, and returns the
// secret values used (to redact from logs).
func (s *Service) resolveArgs(ctx context.Context, ws string, raw json.RawMessage) (json.RawMessage, []string, error) {
	if !strings.Contains(string(raw), `"$var:`) && !strings.Contains(string(raw), `"$res:`) {
		return raw, nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, err
	}
	var secrets []string
	for k, v := range m {
		var str string
		if json.Unmarshal(v, &str) != nil {
			continue
		}
		switch {
		case strings.HasPrefix(str, "$var:"):
			vr, err := s.st.GetVariable(ctx, ws, strings.TrimPrefix(str, "$var:"))
			if err != nil {
				return nil, nil, fmt.Errorf("argument %q: variable %q: %w", k, strings.TrimPrefix(str, "$var:"), err)
			}
			if vr.Secret && vr.Value != "" {
				secrets = append(secrets, vr.Value)
			}
			m[k], _ = json.Marshal(vr.Value)
		case strings.HasPrefix(str, "$res:"):
			r, err := s.st.GetResource(ctx, ws, strings.TrimPrefix(str, "$res:"))
			if err != nil {
				return nil, nil, fmt.Errorf("argument %q: resource %q: %w", k, strings.TrimPrefix(str, "$res:"), err)
			}
			m[k] = r.Value
		}
	}
	out, err := json.Marshal(m)
	return out, secrets, err
}

// jobCaller answers a running job's host calls: state, variables,
// resources and child jobs.
type jobCaller struct {
	s   *Service
	job *store.Job

	mu      sync.Mutex
	secrets []string
	wf      workflowState // workflow-as-code checkpoints, loaded on first use
}

func (c *jobCaller) addSecret(v string) {
	if v == "" {
		return
	}
	c.mu.Lock()
	c.secrets = append(c.secrets, v)
	c.mu.Unlock()
}

func (c *jobCaller) redactions() *strings.Replacer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.secrets) == 0 {
		return nil
	}
	var pairs []string
	for _, s := range c.secrets {
		pairs = append(pairs, s, "[redacted]")
	}
	return strings.NewReplacer(pairs...)
}

// stateKey is Windmill's WM_STATE_PATH: per script path, separately for
// scheduled and manual runs.
func (c *jobCaller) stateKey() string {
	trigger := "user"
	if c.job.SchedulePath != "" {
		trigger = "schedule"
	}
	if c.job.FlowPath != "" {
		step := c.job.StepID
		if i := strings.LastIndexByte(step, '/'); i >= 0 {
			step = step[i+1:]
		}
		return c.job.FlowPath + "/" + step + "_" + trigger
	}
	return c.job.ScriptPath + "/" + trigger
}

// principal is what a job's own calls act as: its creator, in its
// workspace, without scopes.
func (c *jobCaller) principal() *Principal {
	return &Principal{Workspace: c.job.Workspace, User: c.job.CreatedBy, Role: store.RoleDeveloper}
}

func (c *jobCaller) Call(ctx context.Context, op pdk.Op, req []byte) ([]byte, error) {
	if out, ok, err := c.workflowCall(ctx, op, req); ok {
		return out, err
	}
	s, ws := c.s, c.job.Workspace
	var r struct {
		Path  string          `json:"path"`
		ID    string          `json:"id"`
		Args  map[string]any  `json:"args"`
		Value json.RawMessage `json:"value"`
		Old   json.RawMessage `json:"old"`
		New   json.RawMessage `json:"new"`
	}
	if len(req) > 0 {
		if err := json.Unmarshal(req, &r); err != nil {
			return nil, fmt.Errorf("bad request: %v", err)
		}
	}
	switch op {
	case pdk.OpStateGet:
		v, err := s.st.GetState(ctx, ws, c.stateKey())
		if errors.Is(err, store.ErrNotFound) {
			return []byte("null"), nil
		}
		return v, err
	case pdk.OpStateSet:
		if len(r.Value) == 0 {
			r.Value = json.RawMessage("null")
		}
		return []byte("{}"), s.st.SetState(ctx, ws, c.stateKey(), r.Value)
	case pdk.OpStateCAS:
		old := r.Old
		if string(old) == "null" {
			old = nil
		}
		ok, err := s.st.CompareAndSetState(ctx, ws, c.stateKey(), old, r.New)
		if err != nil {
			return nil, err
		}
		if ok {
			// The value set is the current one as of the swap; a later
			// read could already see another job's update.
			return json.Marshal(map[string]any{"swapped": true, "current": r.New})
		}
		cur, err := s.st.GetState(ctx, ws, c.stateKey())
		if errors.Is(err, store.ErrNotFound) {
			cur = json.RawMessage("null")
		} else if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"swapped": ok, "current": cur})
	case pdk.OpVariableGet:
		v, err := s.st.GetVariable(ctx, ws, r.Path)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", r.Path, err)
		}
		if v.Secret {
			c.addSecret(v.Value)
		}
		return json.Marshal(v.Value)
	case pdk.OpResourceGet:
		res, err := s.st.GetResource(ctx, ws, r.Path)
		if err != nil {
			return nil, fmt.Errorf("resource %q: %w", r.Path, err)
		}
		return res.Value, nil
	case pdk.OpRunScript, pdk.OpRunScriptAsync:
		child, err := s.Run(ctx, c.principal(), ws, RunRequest{Path: r.Path, Args: r.Args, Trigger: "child", Parent: c.job, Sync: op == pdk.OpRunScript})
		if err != nil {
			return nil, err
		}
		if op == pdk.OpRunScriptAsync {
			return json.Marshal(child.ID)
		}
		return c.wait(ctx, child.ID)
	case pdk.OpWaitJob:
		return c.wait(ctx, r.ID)
	}
	return nil, host.ErrUnsupported
}

// wait waits for a child job and returns its result (or its error). While
// it waits the parent holds no runner and no worker: both are lent to
// others.
func (c *jobCaller) wait(ctx context.Context, id string) ([]byte, error) {
	s := c.s
	giveBack := s.eng.Borrow()
	defer giveBack()
	until := make(chan struct{})
	defer close(until)
	// The lent runner runs jobs under the service's lifetime, not this
	// call's: a job it started finishes even after the parent resumes.
	go s.runner(s.root, until)
	for {
		j, err := s.Wait(ctx, c.job.Workspace, id, time.Hour)
		if err != nil {
			return nil, err
		}
		if !j.Done() {
			continue
		}
		if j.OK() {
			return j.Result, nil
		}
		msg := j.Status
		if j.Error != nil {
			msg = j.Error.Name + ": " + j.Error.Message
		}
		return nil, fmt.Errorf("child job %s failed: %s", id, msg)
	}
}

// retention deletes completed jobs past the retention period, hourly.
func (s *Service) retention(ctx context.Context) {
	if s.cfg.Retention < 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.st.PurgeJobs(ctx, time.Now().Add(-s.cfg.Retention)); err != nil && ctx.Err() == nil {
			s.log.Warn("retention purge failed", "err", err)
		} else if n > 0 {
			s.log.Info("purged completed jobs", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Drain stops claiming jobs, waits up to grace for running ones, then
// stops the rest, which are requeued for the next start.
func (s *Service) Drain(grace time.Duration) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := len(s.running)
		s.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	for _, rj := range s.running {
		rj.stop(errShutdown)
	}
	s.mu.Unlock()
	for range 250 {
		s.mu.Lock()
		n := len(s.running)
		s.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// emptyTriggerResult reports a trigger script's "nothing new": an empty
// array, null or undefined (no result). An empty object is not empty.
func emptyTriggerResult(out []byte) bool {
	t := strings.TrimSpace(string(out))
	if t == "" || t == "null" {
		return true
	}
	var a []json.RawMessage
	return json.Unmarshal(out, &a) == nil && len(a) == 0
}
