package client_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/client"
	"github.com/runlet/runlet/internal/client/clienttest"
)

func TestSchedules(t *testing.T) {
	t.Parallel()
	srv, c, ctx := setup(t, nil)
	paused := time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC)
	ns := client.NewSchedule{
		Path: "f/ops/nightly", Schedule: "0 30 2 * * *", Timezone: "Europe/Paris", ScriptPath: "f/ops/greet",
		Args: json.RawMessage(`{"name":"night","n":12345678901234567890}`), PausedUntil: paused, Summary: "nightly",
		NoOverlap: true, CatchUp: "once", Retry: json.RawMessage(`{"exponential":{"attempts":3,"multiplier":2,"seconds":1}}`),
		OnFailure: "f/ops/alert", OnFailureTimes: 2, OnFailureExtraArgs: json.RawMessage(`{"channel":"#ops"}`),
	}
	if err := c.CreateSchedule(ctx, ns); err != nil {
		t.Fatal(err)
	}
	req := last(t, srv, "/schedules/create")
	jsonEqual(t, req.Body, `{"path":"f/ops/nightly","schedule":"0 30 2 * * *","timezone":"Europe/Paris","script_path":"f/ops/greet",
		"args":{"name":"night","n":12345678901234567890},"paused_until":"2026-12-24T18:00:00Z","summary":"nightly","no_flow_overlap":true,
		"catch_up":"once","retry":{"exponential":{"attempts":3,"multiplier":2,"seconds":1}},"on_failure":"f/ops/alert",
		"on_failure_times":2,"on_failure_extra_args":{"channel":"#ops"}}`)
	if req.Path != "/api/w/main/schedules/create" || req.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %s %v", req.Path, req.Header)
	}
	if err := c.CreateSchedule(ctx, ns); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("create again: %v", err)
	}

	s, err := c.GetSchedule(ctx, "f/ops/nightly")
	if err != nil {
		t.Fatal(err)
	}
	if s.Path != "f/ops/nightly" || s.Schedule != "0 30 2 * * *" || s.ScriptPath != "f/ops/greet" || s.IsFlow || !s.Enabled ||
		!s.PausedUntil.Equal(paused) || !s.NoOverlap || s.OnFailureTimes != 2 || s.CreatedBy != "admin" {
		t.Fatalf("get: %+v", s)
	}
	if want, _ := time.Parse(time.RFC3339, clienttest.NextFire); !s.NextFire.Equal(want) || s.NextFire.Format(time.RFC3339) != clienttest.NextFire {
		t.Fatalf("next fire %v, want %s with its offset", s.NextFire, clienttest.NextFire)
	}
	// Edit round-trips every setting.
	e := s.Edit()
	e.Schedule = "0 0 3 * * *"
	if err := c.UpdateSchedule(ctx, "f/ops/nightly", e); err != nil {
		t.Fatal(err)
	}
	req = last(t, srv, "/schedules/update/f/ops/nightly")
	jsonEqual(t, req.Body, `{"schedule":"0 0 3 * * *","timezone":"Europe/Paris","script_path":"f/ops/greet",
		"args":{"name":"night","n":12345678901234567890},"paused_until":"2026-12-24T18:00:00Z","summary":"nightly","no_flow_overlap":true,
		"catch_up":"once","retry":{"exponential":{"attempts":3,"multiplier":2,"seconds":1}},"on_failure":"f/ops/alert",
		"on_failure_times":2,"on_failure_extra_args":{"channel":"#ops"}}`)
	if err := c.UpdateSchedule(ctx, "f/ops/none", e); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}

	s, err = c.SetScheduleEnabled(ctx, "f/ops/nightly", false)
	if err != nil || s.Enabled || !s.NextFire.IsZero() {
		t.Fatalf("disable: %+v %v", s, err)
	}
	jsonEqual(t, last(t, srv, "/schedules/setenabled/f/ops/nightly").Body, `{"enabled":false}`)

	for path, want := range map[string]bool{"f/ops/nightly": true, "f/ops/none": false} {
		if ok, err := c.ScheduleExists(ctx, path); err != nil || ok != want {
			t.Fatalf("exists %s: %v %v", path, ok, err)
		}
	}

	srv.AddSchedule(map[string]any{"path": "f/etl/hourly", "schedule": "0 * * * *", "script_path": "f/etl/load", "is_flow": true})
	list, err := c.ListSchedules(ctx, "")
	if err != nil || len(list) != 2 || list[0].Path != "f/etl/hourly" || !list[0].IsFlow || list[1].Path != "f/ops/nightly" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if list, err = c.ListSchedules(ctx, "f/etl/"); err != nil || len(list) != 1 {
		t.Fatalf("list f/etl/: %+v %v", list, err)
	}
	if q := last(t, srv, "/schedules/list").Query; q != "path_start=f%2Fetl%2F" {
		t.Fatalf("list query %q", q)
	}

	srv.AddJob(clienttest.Job{ScriptPath: "f/ops/greet", SchedulePath: "f/ops/nightly", Trigger: "schedule"})
	srv.AddJob(clienttest.Job{ScriptPath: "f/ops/greet", Trigger: "api"})
	newest := srv.AddJob(clienttest.Job{ScriptPath: "f/ops/greet", SchedulePath: "f/ops/nightly", Trigger: "schedule"})
	jobs, err := c.ScheduleRuns(ctx, "f/ops/nightly", 5)
	if err != nil || len(jobs) != 2 || jobs[0].ID != newest || jobs[0].SchedulePath != "f/ops/nightly" {
		t.Fatalf("runs: %+v %v", jobs, err)
	}
	if q := last(t, srv, "/schedules/runs/f/ops/nightly").Query; q != "per_page=5" {
		t.Fatalf("runs query %q", q)
	}

	if err := c.DeleteSchedule(ctx, "f/ops/nightly"); err != nil {
		t.Fatal(err)
	}
	if req := last(t, srv, "/schedules/delete/f/ops/nightly"); req.Method != "DELETE" {
		t.Fatalf("delete method %s", req.Method)
	}
	if _, err := c.GetSchedule(ctx, "f/ops/nightly"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
}
