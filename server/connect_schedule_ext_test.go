package server_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	runletv1 "github.com/runlet/runlet/gen/runlet/v1"
	"github.com/runlet/runlet/gen/runlet/v1/runletv1connect"
	"github.com/runlet/runlet/server"
)

// scheduleClient is a ScheduleService client with token over Connect, or
// over gRPC when opts say so.
func (s *testServer) scheduleClient(token string, opts ...connect.ClientOption) runletv1connect.ScheduleServiceClient {
	return runletv1connect.NewScheduleServiceClient(h2c(), s.URL, append([]connect.ClientOption{connect.WithInterceptors(bearer(token))}, opts...)...)
}

func TestConnectSchedulePreview(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	ctx := context.Background()
	for name, c := range map[string]runletv1connect.ScheduleServiceClient{
		"connect": s.scheduleClient(s.Token),
		"grpc":    s.scheduleClient(s.Token, connect.WithGRPC()),
	} {
		res, err := c.PreviewSchedule(ctx, connect.NewRequest(&runletv1.PreviewScheduleRequest{
			Cron: "30 2 * * *", Timezone: "Europe/Paris", From: timestamppb.New(time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC)), Count: 2,
		}))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}
		if !slices.Equal(res.Msg.GetLocalTimes(), want) || len(res.Msg.GetTimes()) != 2 {
			t.Fatalf("%s: local times %v, want %v", name, res.Msg.GetLocalTimes(), want)
		}
		for i, ts := range res.Msg.GetTimes() {
			w, _ := time.Parse(time.RFC3339, want[i])
			if !ts.AsTime().Equal(w) {
				t.Fatalf("%s: times[%d] = %v, want %v", name, i, ts.AsTime(), w)
			}
		}
	}

	c := s.scheduleClient(s.Token)
	// Defaults: five times after now.
	before := time.Now()
	res, err := c.PreviewSchedule(ctx, connect.NewRequest(&runletv1.PreviewScheduleRequest{Cron: "0 */15 * * * *"}))
	if err != nil || len(res.Msg.GetTimes()) != 5 || !res.Msg.GetTimes()[0].AsTime().After(before) {
		t.Fatalf("defaults: %v %v", res, err)
	}
	for i := 1; i < 5; i++ {
		if d := res.Msg.GetTimes()[i].AsTime().Sub(res.Msg.GetTimes()[i-1].AsTime()); d != 15*time.Minute {
			t.Fatalf("defaults: step %v, want 15m", d)
		}
	}

	for _, tt := range []struct {
		name  string
		req   *runletv1.PreviewScheduleRequest
		field string
	}{
		{"bad expression", &runletv1.PreviewScheduleRequest{Cron: "* * * 13 *"}, "cron"},
		{"L is refused", &runletv1.PreviewScheduleRequest{Cron: "0 0 L * *"}, "cron"},
		{"unknown zone", &runletv1.PreviewScheduleRequest{Cron: "* * * * *", Timezone: "Nowhere/Land"}, "timezone"},
		{"too many", &runletv1.PreviewScheduleRequest{Cron: "* * * * *", Count: 5000}, "count"},
	} {
		_, err := c.PreviewSchedule(ctx, connect.NewRequest(tt.req))
		if fields := wantCode(t, tt.name, err, connect.CodeInvalidArgument); !slices.Equal(fields, []string{tt.field}) {
			t.Fatalf("%s: field violations %v, want [%s]", tt.name, fields, tt.field)
		}
	}
	_, err = s.scheduleClient("").PreviewSchedule(ctx, connect.NewRequest(&runletv1.PreviewScheduleRequest{Cron: "* * * * *"}))
	wantCode(t, "no token", err, connect.CodeUnauthenticated)
}

func TestConnectSchedules(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	ctx := context.Background()
	c := s.scheduleClient(s.Token)
	s.push(t, "f/ops/greet", "typescript", greetTS, nil)
	s.push(t, "f/ops/alert", "typescript", handlerTS, nil)

	settings := &runletv1.ScheduleSettings{
		Cron: "0 0 9 * * 1-5", Timezone: "America/New_York", ScriptPath: "f/ops/greet", Args: args(t, map[string]any{"name": "weekday"}),
		Summary: "weekday mornings", NoOverlap: true, CatchUp: "skip",
		Retry:    &runletv1.Retry{Constant: &runletv1.ConstantRetry{Attempts: 1, Seconds: 5}},
		Handlers: &runletv1.ScheduleHandlers{OnFailure: "f/ops/alert", OnFailureTimes: 3, OnFailureExtraArgs: args(t, map[string]any{"team": "ops"})},
	}
	cr, err := c.CreateSchedule(ctx, connect.NewRequest(&runletv1.CreateScheduleRequest{Path: "f/ops/mornings", Settings: settings}))
	if err != nil {
		t.Fatal(err)
	}
	sc := cr.Msg.GetSchedule()
	if sc.GetPath() != "f/ops/mornings" || sc.GetWorkspace() != "main" || !sc.GetEnabled() || sc.GetScriptPath() != "f/ops/greet" ||
		sc.GetArgs().GetFields()["name"].GetStringValue() != "weekday" || sc.GetHandlers().GetOnFailureTimes() != 3 ||
		sc.GetHandlers().GetOnFailureExtraArgs().GetFields()["team"].GetStringValue() != "ops" || sc.GetRetry().GetConstant().GetSeconds() != 5 {
		t.Fatalf("created: %v", sc)
	}
	_, err = c.CreateSchedule(ctx, connect.NewRequest(&runletv1.CreateScheduleRequest{Path: "f/ops/mornings", Settings: settings}))
	wantCode(t, "create again", err, connect.CodeAlreadyExists)

	gr, err := c.GetSchedule(ctx, connect.NewRequest(&runletv1.GetScheduleRequest{Path: "f/ops/mornings"}))
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	next := gr.Msg.GetSchedule().GetNextFire().AsTime().In(ny)
	if next.Hour() != 9 || next.Minute() != 0 || next.Weekday() == time.Saturday || next.Weekday() == time.Sunday || !next.After(time.Now()) {
		t.Fatalf("next fire %v: want a weekday 09:00 in New York", next)
	}

	settings.Cron, settings.Handlers, settings.Enabled = "0 0 10 * * 1-5", nil, new(bool)
	ur, err := c.UpdateSchedule(ctx, connect.NewRequest(&runletv1.UpdateScheduleRequest{Path: "f/ops/mornings", Settings: settings}))
	if err != nil {
		t.Fatal(err)
	}
	if sc := ur.Msg.GetSchedule(); sc.GetCron() != "0 0 10 * * 1-5" || sc.GetEnabled() || sc.GetHandlers() != nil || sc.GetNextFire() != nil {
		t.Fatalf("updated: %v", sc)
	}
	er, err := c.SetScheduleEnabled(ctx, connect.NewRequest(&runletv1.SetScheduleEnabledRequest{Path: "f/ops/mornings", Enabled: true}))
	if err != nil || !er.Msg.GetSchedule().GetEnabled() || er.Msg.GetSchedule().GetNextFire() == nil {
		t.Fatalf("enable: %v %v", er, err)
	}

	lr, err := c.ListSchedules(ctx, connect.NewRequest(&runletv1.ListSchedulesRequest{PathStart: "f/ops/"}))
	if err != nil || len(lr.Msg.GetSchedules()) != 1 || lr.Msg.GetSchedules()[0].GetNextFire() == nil {
		t.Fatalf("list: %v %v", lr, err)
	}
	rr, err := c.ListScheduleRuns(ctx, connect.NewRequest(&runletv1.ListScheduleRunsRequest{Path: "f/ops/mornings"}))
	if err != nil || len(rr.Msg.GetJobs()) != 0 {
		t.Fatalf("runs: %v %v", rr, err)
	}
	_, err = c.ListScheduleRuns(ctx, connect.NewRequest(&runletv1.ListScheduleRunsRequest{Path: "f/ops/mornings", PerPage: -1}))
	wantCode(t, "runs per_page", err, connect.CodeInvalidArgument)

	// Refusals name the request's fields.
	for _, tt := range []struct {
		name     string
		settings *runletv1.ScheduleSettings
		field    string
	}{
		{"bad cron", &runletv1.ScheduleSettings{Cron: "61 * * * *", ScriptPath: "f/ops/greet", Args: args(t, map[string]any{"name": "x"})}, "settings.cron"},
		{"bad zone", &runletv1.ScheduleSettings{Cron: "* * * * *", Timezone: "Nowhere/Land", ScriptPath: "f/ops/greet", Args: args(t, map[string]any{"name": "x"})}, "settings.timezone"},
		{"missing argument", &runletv1.ScheduleSettings{Cron: "* * * * *", ScriptPath: "f/ops/greet"}, "settings.args.name"},
	} {
		_, err := c.CreateSchedule(ctx, connect.NewRequest(&runletv1.CreateScheduleRequest{Path: "f/ops/bad", Settings: tt.settings}))
		if fields := wantCode(t, tt.name, err, connect.CodeInvalidArgument); !slices.Equal(fields, []string{tt.field}) {
			t.Fatalf("%s: field violations %v, want [%s]", tt.name, fields, tt.field)
		}
	}
	_, err = c.CreateSchedule(ctx, connect.NewRequest(&runletv1.CreateScheduleRequest{Path: "f/ops/flowy",
		Settings: &runletv1.ScheduleSettings{Cron: "* * * * *", FlowPath: "f/ops/flow"}}))
	if err == nil {
		t.Fatal("a schedule of a missing flow was accepted")
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() == connect.CodeInternal {
		t.Fatalf("flow: %v", err)
	}

	if _, err := c.DeleteSchedule(ctx, connect.NewRequest(&runletv1.DeleteScheduleRequest{Path: "f/ops/mornings"})); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSchedule(ctx, connect.NewRequest(&runletv1.GetScheduleRequest{Path: "f/ops/mornings"}))
	wantCode(t, "get deleted", err, connect.CodeNotFound)
}
