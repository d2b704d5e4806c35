package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/runlet/runlet/internal/store"
)

// scheduledJobEnded keeps a schedule's failure streak and runs its
// handlers when one of its ticks' jobs ends (after its last retry). A
// failure counts, a success resets the streak, a cancellation does
// neither and runs no handler. Handler jobs (trigger "schedule_handler")
// never count.
//
// Handlers are scripts run as the schedule's last editor with these
// arguments (Windmill's, so its hub templates work), plus the handler's
// extra arguments; a documented argument wins over an extra one with the
// same name, and, as for any run, a script only receives the arguments
// its main declares (one that declares none receives them all):
//
// on_failure — when a job fails and the streak of consecutive failures
// reaches on_failure_times (default 1; it runs again at each further
// failure of the streak):
//
//	workspace_id  string   the workspace
//	job_id        string   the failed job
//	path          string   the script the schedule runs
//	is_flow       bool     false (flows are not available yet)
//	schedule_path string   the schedule
//	error         object   {"name", "message", "stack"} of the failure
//	started_at    string   when the failed job started (RFC 3339, UTC)
//	failed_times  number   the consecutive failures so far
//
// on_recovery — when a job succeeds after a streak of at least
// on_failure_times failures (the streak that ran, or would have run,
// on_failure):
//
//	workspace_id, job_id (the successful job), path, is_flow, schedule_path
//	error              object  the last failure's {"name", "message", "stack"}; null if that job was purged
//	error_started_at   string  when the last failed job started; null if purged
//	error_job_id       string  the last failed job
//	failed_times       number  the length of the streak that ended
//	success_times      number  1
//	success_result     any     the successful job's result
//	success_started_at string  when it started
//
// on_success — after every successful job:
//
//	workspace_id, job_id, path, is_flow, schedule_path
//	success_result     any     the job's result
//	success_started_at string  when it started
//
// A handler job's id derives from the job that triggered it, so it is
// created once. If the process stops between recording the job's end and
// enqueuing the handler, that handler run is lost (the streak is not).
func (s *Service) scheduledJobEnded(ctx context.Context, j *store.Job) {
	if j.Trigger != triggerSchedule || j.SchedulePath == "" {
		return
	}
	failed := j.Status == store.StatusFailure
	if !failed && j.Status != store.StatusSuccess {
		return
	}
	var streak int
	var lastFailed string
	var rec store.Schedule
	errUnchanged := errors.New("unchanged")
	up, err := s.st.UpdateSchedule(ctx, j.Workspace, j.SchedulePath, func(sc *store.Schedule) error {
		streak, lastFailed = sc.ConsecutiveFailures, sc.LastFailedJob
		if !failed && sc.ConsecutiveFailures == 0 {
			rec = *sc
			return errUnchanged // the common case writes nothing
		}
		if failed {
			sc.ConsecutiveFailures++
			sc.LastFailedJob = j.ID
		} else {
			sc.ConsecutiveFailures = 0
		}
		return nil
	})
	switch {
	case err == nil:
		rec = *up
	case errors.Is(err, errUnchanged):
	case errors.Is(err, store.ErrNotFound):
		return // deleted since
	default:
		s.log.Error("recording a scheduled job's outcome failed", "schedule", j.SchedulePath, "job", j.ID, "err", err)
		return
	}
	base := map[string]any{
		"workspace_id": j.Workspace, "job_id": j.ID, "path": j.ScriptPath,
		"is_flow": false, "schedule_path": j.SchedulePath,
	}
	times := max(rec.OnFailureTimes, 1)
	if failed {
		if rec.OnFailure != "" && rec.ConsecutiveFailures >= times {
			base["error"] = errorArg(j.Error)
			base["started_at"] = timeArg(j.StartedAt)
			base["failed_times"] = rec.ConsecutiveFailures
			s.runHandler(ctx, &rec, j, "on_failure", rec.OnFailure, base, rec.OnFailureExtraArgs)
		}
		return
	}
	var result any
	if len(j.Result) > 0 {
		json.Unmarshal(j.Result, &result)
	}
	base["success_result"] = result
	base["success_started_at"] = timeArg(j.StartedAt)
	if rec.OnRecovery != "" && streak >= times {
		args := map[string]any{"error": nil, "error_started_at": nil, "error_job_id": lastFailed, "failed_times": streak, "success_times": 1}
		if lastFailed != "" {
			if fj, err := s.st.GetJob(ctx, j.Workspace, lastFailed); err == nil {
				args["error"], args["error_started_at"] = errorArg(fj.Error), timeArg(fj.StartedAt)
			}
		}
		for k, v := range base {
			args[k] = v
		}
		s.runHandler(ctx, &rec, j, "on_recovery", rec.OnRecovery, args, rec.OnRecoveryExtra)
	}
	if rec.OnSuccess != "" {
		s.runHandler(ctx, &rec, j, "on_success", rec.OnSuccess, base, rec.OnSuccessExtra)
	}
}

func errorArg(e *store.JobError) any {
	if e == nil {
		return map[string]any{"name": "Error", "message": "", "stack": ""}
	}
	return map[string]any{"name": e.Name, "message": e.Message, "stack": e.Stack}
}

func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// runHandler queues one handler job; a refusal is logged and kept as the
// schedule's error.
func (s *Service) runHandler(ctx context.Context, rec *store.Schedule, j *store.Job, kind, path string, base, extra map[string]any) {
	all := make(map[string]any, len(base)+len(extra))
	for k, v := range extra {
		all[k] = v
	}
	for k, v := range base {
		all[k] = v
	}
	// As decoded JSON (numbers as float64), like any request's arguments.
	var args map[string]any
	if b, err := json.Marshal(all); err == nil {
		json.Unmarshal(b, &args)
	}
	id := derivedID(j.CompletedAt, "handler", kind, j.ID)
	_, err := s.Run(ctx, scheduleActor(rec), rec.Workspace, RunRequest{
		Path: path, Args: args, JobID: id, Trigger: triggerScheduleHandler, SchedulePath: rec.Path,
	})
	var ae *Error
	if err == nil || errors.As(err, &ae) && ae.Status == 409 {
		return
	}
	s.log.Warn("schedule handler not run", "schedule", rec.Path, "handler", kind, "script", path, "job", j.ID, "err", err)
	msg := fmt.Sprintf("%s handler %s for job %s: %v", kind, path, j.ID, err)
	if _, err := s.st.UpdateSchedule(ctx, rec.Workspace, rec.Path, func(sc *store.Schedule) error {
		sc.LastError = msg
		return nil
	}); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("recording a schedule error failed", "schedule", rec.Path, "err", err)
	}
}
