package server

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	runletv1 "github.com/runlet/runlet/gen/runlet/v1"
	"github.com/runlet/runlet/gen/runlet/v1/runletv1connect"
	"github.com/runlet/runlet/internal/store"
)

// jobAPI serves JobService.
type jobAPI struct{ *connectAPI }

var _ runletv1connect.JobServiceHandler = jobAPI{}

// runRequest is the service's RunRequest for a Connect run (trigger api).
func runRequest(path, hash, jobID string, args map[string]any, queueLimit int32) RunRequest {
	return RunRequest{Path: path, Hash: hash, Args: args, JobID: jobID, QueueLimit: int(queueLimit), Trigger: "api"}
}

func (a jobAPI) RunScript(ctx context.Context, req *connect.Request[runletv1.RunScriptRequest]) (*connect.Response[runletv1.RunScriptResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	args, err := jsonObject("args", m.GetArgs())
	if err != nil {
		return nil, err
	}
	rr := runRequest(m.GetPath(), m.GetHash(), m.GetJobId(), args, m.GetQueueLimit())
	if m.GetScheduledFor() != nil {
		if err := m.GetScheduledFor().CheckValid(); err != nil {
			return nil, invalid("scheduled_for", "scheduled_for: %v", err)
		}
		rr.ScheduledFor = m.GetScheduledFor().AsTime()
	}
	j, err := a.svc.Run(ctx, p, workspace(m.GetWorkspace()), rr)
	if err != nil {
		return nil, argField(err)
	}
	return connect.NewResponse(&runletv1.RunScriptResponse{Job: jobPB(j)}), nil
}

func (a jobAPI) RunScriptAndWait(ctx context.Context, req *connect.Request[runletv1.RunScriptAndWaitRequest]) (*connect.Response[runletv1.RunScriptAndWaitResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	args, err := jsonObject("args", m.GetArgs())
	if err != nil {
		return nil, err
	}
	rr := runRequest(m.GetPath(), m.GetHash(), m.GetJobId(), args, m.GetQueueLimit())
	rr.Sync = true
	ws := workspace(m.GetWorkspace())
	j, err := a.svc.Run(ctx, p, ws, rr)
	if err != nil {
		return nil, argField(err)
	}
	if j, err = a.svc.Wait(ctx, ws, j.ID, a.cfg.WaitLimit); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.RunScriptAndWaitResponse{Job: jobPB(j), Completed: j.Done()}), nil
}

// argField names an argument the service refused as args.<name>, the
// field it is in a run request.
func argField(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Field {
	case "", "path", "hash", "job_id", "args", "scheduled_for", "queue_limit":
		return err
	}
	c := *e
	c.Field = "args." + e.Field
	return &c
}

func (a jobAPI) GetJob(ctx context.Context, req *connect.Request[runletv1.GetJobRequest]) (*connect.Response[runletv1.GetJobResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	j, err := a.svc.GetJob(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.GetJobResponse{Job: jobPB(j)}), nil
}

func (a jobAPI) ListJobs(ctx context.Context, req *connect.Request[runletv1.ListJobsRequest]) (*connect.Response[runletv1.ListJobsResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	q := JobQuery{ScriptPath: m.GetScriptPathExact(), PathPrefix: m.GetScriptPathStart(), SchedulePath: m.GetSchedulePath(),
		ParentJob: m.GetParentJob(), Success: m.Success, Running: m.GetRunning(), Limit: int(m.GetPerPage()), Before: m.GetBefore()}
	f, err := q.Filter(workspace(m.GetWorkspace()))
	if err != nil {
		return nil, err
	}
	jobs, err := a.svc.ListJobs(ctx, p, f)
	if err != nil {
		return nil, err
	}
	out := make([]*runletv1.Job, len(jobs))
	for i := range jobs {
		out[i] = jobPB(&jobs[i])
	}
	return connect.NewResponse(&runletv1.ListJobsResponse{Jobs: out}), nil
}

func (a jobAPI) StreamLogs(ctx context.Context, req *connect.Request[runletv1.StreamLogsRequest], stream *connect.ServerStream[runletv1.StreamLogsResponse]) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	m := req.Msg
	// Once the job is found, the headers go out: a client's call returns
	// then, not at the first line.
	opened := func() error { return stream.Send(nil) }
	return a.svc.FollowLogs(ctx, p, workspace(m.GetWorkspace()), m.GetId(), int(m.GetOffset()), opened, func(b []byte, off int, done *store.Job) error {
		msg := &runletv1.StreamLogsResponse{Text: text(string(b)), Offset: int64(off)}
		if done != nil {
			msg.Job = jobPB(done)
		}
		return stream.Send(msg)
	})
}

func (a jobAPI) CancelJob(ctx context.Context, req *connect.Request[runletv1.CancelJobRequest]) (*connect.Response[runletv1.CancelJobResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := a.svc.Cancel(ctx, p, workspace(m.GetWorkspace()), m.GetId(), m.GetReason()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.CancelJobResponse{}), nil
}

var jobStatuses = map[string]runletv1.JobStatus{
	store.StatusQueued:   runletv1.JobStatus_JOB_STATUS_QUEUED,
	store.StatusRunning:  runletv1.JobStatus_JOB_STATUS_RUNNING,
	store.StatusSuccess:  runletv1.JobStatus_JOB_STATUS_SUCCESS,
	store.StatusFailure:  runletv1.JobStatus_JOB_STATUS_FAILURE,
	store.StatusCanceled: runletv1.JobStatus_JOB_STATUS_CANCELED,
	store.StatusSkipped:  runletv1.JobStatus_JOB_STATUS_SKIPPED,
}

// jobPB converts a job; a successful job carries its result, a flow run
// its progress.
func jobPB(j *store.Job) *runletv1.Job {
	out := &runletv1.Job{
		Id: j.ID, Workspace: j.Workspace, ScriptPath: j.ScriptPath, ScriptHash: j.ScriptHash, Language: j.Language,
		Args: jsonStruct(j.Args), Status: jobStatuses[j.Status], Trigger: j.Trigger, SchedulePath: j.SchedulePath,
		ParentJob: j.ParentJob, RootJob: j.RootJob, CreatedBy: j.CreatedBy, CreatedAt: timestamp(j.CreatedAt),
		ScheduledFor: timestamp(j.ScheduledFor), StartedAt: timestamp(j.StartedAt), CompletedAt: timestamp(j.CompletedAt),
		Attempt: int32(j.Attempt), CanceledBy: j.CanceledBy, CancelReason: text(j.CancelReason),
		FlowStatusJson: flowStatusJSON(j),
	}
	if j.OK() {
		out.Result = jsonValue(resultOf(j))
	}
	if e := j.Error; e != nil {
		out.Error = &runletv1.JobError{Name: text(e.Name), Message: text(e.Message), Stack: text(e.Stack)}
	}
	return out
}
