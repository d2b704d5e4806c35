package server

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/cron"
	"github.com/runlet/runlet/internal/store"
)

// The schedule endpoints, Windmill-shaped: schedules/* under /api/w/{ws}/
// and the global POST /api/schedules/preview. Paths in URLs keep their
// slashes (schedules/get/f/etl/nightly).

// scheduleRoutes registers the schedule endpoints.
func (s *Server) scheduleRoutes(mux *http.ServeMux) {
	h := s.handler(mux)
	const w = "/api/w/{ws}/"
	h("POST "+w+"schedules/create", s.createSchedule)
	h("POST "+w+"schedules/update/{path...}", s.updateSchedule)
	h("POST "+w+"schedules/setenabled/{path...}", s.setScheduleEnabled)
	h("DELETE "+w+"schedules/delete/{path...}", s.deleteSchedule)
	h("GET "+w+"schedules/get/{path...}", s.getSchedule)
	h("GET "+w+"schedules/exists/{path...}", s.scheduleExists)
	h("GET "+w+"schedules/list", s.listSchedules)
	h("GET "+w+"schedules/runs/{path...}", s.scheduleRuns)
	h("POST /api/schedules/preview", s.previewSchedule)
}

// Preview defaults and limits.
const (
	defaultPreviewCount = 5
	defaultScheduleRuns = 20
	maxScheduleRuns     = 1000
)

// newSchedule is Windmill's NewSchedule (create) and EditSchedule (update,
// which has no path and may leave out script_path and is_flow: the
// schedule keeps its target). A flow is script_path with is_flow true.
// Either no_flow_overlap (Windmill's name) or no_overlap turns overlap
// protection on. Handler paths may carry Windmill's "script/" prefix.
// Fields Windmill has and runlet does not (tag, ws_error_handler_muted,
// on_failure_exact, on_recovery_times) are ignored.
type newSchedule struct {
	Path               string         `json:"path"`
	Schedule           string         `json:"schedule"`
	Timezone           string         `json:"timezone"`
	CronVersion        string         `json:"cron_version"`
	ScriptPath         string         `json:"script_path"`
	IsFlow             bool           `json:"is_flow"`
	Args               map[string]any `json:"args"`
	Enabled            *bool          `json:"enabled"`
	PausedUntil        string         `json:"paused_until"` // RFC 3339
	Summary            string         `json:"summary"`
	NoFlowOverlap      bool           `json:"no_flow_overlap"`
	NoOverlap          bool           `json:"no_overlap"`
	CatchUp            string         `json:"catch_up"`
	Retry              *store.Retry   `json:"retry"`
	OnFailure          string         `json:"on_failure"`
	OnFailureTimes     int            `json:"on_failure_times"`
	OnFailureExtraArgs map[string]any `json:"on_failure_extra_args"`
	OnRecovery         string         `json:"on_recovery"`
	OnRecoveryExtra    map[string]any `json:"on_recovery_extra_args"`
	OnSuccess          string         `json:"on_success"`
	OnSuccessExtra     map[string]any `json:"on_success_extra_args"`
}

// spec is the service's ScheduleSpec for the schedule at path.
func (b *newSchedule) spec(path string) (ScheduleSpec, error) {
	sp := ScheduleSpec{
		Path: path, Cron: b.Schedule, CronVersion: b.CronVersion, Timezone: b.Timezone, Args: b.Args,
		Enabled: b.Enabled, Summary: b.Summary, NoOverlap: b.NoFlowOverlap || b.NoOverlap, CatchUp: b.CatchUp,
		Retry: b.Retry, OnFailure: handlerPath(b.OnFailure), OnFailureTimes: b.OnFailureTimes,
		OnFailureExtraArgs: b.OnFailureExtraArgs, OnRecovery: handlerPath(b.OnRecovery), OnRecoveryExtra: b.OnRecoveryExtra,
		OnSuccess: handlerPath(b.OnSuccess), OnSuccessExtra: b.OnSuccessExtra,
	}
	if b.IsFlow {
		sp.FlowPath = b.ScriptPath
	} else {
		sp.ScriptPath = b.ScriptPath
	}
	if b.PausedUntil != "" {
		t, err := time.Parse(time.RFC3339, b.PausedUntil)
		if err != nil {
			return sp, invalid("paused_until", "paused_until %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", b.PausedUntil)
		}
		sp.PausedUntil = t
	}
	return sp, nil
}

// handlerPath drops the "script/" prefix Windmill writes before a handler
// script's path ("flow/…" is left for the service to refuse).
func handlerPath(p string) string { return strings.TrimPrefix(p, "script/") }

// scheduleView is a schedule as the REST API shows it: Windmill's
// Schedule (script_path + is_flow, no_flow_overlap), plus runlet's run
// state and next_fire (the service's, as GetSchedule reports it), times in
// the schedule's zone.
type scheduleView struct {
	Workspace           string         `json:"workspace_id"`
	Path                string         `json:"path"`
	Schedule            string         `json:"schedule"`
	Timezone            string         `json:"timezone"`
	CronVersion         string         `json:"cron_version,omitempty"`
	ScriptPath          string         `json:"script_path"`
	IsFlow              bool           `json:"is_flow"`
	Args                map[string]any `json:"args"`
	Enabled             bool           `json:"enabled"`
	PausedUntil         *time.Time     `json:"paused_until,omitempty"`
	Summary             string         `json:"summary,omitempty"`
	NoFlowOverlap       bool           `json:"no_flow_overlap"`
	CatchUp             string         `json:"catch_up,omitempty"`
	Retry               *store.Retry   `json:"retry,omitempty"`
	OnFailure           string         `json:"on_failure,omitempty"`
	OnFailureTimes      int            `json:"on_failure_times,omitempty"`
	OnFailureExtraArgs  map[string]any `json:"on_failure_extra_args,omitempty"`
	OnRecovery          string         `json:"on_recovery,omitempty"`
	OnRecoveryExtra     map[string]any `json:"on_recovery_extra_args,omitempty"`
	OnSuccess           string         `json:"on_success,omitempty"`
	OnSuccessExtra      map[string]any `json:"on_success_extra_args,omitempty"`
	CreatedBy           string         `json:"created_by"`
	CreatedAt           time.Time      `json:"created_at"`
	EditedBy            string         `json:"edited_by,omitempty"`
	EditedAt            time.Time      `json:"edited_at"`
	LastTick            *time.Time     `json:"last_tick,omitempty"`
	ConsecutiveFailures int            `json:"consecutive_failures,omitempty"`
	Error               string         `json:"error,omitempty"`
	NextFire            *time.Time     `json:"next_fire,omitempty"`
}

func viewSchedule(sc *store.Schedule, next time.Time) scheduleView {
	loc := zone(sc.Timezone)
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.In(loc)
		return &t
	}
	v := scheduleView{
		Workspace: sc.Workspace, Path: sc.Path, Schedule: sc.Cron, Timezone: sc.Timezone, CronVersion: sc.CronVersion,
		ScriptPath: sc.ScriptPath, Args: sc.Args, Enabled: sc.Enabled, PausedUntil: at(sc.PausedUntil),
		Summary: sc.Summary, NoFlowOverlap: sc.NoOverlap, CatchUp: sc.CatchUp, Retry: sc.Retry,
		OnFailure: sc.OnFailure, OnFailureTimes: sc.OnFailureTimes, OnFailureExtraArgs: sc.OnFailureExtraArgs,
		OnRecovery: sc.OnRecovery, OnRecoveryExtra: sc.OnRecoveryExtra, OnSuccess: sc.OnSuccess, OnSuccessExtra: sc.OnSuccessExtra,
		CreatedBy: sc.CreatedBy, CreatedAt: sc.CreatedAt, EditedBy: sc.EditedBy, EditedAt: sc.EditedAt, LastTick: at(sc.LastTick),
		ConsecutiveFailures: sc.ConsecutiveFailures, Error: sc.LastError, NextFire: at(next),
	}
	if sc.FlowPath != "" {
		v.ScriptPath, v.IsFlow = sc.FlowPath, true
	}
	if v.Args == nil {
		v.Args = map[string]any{}
	}
	return v
}

// zone is the location named tz; UTC when it does not load (the service
// refuses such zones, so only a store from elsewhere holds one).
func zone(tz string) *time.Location {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

// previewTimes is PreviewSchedule with the API's defaults (n 0: 5, from
// zero: now), its times in the zone; an expression that does not fire
// within the search horizon is an invalid argument.
func previewTimes(expr, version, tz string, from time.Time, n int) ([]time.Time, error) {
	if n == 0 {
		n = defaultPreviewCount
	}
	if from.IsZero() {
		from = time.Now()
	}
	ts, err := PreviewSchedule(expr, version, tz, from, n)
	if errors.Is(err, cron.ErrNever) {
		return nil, invalid("schedule", "schedule %q never fires within five years of %s", expr, from.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return nil, err
	}
	loc := zone(tz)
	for i := range ts {
		ts[i] = ts[i].In(loc)
	}
	return ts, nil
}

// createSchedule: NewSchedule → 201 with the path as text (as Windmill).
func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in newSchedule
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sp, err := in.spec(in.Path)
	if err != nil {
		return err
	}
	sc, err := s.svc.CreateSchedule(r.Context(), p, r.PathValue("ws"), sp)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, sc.Path)
	return nil
}

// updateSchedule: EditSchedule (or a whole NewSchedule with the same path)
// → 200 with the path as text. The settings are replaced; enabled only
// when given; without script_path the target is kept.
func (s *Server) updateSchedule(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in newSchedule
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ws, path := r.PathValue("ws"), r.PathValue("path")
	if in.Path != "" && in.Path != path {
		return invalid("path", "path: the body names %q but the URL %q (a schedule cannot be renamed)", in.Path, path)
	}
	sp, err := in.spec(path)
	if err != nil {
		return err
	}
	if in.ScriptPath == "" {
		cur, _, err := s.svc.GetSchedule(r.Context(), p, ws, path)
		if err != nil {
			return err
		}
		sp.ScriptPath, sp.FlowPath = cur.ScriptPath, cur.FlowPath
	}
	sc, err := s.svc.UpdateSchedule(r.Context(), p, ws, path, sp)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, sc.Path)
	return nil
}

// setScheduleEnabled: {"enabled": bool} → the schedule.
func (s *Server) setScheduleEnabled(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Enabled == nil {
		return invalid("enabled", `enabled: required ({"enabled": true} or false)`)
	}
	sc, err := s.svc.SetScheduleEnabled(r.Context(), p, r.PathValue("ws"), r.PathValue("path"), *in.Enabled)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewSchedule(sc, s.svc.nextFire(sc)))
	return nil
}

// deleteSchedule → 200 with the path as text.
func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request, p *Principal) error {
	path := r.PathValue("path")
	if err := s.svc.DeleteSchedule(r.Context(), p, r.PathValue("ws"), path); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, path)
	return nil
}

// getSchedule → the schedule with next_fire.
func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request, p *Principal) error {
	sc, next, err := s.svc.GetSchedule(r.Context(), p, r.PathValue("ws"), r.PathValue("path"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewSchedule(sc, next))
	return nil
}

// scheduleExists → true or false.
func (s *Server) scheduleExists(w http.ResponseWriter, r *http.Request, p *Principal) error {
	_, _, err := s.svc.GetSchedule(r.Context(), p, r.PathValue("ws"), r.PathValue("path"))
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, true)
	case apiError(err).Status == http.StatusNotFound:
		writeJSON(w, http.StatusOK, false)
	default:
		return err
	}
	return nil
}

// listSchedules: ?path_start= → the schedules, each with next_fire.
func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request, p *Principal) error {
	list, err := s.svc.ListSchedules(r.Context(), p, r.PathValue("ws"), r.URL.Query().Get("path_start"))
	if err != nil {
		return err
	}
	out := make([]scheduleView, len(list))
	for i := range list {
		out[i] = viewSchedule(&list[i], s.svc.nextFire(&list[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// scheduleRuns: ?per_page= (1 to 1000, default 20) → the schedule's
// recent jobs, newest first, as jobs/list shows them.
func (s *Server) scheduleRuns(w http.ResponseWriter, r *http.Request, p *Principal) error {
	limit := defaultScheduleRuns
	if v := r.URL.Query().Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxScheduleRuns {
			return invalid("per_page", "per_page: want an integer from 1 to %d", maxScheduleRuns)
		}
		limit = n
	}
	jobs, err := s.svc.ScheduleRuns(r.Context(), p, r.PathValue("ws"), r.PathValue("path"), limit)
	if err != nil {
		return err
	}
	out := make([]jobView, len(jobs))
	for i := range jobs {
		out[i] = viewJob(&jobs[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// previewSchedule: {"schedule","timezone","cron_version"?,"from"?,"count"?}
// → the next fire times as RFC 3339 strings in the zone's offset. Any
// valid token may ask; nothing is read or stored.
func (s *Server) previewSchedule(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in struct {
		Schedule    string `json:"schedule"`
		Timezone    string `json:"timezone"`
		CronVersion string `json:"cron_version"`
		From        string `json:"from"`
		Count       int    `json:"count"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var from time.Time
	if in.From != "" {
		t, err := time.Parse(time.RFC3339, in.From)
		if err != nil {
			return invalid("from", "from %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", in.From)
		}
		from = t
	}
	ts, err := previewTimes(in.Schedule, in.CronVersion, in.Timezone, from, in.Count)
	if err != nil {
		return err
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
