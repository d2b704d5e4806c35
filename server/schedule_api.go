package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/cron"
	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/internal/scriptbuild"
	"github.com/runlet/runlet/internal/store"
)

// Job triggers of schedules: a tick's job, and a handler's job (which
// never counts toward the schedule's failures).
const (
	triggerSchedule        = "schedule"
	triggerScheduleHandler = "schedule_handler"
)

// Catch-up policies for ticks missed while no scheduler ran.
const (
	catchUpSkip = "skip" // resume at the next future tick (default)
	catchUpOnce = "once" // one job, for the latest missed tick
)

// Schedule limits.
const (
	maxScheduleSummary = 1000
	maxOnFailureTimes  = 1000
	defaultRunsLimit   = 20
	maxRunsLimit       = 1000
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

// errFlows refuses a flow as a schedule handler.
func errFlows(field string) *Error {
	return invalid(field, "%s: a schedule handler must be a script (flows as handlers are not supported)", field)
}

// checkSchedule validates spec and returns the schedule's settings as a
// record (without run state). Every refusal names its field: path,
// schedule (the cron expression), cron_version, timezone, script_path,
// flow_path, args (or the argument at fault), paused_until, summary,
// catch_up, retry, on_failure, on_failure_times, on_recovery,
// on_success. The principal must be allowed to run the target and the
// handlers.
func (s *Service) checkSchedule(ctx context.Context, p *Principal, ws string, spec ScheduleSpec) (*store.Schedule, error) {
	switch spec.CronVersion {
	case "", "v1", "v2":
	default:
		return nil, invalid("cron_version", "cron_version %q: want v1 or v2 (or empty: v2)", spec.CronVersion)
	}
	cs, err := cron.Parse(spec.Cron, spec.CronVersion)
	if err != nil {
		return nil, invalid("schedule", "schedule: %v", err)
	}
	tz := spec.Timezone
	if tz == "" {
		tz = "UTC"
	}
	if tz == "Local" {
		return nil, invalid("timezone", "timezone: name an IANA zone such as Europe/Paris (Local depends on the server)")
	}
	loc, err := loadZone(tz)
	if err != nil {
		return nil, invalid("timezone", "timezone %q is not an IANA time zone: %v", tz, err)
	}
	now := s.cfg.Clock.Now()
	if !spec.PausedUntil.IsZero() && (spec.PausedUntil.Year() < 1970 || spec.PausedUntil.Year() > 9999) {
		return nil, invalid("paused_until", "paused_until %s: want a time between 1970 and 9999", spec.PausedUntil.Format(time.RFC3339))
	}
	from := now
	if spec.PausedUntil.After(from) {
		from = spec.PausedUntil
	}
	if _, err := cs.Next(from, loc); err != nil {
		return nil, invalid("schedule", "schedule %q never fires within five years of %s", spec.Cron, from.UTC().Format(time.RFC3339))
	}
	if len(spec.Summary) > maxScheduleSummary {
		return nil, invalid("summary", "summary: longer than %d bytes", maxScheduleSummary)
	}
	catchUp := spec.CatchUp
	switch catchUp {
	case "":
		catchUp = catchUpSkip
	case catchUpSkip, catchUpOnce:
	default:
		return nil, invalid("catch_up", "catch_up %q: want skip (resume at the next tick) or once (one run for the missed ticks)", spec.CatchUp)
	}
	if err := checkRetry(spec.Retry); err != nil {
		return nil, err
	}
	times := spec.OnFailureTimes
	if times < 0 || times > maxOnFailureTimes {
		return nil, invalid("on_failure_times", "on_failure_times: want 1 to %d (0: 1)", maxOnFailureTimes)
	}
	times = max(times, 1)

	var schema *jsonschema.Schema
	switch {
	case spec.FlowPath != "" && spec.ScriptPath != "":
		return nil, invalid("flow_path", "flow_path: a schedule runs a script or a flow, not both")
	case spec.FlowPath != "":
		if err := checkPath("flow_path", spec.FlowPath); err != nil {
			return nil, err
		}
		if err := p.authorize(ws, actRun, "flows", spec.FlowPath); err != nil {
			return nil, err
		}
		f, err := s.st.GetFlow(ctx, ws, spec.FlowPath, 0)
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalid("flow_path", "flow_path: no flow at %q", spec.FlowPath)
		} else if err != nil {
			return nil, err
		}
		schema = flowSchema(f)
	case spec.ScriptPath == "":
		return nil, invalid("script_path", "script_path: the script (or flow_path: the flow) to run is required")
	default:
		sc, err := s.scheduleTarget(ctx, p, ws, "script_path", spec.ScriptPath)
		if err != nil {
			return nil, err
		}
		schema, _, _ = scriptbuild.Schema(sc.Language, pathFile(sc.Path, sc.Language), sc.Content, sc.Schema)
	}
	// The arguments must fit the script's or flow's parameters now; they
	// are checked again at each tick against the latest version.
	{
		if _, err := declaredArgs(schema, spec.Args); err != nil {
			var e *Error
			if errors.As(err, &e) && e.Field != "args" {
				e.Field = "args." + e.Field
			}
			return nil, err
		}
	}
	rec := &store.Schedule{
		Workspace: ws, Path: spec.Path, Cron: spec.Cron, CronVersion: spec.CronVersion, Timezone: tz,
		ScriptPath: spec.ScriptPath, FlowPath: spec.FlowPath, Args: spec.Args, PausedUntil: spec.PausedUntil.UTC(),
		Summary: spec.Summary, NoOverlap: spec.NoOverlap, CatchUp: catchUp, Retry: spec.Retry,
		OnFailureTimes: times, OnFailureExtraArgs: spec.OnFailureExtraArgs,
		OnRecoveryExtra: spec.OnRecoveryExtra, OnSuccessExtra: spec.OnSuccessExtra,
	}
	for _, h := range []struct {
		field, path string
		dst         *string
	}{
		{"on_failure", spec.OnFailure, &rec.OnFailure},
		{"on_recovery", spec.OnRecovery, &rec.OnRecovery},
		{"on_success", spec.OnSuccess, &rec.OnSuccess},
	} {
		path := strings.TrimPrefix(h.path, "script/") // Windmill's prefix
		if path == "" {
			continue
		}
		if strings.HasPrefix(path, "flow/") {
			return nil, errFlows(h.field)
		}
		if _, err := s.scheduleTarget(ctx, p, ws, h.field, path); err != nil {
			return nil, err
		}
		*h.dst = path
	}
	return rec, nil
}

// scheduleTarget checks a script a schedule runs: a valid path the
// principal may run, holding a script.
func (s *Service) scheduleTarget(ctx context.Context, p *Principal, ws, field, path string) (*store.Script, error) {
	if err := checkPath(field, path); err != nil {
		return nil, err
	}
	if err := p.authorize(ws, actRun, "scripts", path); err != nil {
		return nil, err
	}
	sc, err := s.st.GetScript(ctx, ws, path)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid(field, "%s: no script at %q", field, path)
	}
	return sc, err
}

// CreateSchedule validates and stores a schedule and arms it. Its first
// tick is the first after now: earlier ones are not missed ticks.
func (s *Service) CreateSchedule(ctx context.Context, p *Principal, ws string, spec ScheduleSpec) (*store.Schedule, error) {
	if err := checkPath("path", spec.Path); err != nil {
		return nil, err
	}
	if err := p.authorize(ws, actWrite, "schedules", spec.Path); err != nil {
		return nil, err
	}
	rec, err := s.checkSchedule(ctx, p, ws, spec)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now().UTC()
	rec.Enabled = spec.Enabled == nil || *spec.Enabled
	rec.CreatedBy, rec.CreatedAt, rec.EditedBy, rec.EditedAt = p.User, time.Now().UTC(), p.User, time.Now().UTC()
	rec.LastTick = now
	if err := s.st.CreateSchedule(ctx, *rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errf(http.StatusConflict, "conflict", "a schedule exists at %q", spec.Path)
		}
		return nil, err
	}
	s.sched.changed(rec)
	return rec, nil
}

// UpdateSchedule replaces a schedule's settings, keeping its run state
// and creation fields. A change of timing (expression, dialect, zone,
// pause or enabling) takes effect from now: ticks before it are not
// missed ticks.
func (s *Service) UpdateSchedule(ctx context.Context, p *Principal, ws, path string, spec ScheduleSpec) (*store.Schedule, error) {
	if err := p.authorize(ws, actWrite, "schedules", path); err != nil {
		return nil, err
	}
	if spec.Path != "" && spec.Path != path {
		return nil, invalid("path", "path: a schedule cannot be renamed (%q to %q)", path, spec.Path)
	}
	spec.Path = path
	in, err := s.checkSchedule(ctx, p, ws, spec)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now().UTC()
	rec, err := s.st.UpdateSchedule(ctx, ws, path, func(cur *store.Schedule) error {
		next := *in
		next.Enabled = cur.Enabled
		if spec.Enabled != nil {
			next.Enabled = *spec.Enabled
		}
		next.CreatedBy, next.CreatedAt = cur.CreatedBy, cur.CreatedAt
		next.EditedBy, next.EditedAt = p.User, time.Now().UTC()
		next.LastTick, next.LastJob, next.LastError = cur.LastTick, cur.LastJob, cur.LastError
		next.ConsecutiveFailures, next.LastFailedJob = cur.ConsecutiveFailures, cur.LastFailedJob
		if (timingKey(&next) != timingKey(cur) || next.Enabled && !cur.Enabled) && now.After(next.LastTick) {
			next.LastTick = now
		}
		*cur = next
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no schedule at %q", path)
	}
	if err != nil {
		return nil, err
	}
	s.sched.changed(rec)
	return rec, nil
}

// SetScheduleEnabled enables or disables a schedule. Enabling resumes at
// the next tick after now (ticks while disabled are not missed).
func (s *Service) SetScheduleEnabled(ctx context.Context, p *Principal, ws, path string, enabled bool) (*store.Schedule, error) {
	if err := p.authorize(ws, actWrite, "schedules", path); err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now().UTC()
	rec, err := s.st.UpdateSchedule(ctx, ws, path, func(cur *store.Schedule) error {
		if enabled && !cur.Enabled && now.After(cur.LastTick) {
			cur.LastTick = now
		}
		if cur.Enabled != enabled {
			cur.EditedBy, cur.EditedAt = p.User, time.Now().UTC()
		}
		cur.Enabled = enabled
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no schedule at %q", path)
	}
	if err != nil {
		return nil, err
	}
	s.sched.changed(rec)
	return rec, nil
}

// DeleteSchedule deletes a schedule (its past jobs stay).
func (s *Service) DeleteSchedule(ctx context.Context, p *Principal, ws, path string) error {
	if err := p.authorize(ws, actWrite, "schedules", path); err != nil {
		return err
	}
	if err := s.st.DeleteSchedule(ctx, ws, path); errors.Is(err, store.ErrNotFound) {
		return notFound("no schedule at %q", path)
	} else if err != nil {
		return err
	}
	s.sched.deleted(ws, path)
	return nil
}

// GetSchedule returns a schedule with its next fire time: the first tick
// after now (and not before paused_until); zero when the schedule is
// disabled or never fires again.
func (s *Service) GetSchedule(ctx context.Context, p *Principal, ws, path string) (*store.Schedule, time.Time, error) {
	if err := p.authorize(ws, actRead, "schedules", path); err != nil {
		return nil, time.Time{}, err
	}
	rec, err := s.st.GetSchedule(ctx, ws, path)
	if errors.Is(err, store.ErrNotFound) {
		return nil, time.Time{}, notFound("no schedule at %q", path)
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	return rec, s.nextFire(rec), nil
}

// nextFire is a schedule's next tick after the scheduler's now.
func (s *Service) nextFire(rec *store.Schedule) time.Time {
	if !rec.Enabled {
		return time.Time{}
	}
	cs, loc, err := scheduleTiming(rec)
	if err != nil {
		return time.Time{}
	}
	from := fireBase(rec)
	if now := s.cfg.Clock.Now(); now.After(from) {
		from = now
	}
	next, err := cs.Next(from, loc)
	if err != nil {
		return time.Time{}
	}
	return next
}

// ListSchedules lists the schedules under prefix the principal may read,
// sorted by path.
func (s *Service) ListSchedules(ctx context.Context, p *Principal, ws, prefix string) ([]store.Schedule, error) {
	if err := p.authorize(ws, actRead, "schedules", ""); err != nil && len(p.Scopes) == 0 {
		return nil, err
	}
	all, err := s.st.ListSchedules(ctx, ws, prefix)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, sc := range all {
		if p.authorize(ws, actRead, "schedules", sc.Path) == nil {
			out = append(out, sc)
		}
	}
	return out, nil
}

// ScheduleRuns lists a schedule's recent jobs (its ticks' and its
// handlers'), newest first; limit 0 is 20, at most 1000. The jobs of a
// deleted schedule are still listed.
func (s *Service) ScheduleRuns(ctx context.Context, p *Principal, ws, path string, limit int) ([]store.Job, error) {
	if err := p.authorize(ws, actRead, "schedules", path); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultRunsLimit
	}
	return s.st.ListJobs(ctx, store.JobFilter{Workspace: ws, SchedulePath: path, Limit: min(limit, maxRunsLimit)})
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
