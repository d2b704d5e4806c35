package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Schedule is a stored schedule (schedules/get, schedules/list). JSON
// values (args, retry, handler extra args) are kept as sent, so a
// read-modify-write through Edit loses nothing.
type Schedule struct {
	Path                string          `json:"path"`
	Schedule            string          `json:"schedule"` // the cron expression
	Timezone            string          `json:"timezone"` // IANA; "" is UTC
	CronVersion         string          `json:"cron_version,omitempty"`
	ScriptPath          string          `json:"script_path"` // the flow's path when IsFlow
	IsFlow              bool            `json:"is_flow"`
	Args                json.RawMessage `json:"args,omitempty"`
	Enabled             bool            `json:"enabled"`
	PausedUntil         time.Time       `json:"paused_until,omitzero"`
	Summary             string          `json:"summary,omitempty"`
	NoOverlap           bool            `json:"no_flow_overlap"`
	CatchUp             string          `json:"catch_up,omitempty"` // skip or once
	Retry               json.RawMessage `json:"retry,omitempty"`
	OnFailure           string          `json:"on_failure,omitempty"`
	OnFailureTimes      int             `json:"on_failure_times,omitempty"`
	OnFailureExtraArgs  json.RawMessage `json:"on_failure_extra_args,omitempty"`
	OnRecovery          string          `json:"on_recovery,omitempty"`
	OnRecoveryExtraArgs json.RawMessage `json:"on_recovery_extra_args,omitempty"`
	OnSuccess           string          `json:"on_success,omitempty"`
	OnSuccessExtraArgs  json.RawMessage `json:"on_success_extra_args,omitempty"`
	CreatedBy           string          `json:"created_by"`
	CreatedAt           time.Time       `json:"created_at"`
	EditedAt            time.Time       `json:"edited_at,omitzero"`
	LastTick            time.Time       `json:"last_tick,omitzero"`
	ConsecutiveFailures int             `json:"consecutive_failures,omitempty"`
	Error               string          `json:"error,omitempty"` // the last scheduling error
	// NextFire is when it fires next, in its zone; zero when disabled.
	NextFire time.Time `json:"next_fire,omitzero"`
}

// NewSchedule is the body of schedules/create and schedules/update
// (Windmill's NewSchedule). An update replaces every setting, except that
// a nil Enabled leaves it as it is: read the schedule and change its Edit
// to change a few.
type NewSchedule struct {
	Path                string          `json:"path,omitempty"` // create only
	Schedule            string          `json:"schedule"`
	Timezone            string          `json:"timezone"`
	CronVersion         string          `json:"cron_version,omitempty"` // v1 or v2 (default)
	ScriptPath          string          `json:"script_path"`
	IsFlow              bool            `json:"is_flow,omitempty"`
	Args                json.RawMessage `json:"args,omitempty"` // a JSON object
	Enabled             *bool           `json:"enabled,omitempty"`
	PausedUntil         time.Time       `json:"paused_until,omitzero"`
	Summary             string          `json:"summary,omitempty"`
	NoOverlap           bool            `json:"no_flow_overlap,omitempty"`
	CatchUp             string          `json:"catch_up,omitempty"`
	Retry               json.RawMessage `json:"retry,omitempty"`
	OnFailure           string          `json:"on_failure,omitempty"`
	OnFailureTimes      int             `json:"on_failure_times,omitempty"`
	OnFailureExtraArgs  json.RawMessage `json:"on_failure_extra_args,omitempty"`
	OnRecovery          string          `json:"on_recovery,omitempty"`
	OnRecoveryExtraArgs json.RawMessage `json:"on_recovery_extra_args,omitempty"`
	OnSuccess           string          `json:"on_success,omitempty"`
	OnSuccessExtraArgs  json.RawMessage `json:"on_success_extra_args,omitempty"`
}

// Edit is the schedule's settings as an update body (Enabled nil: left as
// it is).
func (s *Schedule) Edit() NewSchedule {
	return NewSchedule{
		Schedule: s.Schedule, Timezone: s.Timezone, CronVersion: s.CronVersion, ScriptPath: s.ScriptPath, IsFlow: s.IsFlow,
		Args: s.Args, PausedUntil: s.PausedUntil, Summary: s.Summary, NoOverlap: s.NoOverlap, CatchUp: s.CatchUp,
		Retry: s.Retry, OnFailure: s.OnFailure, OnFailureTimes: s.OnFailureTimes, OnFailureExtraArgs: s.OnFailureExtraArgs,
		OnRecovery: s.OnRecovery, OnRecoveryExtraArgs: s.OnRecoveryExtraArgs, OnSuccess: s.OnSuccess, OnSuccessExtraArgs: s.OnSuccessExtraArgs,
	}
}

// CreateSchedule creates the schedule at s.Path; one that exists is
// ErrConflict.
func (c *Client) CreateSchedule(ctx context.Context, s NewSchedule) error {
	return c.doJSON(ctx, request{method: http.MethodPost, endpoint: "schedules/create", body: s}, nil)
}

// UpdateSchedule replaces the settings of the schedule at path; a missing
// one is ErrNotFound.
func (c *Client) UpdateSchedule(ctx context.Context, path string, s NewSchedule) error {
	s.Path = ""
	return c.doJSON(ctx, request{method: http.MethodPost, endpoint: "schedules/update/" + pathEscape(path), body: s}, nil)
}

// SetScheduleEnabled enables or disables the schedule at path and returns it.
func (c *Client) SetScheduleEnabled(ctx context.Context, path string, enabled bool) (*Schedule, error) {
	var out Schedule
	err := c.doJSON(ctx, request{method: http.MethodPost, endpoint: "schedules/setenabled/" + pathEscape(path), body: map[string]bool{"enabled": enabled}}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSchedule deletes the schedule at path (the jobs it started stay).
func (c *Client) DeleteSchedule(ctx context.Context, path string) error {
	return c.doJSON(ctx, request{method: http.MethodDelete, endpoint: "schedules/delete/" + pathEscape(path)}, nil)
}

// GetSchedule returns the schedule at path with its next fire time.
func (c *Client) GetSchedule(ctx context.Context, path string) (*Schedule, error) {
	var out Schedule
	if err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "schedules/get/" + pathEscape(path)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ScheduleExists reports whether there is a schedule at path.
func (c *Client) ScheduleExists(ctx context.Context, path string) (bool, error) {
	var out bool
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "schedules/exists/" + pathEscape(path)}, &out)
	return out, err
}

// ListSchedules lists the schedules whose paths start with pathStart.
func (c *Client) ListSchedules(ctx context.Context, pathStart string) ([]Schedule, error) {
	var q url.Values
	if pathStart != "" {
		q = url.Values{"path_start": {pathStart}}
	}
	var out []Schedule
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "schedules/list", query: q}, &out)
	return out, err
}

// ScheduleRuns lists the jobs the schedule at path started, newest first:
// at most limit (0: the server's default, 20).
func (c *Client) ScheduleRuns(ctx context.Context, path string, limit int) ([]Job, error) {
	var q url.Values
	if limit > 0 {
		q = url.Values{"per_page": {strconv.Itoa(limit)}}
	}
	var out []Job
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "schedules/runs/" + pathEscape(path), query: q}, &out)
	return out, err
}
