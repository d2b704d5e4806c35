package server

import (
	"context"
	"net/http"
	"time"

	"github.com/runlet/runlet/internal/cron"
	"github.com/runlet/runlet/internal/store"
)

// ScheduleSpec is a schedule to create or update (every field; an update
// replaces the schedule's settings, keeping its run state).
type ScheduleSpec struct {
	Path               string
	Cron               string
	CronVersion        string
	Timezone           string
	ScriptPath         string
	FlowPath           string
	Args               map[string]any
	Enabled            *bool // nil: true on create, unchanged on update
	PausedUntil        time.Time
	Summary            string
	NoOverlap          bool
	CatchUp            string
	Retry              *store.Retry
	OnFailure          string
	OnFailureTimes     int
	OnFailureExtraArgs map[string]any
	OnRecovery         string
	OnRecoveryExtra    map[string]any
	OnSuccess          string
	OnSuccessExtra     map[string]any
}

var errSchedulesPending = errf(http.StatusNotImplemented, "unimplemented", "schedules are being built")

// CreateSchedule validates and stores a schedule and arms it.
func (s *Service) CreateSchedule(ctx context.Context, p *Principal, ws string, spec ScheduleSpec) (*store.Schedule, error) {
	return nil, errSchedulesPending
}

// UpdateSchedule replaces a schedule's settings.
func (s *Service) UpdateSchedule(ctx context.Context, p *Principal, ws, path string, spec ScheduleSpec) (*store.Schedule, error) {
	return nil, errSchedulesPending
}

// SetScheduleEnabled enables or disables a schedule.
func (s *Service) SetScheduleEnabled(ctx context.Context, p *Principal, ws, path string, enabled bool) (*store.Schedule, error) {
	return nil, errSchedulesPending
}

// DeleteSchedule deletes a schedule (its past jobs stay).
func (s *Service) DeleteSchedule(ctx context.Context, p *Principal, ws, path string) error {
	return errSchedulesPending
}

// GetSchedule returns a schedule with its next fire time.
func (s *Service) GetSchedule(ctx context.Context, p *Principal, ws, path string) (*store.Schedule, time.Time, error) {
	return nil, time.Time{}, errSchedulesPending
}

// ListSchedules lists schedules under prefix.
func (s *Service) ListSchedules(ctx context.Context, p *Principal, ws, prefix string) ([]store.Schedule, error) {
	return nil, errSchedulesPending
}

// ScheduleRuns lists a schedule's recent jobs, newest first.
func (s *Service) ScheduleRuns(ctx context.Context, p *Principal, ws, path string, limit int) ([]store.Job, error) {
	return nil, errSchedulesPending
}

// PreviewSchedule returns the next n fire times of an expression in a
// zone after from, without saving anything.
func PreviewSchedule(expr, version, tz string, from time.Time, n int) ([]time.Time, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, invalid("timezone", "timezone %q: %v", tz, err)
	}
	if n <= 0 || n > 1000 {
		return nil, invalid("count", "count: want 1 to 1000")
	}
	sc, err := cron.Parse(expr, version)
	if err != nil {
		return nil, invalid("schedule", "%v", err)
	}
	return sc.Preview(from, loc, n)
}
