package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	runletv1 "github.com/runlet/runlet/gen/runlet/v1"
	"github.com/runlet/runlet/gen/runlet/v1/runletv1connect"
	"github.com/runlet/runlet/internal/store"
)

// scheduleAPI serves ScheduleService.
type scheduleAPI struct{ *connectAPI }

var _ runletv1connect.ScheduleServiceHandler = scheduleAPI{}

// scheduleSpec converts a request's settings; field errors name the
// request's fields (settings.args, …).
func scheduleSpec(path string, m *runletv1.ScheduleSettings) (ScheduleSpec, error) {
	sp := ScheduleSpec{
		Path: path, Cron: m.GetCron(), CronVersion: m.GetCronVersion(), Timezone: m.GetTimezone(),
		ScriptPath: m.GetScriptPath(), FlowPath: m.GetFlowPath(), Enabled: m.Enabled, Summary: m.GetSummary(),
		NoOverlap: m.GetNoOverlap(), CatchUp: m.GetCatchUp(), Retry: retryIn(m.GetRetry()),
	}
	var err error
	if sp.Args, err = jsonObject("settings.args", m.GetArgs()); err != nil {
		return sp, err
	}
	if t := m.GetPausedUntil(); t != nil {
		if err := t.CheckValid(); err != nil {
			return sp, invalid("settings.paused_until", "settings.paused_until: %v", err)
		}
		sp.PausedUntil = t.AsTime()
	}
	h := m.GetHandlers()
	sp.OnFailure, sp.OnFailureTimes = h.GetOnFailure(), int(h.GetOnFailureTimes())
	sp.OnRecovery, sp.OnSuccess = h.GetOnRecovery(), h.GetOnSuccess()
	for _, x := range []struct {
		field string
		st    *structpb.Struct
		dst   *map[string]any
	}{
		{"settings.handlers.on_failure_extra_args", h.GetOnFailureExtraArgs(), &sp.OnFailureExtraArgs},
		{"settings.handlers.on_recovery_extra_args", h.GetOnRecoveryExtraArgs(), &sp.OnRecoveryExtra},
		{"settings.handlers.on_success_extra_args", h.GetOnSuccessExtraArgs(), &sp.OnSuccessExtra},
	} {
		if *x.dst, err = jsonObject(x.field, x.st); err != nil {
			return sp, err
		}
	}
	return sp, nil
}

// settingsField names the request field of a setting the service
// refused (it names them as REST does): "schedule" is settings.cron,
// handlers sit in settings.handlers, the rest in settings.
func settingsField(err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Field == "" || e.Field == "path" || strings.HasPrefix(e.Field, "settings.") {
		return err
	}
	c := *e
	switch f := e.Field; {
	case f == "schedule":
		c.Field = "settings.cron"
	case strings.HasPrefix(f, "on_"):
		c.Field = "settings.handlers." + f
	default:
		c.Field = "settings." + f
	}
	return &c
}

func (a scheduleAPI) CreateSchedule(ctx context.Context, req *connect.Request[runletv1.CreateScheduleRequest]) (*connect.Response[runletv1.CreateScheduleResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	sp, err := scheduleSpec(m.GetPath(), m.GetSettings())
	if err != nil {
		return nil, err
	}
	sc, err := a.svc.CreateSchedule(ctx, p, workspace(m.GetWorkspace()), sp)
	if err != nil {
		return nil, settingsField(err)
	}
	return connect.NewResponse(&runletv1.CreateScheduleResponse{Schedule: schedulePB(sc, a.svc.nextFire(sc))}), nil
}

func (a scheduleAPI) UpdateSchedule(ctx context.Context, req *connect.Request[runletv1.UpdateScheduleRequest]) (*connect.Response[runletv1.UpdateScheduleResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	sp, err := scheduleSpec(m.GetPath(), m.GetSettings())
	if err != nil {
		return nil, err
	}
	sc, err := a.svc.UpdateSchedule(ctx, p, workspace(m.GetWorkspace()), m.GetPath(), sp)
	if err != nil {
		return nil, settingsField(err)
	}
	return connect.NewResponse(&runletv1.UpdateScheduleResponse{Schedule: schedulePB(sc, a.svc.nextFire(sc))}), nil
}

func (a scheduleAPI) SetScheduleEnabled(ctx context.Context, req *connect.Request[runletv1.SetScheduleEnabledRequest]) (*connect.Response[runletv1.SetScheduleEnabledResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	sc, err := a.svc.SetScheduleEnabled(ctx, p, workspace(m.GetWorkspace()), m.GetPath(), m.GetEnabled())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.SetScheduleEnabledResponse{Schedule: schedulePB(sc, a.svc.nextFire(sc))}), nil
}

func (a scheduleAPI) DeleteSchedule(ctx context.Context, req *connect.Request[runletv1.DeleteScheduleRequest]) (*connect.Response[runletv1.DeleteScheduleResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.DeleteSchedule(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPath()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.DeleteScheduleResponse{}), nil
}

func (a scheduleAPI) GetSchedule(ctx context.Context, req *connect.Request[runletv1.GetScheduleRequest]) (*connect.Response[runletv1.GetScheduleResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	sc, next, err := a.svc.GetSchedule(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPath())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.GetScheduleResponse{Schedule: schedulePB(sc, next)}), nil
}

func (a scheduleAPI) ListSchedules(ctx context.Context, req *connect.Request[runletv1.ListSchedulesRequest]) (*connect.Response[runletv1.ListSchedulesResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.ListSchedules(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPathStart())
	if err != nil {
		return nil, err
	}
	out := make([]*runletv1.Schedule, len(list))
	for i := range list {
		out[i] = schedulePB(&list[i], a.svc.nextFire(&list[i]))
	}
	return connect.NewResponse(&runletv1.ListSchedulesResponse{Schedules: out}), nil
}

// PreviewSchedule needs a token, like every call, but reads no workspace.
func (a scheduleAPI) PreviewSchedule(ctx context.Context, req *connect.Request[runletv1.PreviewScheduleRequest]) (*connect.Response[runletv1.PreviewScheduleResponse], error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	m := req.Msg
	var from time.Time
	if t := m.GetFrom(); t != nil {
		if err := t.CheckValid(); err != nil {
			return nil, invalid("from", "from: %v", err)
		}
		from = t.AsTime()
	}
	ts, err := previewTimes(m.GetCron(), m.GetCronVersion(), m.GetTimezone(), from, int(m.GetCount()))
	if err != nil {
		return nil, previewField(err)
	}
	out := &runletv1.PreviewScheduleResponse{Times: make([]*timestamppb.Timestamp, len(ts)), LocalTimes: make([]string, len(ts))}
	for i, t := range ts {
		out.Times[i], out.LocalTimes[i] = timestamppb.New(t), t.Format(time.RFC3339)
	}
	return connect.NewResponse(out), nil
}

// previewField names the request field of a preview refusal: the REST
// body's "schedule" is PreviewScheduleRequest's cron.
func previewField(err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Field != "schedule" {
		return err
	}
	c := *e
	c.Field = "cron"
	return &c
}

func (a scheduleAPI) ListScheduleRuns(ctx context.Context, req *connect.Request[runletv1.ListScheduleRunsRequest]) (*connect.Response[runletv1.ListScheduleRunsResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	limit := int(m.GetPerPage())
	switch {
	case limit == 0:
		limit = defaultScheduleRuns
	case limit < 1 || limit > maxScheduleRuns:
		return nil, invalid("per_page", "per_page: want 1 to %d (0: %d)", maxScheduleRuns, defaultScheduleRuns)
	}
	jobs, err := a.svc.ScheduleRuns(ctx, p, workspace(m.GetWorkspace()), m.GetPath(), limit)
	if err != nil {
		return nil, err
	}
	out := make([]*runletv1.Job, len(jobs))
	for i := range jobs {
		out[i] = jobPB(&jobs[i])
	}
	return connect.NewResponse(&runletv1.ListScheduleRunsResponse{Jobs: out}), nil
}

// schedulePB converts a schedule; next is its next fire time (zero: none).
func schedulePB(sc *store.Schedule, next time.Time) *runletv1.Schedule {
	out := &runletv1.Schedule{
		Workspace: sc.Workspace, Path: sc.Path, Cron: sc.Cron, CronVersion: sc.CronVersion, Timezone: sc.Timezone,
		ScriptPath: sc.ScriptPath, FlowPath: sc.FlowPath, Args: mapStruct(sc.Args), Enabled: sc.Enabled,
		PausedUntil: timestamp(sc.PausedUntil), Summary: sc.Summary, NoOverlap: sc.NoOverlap, CatchUp: sc.CatchUp,
		Retry: retryPB(sc.Retry), CreatedBy: sc.CreatedBy, CreatedAt: timestamp(sc.CreatedAt), EditedBy: sc.EditedBy, EditedAt: timestamp(sc.EditedAt),
		LastTick: timestamp(sc.LastTick), ConsecutiveFailures: int32(sc.ConsecutiveFailures), Error: text(sc.LastError),
		NextFire: timestamp(next),
	}
	if sc.OnFailure != "" || sc.OnRecovery != "" || sc.OnSuccess != "" {
		out.Handlers = &runletv1.ScheduleHandlers{
			OnFailure: sc.OnFailure, OnFailureTimes: int32(sc.OnFailureTimes), OnFailureExtraArgs: mapStruct(sc.OnFailureExtraArgs),
			OnRecovery: sc.OnRecovery, OnRecoveryExtraArgs: mapStruct(sc.OnRecoveryExtra),
			OnSuccess: sc.OnSuccess, OnSuccessExtraArgs: mapStruct(sc.OnSuccessExtra),
		}
	}
	return out
}

// mapStruct converts a JSON object held as a map (numbers may be
// json.Number); nil for none.
func mapStruct(m map[string]any) *structpb.Struct {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return jsonStruct(b)
}
