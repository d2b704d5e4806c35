package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Job statuses.
const (
	StatusQueued   = "queued"
	StatusRunning  = "running"
	StatusSuccess  = "success"
	StatusFailure  = "failure"
	StatusCanceled = "canceled"
	// StatusSkipped is a run that ended without doing anything: a trigger
	// that found nothing new, a flow its trigger step stopped.
	StatusSkipped = "skipped"
)

// Job is a queued, running or completed job (jobs_u/get, jobs/list).
type Job struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"` // QueuedJob or CompletedJob
	Status         string          `json:"status"`
	ScriptPath     string          `json:"script_path"`
	ScriptHash     string          `json:"script_hash"`
	Language       string          `json:"language,omitempty"`
	Args           json.RawMessage `json:"args,omitempty"`
	Trigger        string          `json:"trigger"` // api, webhook, cli, schedule, child
	SchedulePath   string          `json:"schedule_path,omitempty"`
	ParentJob      string          `json:"parent_job,omitempty"`
	CreatedBy      string          `json:"created_by"`
	CreatedAt      time.Time       `json:"created_at"`
	ScheduledFor   time.Time       `json:"scheduled_for,omitzero"`
	StartedAt      time.Time       `json:"started_at,omitzero"`
	CompletedAt    time.Time       `json:"completed_at,omitzero"`
	DurationMS     int64           `json:"duration_ms,omitempty"`
	Running        bool            `json:"running"`
	Success        bool            `json:"success"`
	Canceled       bool            `json:"canceled"`
	Skipped        bool            `json:"is_skipped,omitempty"`
	CanceledReason string          `json:"canceled_reason,omitempty"`
	Attempt        int             `json:"attempt,omitempty"`
	Result         json.RawMessage `json:"result,omitempty"` // a failed job's is {"error":{...}}
	// JobKind is script or flow; a flow run carries its progress.
	JobKind     string      `json:"job_kind,omitempty"`
	FlowVersion int64       `json:"flow_version,omitempty"`
	FlowStatus  *FlowStatus `json:"flow_status,omitempty"`
}

// State is the job's status, derived from its flags when the server did not
// send one.
func (j *Job) State() string {
	switch {
	case j.Status != "":
		return j.Status
	case j.Canceled:
		return StatusCanceled
	case j.Type == "CompletedJob" && j.Skipped:
		return StatusSkipped
	case j.Type == "CompletedJob" && j.Success:
		return StatusSuccess
	case j.Type == "CompletedJob":
		return StatusFailure
	case j.Running:
		return StatusRunning
	}
	return StatusQueued
}

// Done reports whether the job reached a final status.
func (j *Job) Done() bool {
	s := j.State()
	return s == StatusSuccess || s == StatusFailure || s == StatusCanceled || s == StatusSkipped
}

// JobUpdate is a running job's progress (jobs_u/getupdate).
type JobUpdate struct {
	Running   bool   `json:"running"`
	Completed bool   `json:"completed"`
	NewLogs   string `json:"new_logs"`
	LogOffset int    `json:"log_offset"` // pass back to get the logs after these
}

// JobFilter selects jobs for ListJobs; zero fields match everything.
type JobFilter struct {
	ScriptPath string // exact
	Limit      int    // at most this many, newest first; 0: the server's default
}

// RunScript queues a job of the script at path with args (a JSON object;
// nil means none) and returns the job's id.
func (c *Client) RunScript(ctx context.Context, path string, args json.RawMessage) (string, error) {
	id, err := c.doText(ctx, request{method: http.MethodPost, endpoint: "jobs/run/p/" + pathEscape(path), body: argsBody(args)})
	return strings.TrimSpace(id), err
}

// RunScriptWaitResult runs the script at path and waits, up to the server's
// wait limit, for the result. A job still running at that limit is not an
// error: result is nil and pending is the job's id (see WaitJob). A failed
// job is a *JobError.
func (c *Client) RunScriptWaitResult(ctx context.Context, path string, args json.RawMessage) (result json.RawMessage, pending string, err error) {
	return c.runWaitResult(ctx, "jobs/run_wait_result/p/"+pathEscape(path), args)
}

// RunScriptWait runs the script at path and waits for its result however
// long the job takes (or until ctx ends). A failed job is a *JobError.
func (c *Client) RunScriptWait(ctx context.Context, path string, args json.RawMessage) (json.RawMessage, error) {
	res, pending, err := c.RunScriptWaitResult(ctx, path, args)
	if err != nil || pending == "" {
		return res, err
	}
	return c.WaitJob(ctx, pending)
}

// WaitJob polls a job until it completes and returns its result. A failed
// or canceled job is a *JobError.
func (c *Client) WaitJob(ctx context.Context, id string) (json.RawMessage, error) {
	offset := 0
	for {
		u, err := c.JobUpdate(ctx, id, offset)
		if err != nil {
			return nil, err
		}
		if u.Completed {
			break
		}
		offset = u.LogOffset
		if err := c.sleep(ctx); err != nil {
			return nil, err
		}
	}
	return c.finalResult(ctx, id)
}

// finalResult fetches a completed job's status and result.
func (c *Client) finalResult(ctx context.Context, id string) (json.RawMessage, error) {
	job, err := c.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	res, err := c.CompletedResult(ctx, id)
	if err != nil {
		return nil, err
	}
	if st := job.State(); st == StatusSuccess || st == StatusSkipped {
		return res, nil
	}
	je, ok := jobError(res)
	if !ok {
		je = &JobError{Name: "Error", Message: "job " + job.State()}
		if job.State() == StatusCanceled {
			je.Name, je.Message = "Canceled", "canceled"
			if job.CanceledReason != "" {
				je.Message += ": " + job.CanceledReason
			}
		}
	}
	je.JobID = id
	return nil, je
}

// sleep waits one poll interval.
func (c *Client) sleep(ctx context.Context) error {
	t := time.NewTimer(c.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ListJobs lists jobs, newest first.
func (c *Client) ListJobs(ctx context.Context, f JobFilter) ([]Job, error) {
	q := url.Values{}
	if f.ScriptPath != "" {
		q.Set("script_path_exact", f.ScriptPath)
	}
	if f.Limit > 0 {
		q.Set("per_page", strconv.Itoa(f.Limit))
	}
	var out []Job
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "jobs/list", query: q}, &out)
	return out, err
}

// GetJob returns the job with id.
func (c *Client) GetJob(ctx context.Context, id string) (*Job, error) {
	var out Job
	if err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "jobs_u/get/" + url.PathEscape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// JobLogs returns the job's logs so far.
func (c *Client) JobLogs(ctx context.Context, id string) (string, error) {
	return c.doText(ctx, request{method: http.MethodGet, endpoint: "jobs_u/get_logs/" + url.PathEscape(id)})
}

// JobUpdate returns the job's progress and its logs from byte logOffset on.
func (c *Client) JobUpdate(ctx context.Context, id string, logOffset int) (*JobUpdate, error) {
	q := url.Values{"log_offset": {strconv.Itoa(logOffset)}}
	var out JobUpdate
	if err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "jobs_u/getupdate/" + url.PathEscape(id), query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FollowLogs writes the job's logs to w as they come, polling until the job
// completes (or ctx ends).
func (c *Client) FollowLogs(ctx context.Context, id string, w io.Writer) error {
	offset := 0
	for {
		u, err := c.JobUpdate(ctx, id, offset)
		if err != nil {
			return err
		}
		if u.NewLogs != "" {
			if _, err := io.WriteString(w, u.NewLogs); err != nil {
				return err
			}
		}
		if u.LogOffset > offset {
			offset = u.LogOffset
		}
		if u.Completed {
			return nil
		}
		if err := c.sleep(ctx); err != nil {
			return err
		}
	}
}

// CompletedResult returns a completed job's result (a failed job's is its
// {"error":{...}} document). A job not completed yet is ErrNotFound.
func (c *Client) CompletedResult(ctx context.Context, id string) (json.RawMessage, error) {
	return c.doRaw(ctx, request{method: http.MethodGet, endpoint: "jobs_u/completed/get_result/" + url.PathEscape(id)})
}

// CancelJob cancels a queued or running job.
func (c *Client) CancelJob(ctx context.Context, id, reason string) error {
	body := struct {
		Reason string `json:"reason"`
	}{reason}
	return c.doJSON(ctx, request{method: http.MethodPost, endpoint: "jobs_u/queue/cancel/" + url.PathEscape(id), body: body}, nil)
}

// argsBody is the JSON body for a run: the args object, {} when none.
func argsBody(args json.RawMessage) json.RawMessage {
	if len(args) == 0 {
		return json.RawMessage("{}")
	}
	return args
}
