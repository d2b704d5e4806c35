package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/runlet/runlet/internal/cron"
	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/internal/store/badgerstore"
	"github.com/runlet/runlet/runtime"
	"github.com/runlet/runlet/server"
)

// admin acts in workspace main with every right.
var admin = &server.Principal{Workspace: "main", User: "admin", Role: store.RoleAdmin}

// schedEnv is a server whose store and scheduler clock the test owns, so
// it can stop the server, move the clock and start another on the same
// store.
type schedEnv struct {
	dir   string
	st    *badgerstore.Store
	use   store.Store // what servers get; default st
	clock *clockwork.FakeClock
	cfg   server.Config
	srv   *server.Server
	svc   *server.Service
}

func newSchedEnv(t *testing.T, start string, cfg server.Config) *schedEnv {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := badgerstore.Open(badgerstore.Options{Dir: filepath.Join(dir, "db"), KeyFile: filepath.Join(dir, "secret.key"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = log
	e := &schedEnv{dir: dir, st: st, clock: clockwork.NewFakeClockAt(at(t, start)), cfg: cfg}
	e.start(t)
	t.Cleanup(func() {
		e.stop()
		st.Close()
	})
	return e
}

// start starts a server on e's store and clock.
func (e *schedEnv) start(t *testing.T) {
	t.Helper()
	e.srv = e.newServer(t)
	e.svc = e.srv.Service()
}

func (e *schedEnv) newServer(t *testing.T) *server.Server {
	t.Helper()
	eng, err := runtime.New(runtime.Config{Workers: 1, CacheDir: filepath.Join(cacheDir, "wazero"), Command: []string{binary}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.DataDir, cfg.CacheDir, cfg.NPMRegistry, cfg.Clock = e.dir, cacheDir, "http://127.0.0.1:9", e.clock
	use := e.use
	if use == nil {
		use = e.st
	}
	srv := server.New(cfg, use, eng)
	ctx := context.Background()
	if _, err := srv.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx, 2); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	return srv
}

// stop shuts the server down (the store stays open).
func (e *schedEnv) stop() {
	if e.srv != nil {
		e.srv.Shutdown(context.Background())
		e.srv = nil
	}
}

func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *schedEnv) script(t *testing.T, path, src string) {
	t.Helper()
	if _, err := e.svc.CreateScript(context.Background(), admin, "main", server.NewScript{Path: path, Language: "typescript", Content: src}); err != nil {
		t.Fatalf("push %s: %v", path, err)
	}
}

func (e *schedEnv) create(t *testing.T, spec server.ScheduleSpec) *store.Schedule {
	t.Helper()
	sc, err := e.svc.CreateSchedule(context.Background(), admin, "main", spec)
	if err != nil {
		t.Fatalf("create schedule %s: %v", spec.Path, err)
	}
	return sc
}

// armed counts the enabled schedules (each is one timer on the clock).
func (e *schedEnv) armed(t *testing.T) int {
	t.Helper()
	all, err := e.st.ListSchedules(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sc := range all {
		if sc.Enabled {
			n++
		}
	}
	return n
}

// advance moves the fake clock by d in steps of at most step; before each
// step it waits until every enabled schedule's timer is armed, after it
// until every due tick is handled.
func (e *schedEnv) advance(t *testing.T, d, step time.Duration) {
	t.Helper()
	for d > 0 {
		s := min(step, d)
		e.waitArmed(t, e.armed(t))
		e.clock.Advance(s)
		d -= s
		e.settle(t)
	}
}

func (e *schedEnv) waitArmed(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("waiting for %d armed schedules: %v", n, err)
	}
}

// settle waits until every enabled schedule has handled each tick up to
// the fake clock's now (its LastTick is the latest of them).
func (e *schedEnv) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		behind := e.behind(t)
		if behind == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("at %s: %s", e.clock.Now().UTC().Format(time.RFC3339), behind)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *schedEnv) behind(t *testing.T) string {
	all, err := e.st.ListSchedules(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	for _, sc := range all {
		if !sc.Enabled {
			continue
		}
		cs, err := cron.Parse(sc.Cron, sc.CronVersion)
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := time.LoadLocation(sc.Timezone)
		base := sc.LastTick
		if p := sc.PausedUntil.Add(-time.Nanosecond); !sc.PausedUntil.IsZero() && p.After(base) {
			base = p
		}
		if next, err := cs.Next(base, loc); err == nil && !next.After(now) {
			return fmt.Sprintf("schedule %s has not handled its tick %s (last tick %s)", sc.Path, next.UTC().Format(time.RFC3339), sc.LastTick.UTC().Format(time.RFC3339))
		}
	}
	return ""
}

// jobs lists the jobs a schedule's ticks created, by tick (their ids are
// UUIDv7 stamped with the tick; ScheduledFor moves when a job is retried).
func (e *schedEnv) jobs(t *testing.T, path string) []store.Job {
	t.Helper()
	all, err := e.st.ListJobs(context.Background(), store.JobFilter{Workspace: "main", SchedulePath: path, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Job
	for _, j := range all {
		if j.Trigger == "schedule" {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b store.Job) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ticks is the scheduled times of a schedule's jobs (UTC, RFC 3339),
// checking that no tick and no id repeats.
func (e *schedEnv) ticks(t *testing.T, path string) []string {
	t.Helper()
	ids := map[string]bool{}
	var out []string
	for _, j := range e.jobs(t, path) {
		s := j.ScheduledFor.UTC().Format(time.RFC3339)
		if ids[j.ID] || slices.Contains(out, s) {
			t.Fatalf("schedule %s fired %s twice (job %s)", path, s, j.ID)
		}
		ids[j.ID] = true
		out = append(out, s)
	}
	return out
}

// hourly is n instants an hour apart from the first.
func hourly(t testing.TB, first string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = at(t, first).Add(time.Duration(i) * time.Hour).Format(time.RFC3339)
	}
	return out
}

// utc converts RFC 3339 times with offsets to UTC ones.
func utc(t testing.TB, ts ...string) []string {
	out := make([]string, len(ts))
	for i, s := range ts {
		out[i] = at(t, s).UTC().Format(time.RFC3339)
	}
	return out
}

// waitJobs waits until a schedule has n finished tick jobs and returns
// them by scheduled time.
func (e *schedEnv) waitJobs(t *testing.T, path string, n int) []store.Job {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		jobs := e.jobs(t, path)
		done := 0
		for _, j := range jobs {
			if j.Done() {
				done++
			}
		}
		if done >= n {
			return jobs
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s: %d of %d jobs finished", path, done, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const okScript = `export function main() { return 1; }`

// Fire times across both daylight-saving changes in two zones, through
// the scheduler: the fake clock walks across each transition in 15-minute
// steps and the jobs created must carry exactly the ticks of internal/cron's
// rules (a missing wall time skipped, a repeated fixed time once, a
// repeated wildcard hour twice).
func TestScheduleDST(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, zone, from, to string
		want                 map[string][]string // expression → ticks
	}{
		{"Paris spring forward", "Europe/Paris", "2026-03-27T22:00:00Z", "2026-03-30T02:00:00Z", map[string][]string{
			"30 2 * * *":        {"2026-03-28T02:30:00+01:00", "2026-03-30T02:30:00+02:00"},
			"0 * 29 3 *":        hourly(t, "2026-03-28T23:00:00Z", 23), // a 23-hour day
			"0 0-5 29 3 *":      {"2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00", "2026-03-29T05:00:00+02:00"},
			"0 */30 1-3 29 3 *": {"2026-03-29T01:00:00+01:00", "2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"},
		}},
		{"Paris fall back", "Europe/Paris", "2026-10-24T00:00:00Z", "2026-10-26T03:00:00Z", map[string][]string{
			"30 2 * * *": {"2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"},
			// Explicit hours name fixed times: 02:00 once, at its first occurrence.
			"0 0-3 25 10 *": {"2026-10-25T00:00:00+02:00", "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-25T03:00:00+01:00"},
			// A wildcard hour: every real hour of that 25-hour day.
			"0 * 25 10 *":    hourly(t, "2026-10-24T22:00:00Z", 25),
			"*/30 2 25 10 *": {"2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00"},
		}},
		{"New York spring forward", "America/New_York", "2026-03-07T04:00:00Z", "2026-03-09T08:00:00Z", map[string][]string{
			"15 2 * * *":  {"2026-03-07T02:15:00-05:00", "2026-03-09T02:15:00-04:00"},
			"0 0-4 8 3 *": {"2026-03-08T00:00:00-05:00", "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"},
		}},
		{"New York fall back", "America/New_York", "2026-10-31T04:00:00Z", "2026-11-02T08:00:00Z", map[string][]string{
			"30 1 * * *":      {"2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"},
			"0 0-2 1 11 *":    {"2026-11-01T00:00:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00"},
			"0 * 1 11 *":      hourly(t, "2026-11-01T04:00:00Z", 25),
			"0 */20 1 1 11 *": {"2026-11-01T01:00:00-04:00", "2026-11-01T01:20:00-04:00", "2026-11-01T01:40:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:20:00-05:00", "2026-11-01T01:40:00-05:00"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newSchedEnv(t, c.from, server.Config{})
			e.script(t, "f/dst/job", okScript)
			paths := map[string]string{}
			i := 0
			for expr := range c.want {
				i++
				paths[expr] = fmt.Sprintf("f/dst/s%d", i)
				e.create(t, server.ScheduleSpec{Path: paths[expr], Cron: expr, Timezone: c.zone, ScriptPath: "f/dst/job"})
			}
			e.advance(t, at(t, c.to).Sub(at(t, c.from)), 15*time.Minute)
			for expr, want := range c.want {
				if got := e.ticks(t, paths[expr]); !slices.Equal(got, utc(t, want...)) {
					t.Errorf("%q in %s:\n got  %v\n want %v", expr, c.zone, got, utc(t, want...))
				}
			}
		})
	}
}

// 6-field expressions fire on their seconds.
func TestScheduleSeconds(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-06-01T10:00:00Z", server.Config{})
	e.script(t, "f/sec/job", okScript)
	e.create(t, server.ScheduleSpec{Path: "f/sec/quarter", Cron: "*/15 * * * * *", ScriptPath: "f/sec/job"})
	e.create(t, server.ScheduleSpec{Path: "f/sec/ten_forty", Cron: "10,40 * * * * *", ScriptPath: "f/sec/job"})
	e.create(t, server.ScheduleSpec{Path: "f/sec/v1", Cron: "5 0 10 * * 2", CronVersion: "v1", ScriptPath: "f/sec/job"}) // Mondays 10:00:05
	e.advance(t, 61*time.Second, 5*time.Second)
	for path, want := range map[string][]string{
		"f/sec/quarter":   {"2026-06-01T10:00:15Z", "2026-06-01T10:00:30Z", "2026-06-01T10:00:45Z", "2026-06-01T10:01:00Z"},
		"f/sec/ten_forty": {"2026-06-01T10:00:10Z", "2026-06-01T10:00:40Z"},
		"f/sec/v1":        {"2026-06-01T10:00:05Z"}, // 2026-06-01 is a Monday
	} {
		if got := e.ticks(t, path); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
	// The job records its schedule and intended instant.
	j := e.jobs(t, "f/sec/quarter")[0]
	if j.Trigger != "schedule" || j.SchedulePath != "f/sec/quarter" || j.ScriptPath != "f/sec/job" || j.CreatedBy != "admin" {
		t.Fatalf("job: %+v", j)
	}
}

// A timezone change by update moves the next fire; the scheduler re-arms.
func TestScheduleTimezoneUpdate(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-01-10T07:00:00Z", server.Config{})
	e.script(t, "f/tz/job", okScript)
	spec := server.ScheduleSpec{Path: "f/tz/nine", Cron: "0 9 * * *", ScriptPath: "f/tz/job"}
	e.create(t, spec)
	ctx := context.Background()
	sc, next, err := e.svc.GetSchedule(ctx, admin, "main", "f/tz/nine")
	if err != nil || sc.Timezone != "UTC" || !next.Equal(at(t, "2026-01-10T09:00:00Z")) {
		t.Fatalf("GetSchedule: %v %v %v", sc, next, err)
	}
	spec.Timezone = "Europe/Paris" // 09:00 CET = 08:00 UTC
	if _, err := e.svc.UpdateSchedule(ctx, admin, "main", "f/tz/nine", spec); err != nil {
		t.Fatal(err)
	}
	if _, next, _ = e.svc.GetSchedule(ctx, admin, "main", "f/tz/nine"); !next.Equal(at(t, "2026-01-10T08:00:00Z")) {
		t.Fatalf("next fire after the zone change: %v", next)
	}
	e.advance(t, 26*time.Hour, 30*time.Minute)
	spec.Timezone = "America/New_York" // 09:00 EST = 14:00 UTC
	if _, err := e.svc.UpdateSchedule(ctx, admin, "main", "f/tz/nine", spec); err != nil {
		t.Fatal(err)
	}
	e.advance(t, 24*time.Hour, 30*time.Minute)
	want := []string{"2026-01-10T08:00:00Z", "2026-01-11T08:00:00Z", "2026-01-11T14:00:00Z"}
	if got := e.ticks(t, "f/tz/nine"); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// Stopping the server between ticks and starting another on the same
// store later: catch_up skip resumes at the next tick, once fires one job
// for the latest missed tick; no tick fires twice, also when the LastTick
// write of a fired tick was lost.
func TestScheduleRestartCatchUp(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-05-01T12:00:00Z", server.Config{})
	e.script(t, "f/cu/job", okScript)
	e.create(t, server.ScheduleSpec{Path: "f/cu/skip", Cron: "*/10 * * * *", ScriptPath: "f/cu/job"})
	e.create(t, server.ScheduleSpec{Path: "f/cu/once", Cron: "*/10 * * * *", ScriptPath: "f/cu/job", CatchUp: "once"})
	e.create(t, server.ScheduleSpec{Path: "f/cu/daily", Cron: "0 3 * * *", ScriptPath: "f/cu/job", CatchUp: "once"})
	e.advance(t, 25*time.Minute, 5*time.Minute) // 12:10, 12:20
	e.stop()
	e.clock.Advance(65 * time.Minute) // down over 12:30 … 13:30; now 13:30
	e.start(t)
	e.settle(t)
	if got, want := e.ticks(t, "f/cu/skip"), []string{"2026-05-01T12:10:00Z", "2026-05-01T12:20:00Z"}; !slices.Equal(got, want) {
		t.Errorf("skip after the restart: %v, want %v", got, want)
	}
	if got, want := e.ticks(t, "f/cu/once"), []string{"2026-05-01T12:10:00Z", "2026-05-01T12:20:00Z", "2026-05-01T13:30:00Z"}; !slices.Equal(got, want) {
		t.Errorf("once after the restart: %v, want %v", got, want)
	}
	if got := e.ticks(t, "f/cu/daily"); len(got) != 0 {
		t.Errorf("daily fired without a missed tick: %v", got)
	}
	e.advance(t, 15*time.Minute, 5*time.Minute) // 13:40
	if got, want := e.ticks(t, "f/cu/skip"), []string{"2026-05-01T12:10:00Z", "2026-05-01T12:20:00Z", "2026-05-01T13:40:00Z"}; !slices.Equal(got, want) {
		t.Errorf("skip resumed: %v, want %v", got, want)
	}
	if got := e.ticks(t, "f/cu/once"); len(got) != 4 || got[3] != "2026-05-01T13:40:00Z" {
		t.Errorf("once resumed: %v", got)
	}

	// A crash after the enqueue and before LastTick was written: put
	// LastTick back before 13:40, as if that write was lost.
	e.stop()
	ctx := context.Background()
	for _, p := range []string{"f/cu/skip", "f/cu/once"} {
		if _, err := e.st.UpdateSchedule(ctx, "main", p, func(sc *store.Schedule) error {
			sc.LastTick = at(t, "2026-05-01T13:30:00Z")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Minute) // 13:46
	e.start(t)
	e.settle(t)
	// once fires 13:40 again: the same job id is refused, no second job.
	if got := e.ticks(t, "f/cu/once"); len(got) != 4 {
		t.Errorf("once after a lost LastTick: %v", got)
	}
	sc, err := e.st.GetSchedule(ctx, "main", "f/cu/once")
	if err != nil || !sc.LastTick.Equal(at(t, "2026-05-01T13:40:00Z")) || sc.LastJob != e.jobs(t, "f/cu/once")[3].ID {
		t.Errorf("once's state: %+v %v", sc, err)
	}

	// A long outage: the daily schedule catches up once, with the latest
	// missed tick (the every-10-minutes ones too).
	e.stop()
	e.clock.Advance(3*24*time.Hour + 2*time.Hour) // 2026-05-04T15:46
	e.start(t)
	e.settle(t)
	if got, want := e.ticks(t, "f/cu/daily"), []string{"2026-05-04T03:00:00Z"}; !slices.Equal(got, want) {
		t.Errorf("daily after days down: %v, want %v", got, want)
	}
	if got := e.ticks(t, "f/cu/once"); got[len(got)-1] != "2026-05-04T15:40:00Z" || len(got) != 5 {
		t.Errorf("once after days down: %v", got)
	}
	if got := e.ticks(t, "f/cu/skip"); len(got) != 3 {
		t.Errorf("skip after days down: %v", got)
	}
}

// no_overlap skips ticks while the previous run is queued or running.
func TestScheduleNoOverlap(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-05-01T12:00:00Z", server.Config{})
	e.script(t, "f/ov/slow", `export async function main() { await new Promise((r) => setTimeout(r, 6000)); return 1; }`)
	e.create(t, server.ScheduleSpec{Path: "f/ov/single", Cron: "* * * * * *", ScriptPath: "f/ov/slow", NoOverlap: true})
	e.advance(t, 5*time.Second, time.Second) // ticks 1…5 within about a second of real time
	if got, want := e.ticks(t, "f/ov/single"), []string{"2026-05-01T12:00:01Z"}; !slices.Equal(got, want) {
		t.Fatalf("while the first run goes: %v, want %v", got, want)
	}
	e.waitJobs(t, "f/ov/single", 1)
	e.advance(t, time.Second, time.Second)
	if got, want := e.ticks(t, "f/ov/single"), []string{"2026-05-01T12:00:01Z", "2026-05-01T12:00:06Z"}; !slices.Equal(got, want) {
		t.Fatalf("after the first run: %v, want %v", got, want)
	}
	sc, err := e.st.GetSchedule(context.Background(), "main", "f/ov/single")
	if err != nil || !sc.LastTick.Equal(at(t, "2026-05-01T12:00:06Z")) {
		t.Fatalf("state: %+v %v", sc, err)
	}
}

// on_failure after N consecutive failures, on_recovery and on_success,
// with their arguments; the schedule's retry policy overrides the
// script's.
func TestScheduleHandlers(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-05-01T12:00:00Z", server.Config{})
	ctx := context.Background()
	setMode := func(v string) {
		t.Helper()
		if err := e.st.PutVariable(ctx, store.Variable{Workspace: "main", Path: "f/h/mode", Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	setMode("fail")
	e.script(t, "f/h/job", `import { getVariable } from "windmill-client";
export async function main(n: number) {
  if ((await getVariable("f/h/mode")) === "fail") throw new Error("boom " + n);
  return { n, ok: true };
}`)
	e.script(t, "f/h/record", `export function main() { return "recorded"; }`)
	e.create(t, server.ScheduleSpec{
		Path: "f/h/sched", Cron: "*/10 * * * *", ScriptPath: "f/h/job", Args: map[string]any{"n": 7},
		Retry:     &store.Retry{Constant: &store.ConstantRetry{Attempts: 1, Seconds: 0}},
		OnFailure: "script/f/h/record", OnFailureTimes: 2, OnFailureExtraArgs: map[string]any{"channel": "#ops", "job_id": "spoofed"},
		OnRecovery: "f/h/record", OnRecoveryExtra: map[string]any{"note": "back"},
		OnSuccess: "f/h/record", OnSuccessExtra: map[string]any{"quiet": true},
	})
	handlers := func() []store.Job {
		all, err := e.st.ListJobs(ctx, store.JobFilter{Workspace: "main", ScriptPath: "f/h/record", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(all)
		return all
	}
	waitHandlers := func(n int) []store.Job {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			h := handlers()
			if len(h) >= n {
				time.Sleep(100 * time.Millisecond)
				if h = handlers(); len(h) != n {
					t.Fatalf("%d handler jobs, want %d", len(h), n)
				}
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d handler jobs, want %d", len(h), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	tick := func(n int) store.Job {
		t.Helper()
		e.advance(t, 10*time.Minute, 10*time.Minute)
		return e.waitJobs(t, "f/h/sched", n)[n-1]
	}
	args := func(j store.Job) map[string]any {
		var m map[string]any
		json.Unmarshal(j.Args, &m)
		return m
	}

	f1 := tick(1)
	if f1.Status != store.StatusFailure || f1.Attempt != 1 {
		t.Fatalf("first failure (retried once by the schedule's policy): %+v", f1)
	}
	time.Sleep(200 * time.Millisecond)
	if h := handlers(); len(h) != 0 {
		t.Fatalf("on_failure after 1 of 2 failures: %+v", h)
	}
	f2 := tick(2)
	h := waitHandlers(1)
	a := args(h[0])
	wantErr := map[string]any{"name": f2.Error.Name, "message": f2.Error.Message, "stack": f2.Error.Stack}
	if h[0].Trigger != "schedule_handler" || h[0].SchedulePath != "f/h/sched" ||
		a["workspace_id"] != "main" || a["job_id"] != f2.ID || a["path"] != "f/h/job" || a["is_flow"] != false ||
		a["schedule_path"] != "f/h/sched" || a["failed_times"] != float64(2) || a["channel"] != "#ops" ||
		a["started_at"] != f2.StartedAt.UTC().Format(time.RFC3339Nano) || !jsonEqual(a["error"], wantErr) {
		t.Fatalf("on_failure args: %v (job %+v)", a, h[0])
	}
	f3 := tick(3)
	h = waitHandlers(2)
	if a := args(h[1]); a["failed_times"] != float64(3) || a["job_id"] != f3.ID {
		t.Fatalf("second on_failure: %v", a)
	}
	sc, _, err := e.svc.GetSchedule(ctx, admin, "main", "f/h/sched")
	if err != nil || sc.ConsecutiveFailures != 3 || sc.LastFailedJob != f3.ID {
		t.Fatalf("streak: %+v %v", sc, err)
	}

	setMode("ok")
	s4 := tick(4)
	if s4.Status != store.StatusSuccess {
		t.Fatalf("recovery run: %+v", s4)
	}
	h = waitHandlers(4) // on_recovery and on_success
	var rec, suc map[string]any
	for _, j := range h[2:] {
		if a := args(j); a["note"] == "back" {
			rec = a
		} else {
			suc = a
		}
	}
	if rec == nil || rec["job_id"] != s4.ID || rec["failed_times"] != float64(3) || rec["success_times"] != float64(1) ||
		rec["error_job_id"] != f3.ID || rec["error"].(map[string]any)["message"] != "boom 7" ||
		rec["error_started_at"] != f3.StartedAt.UTC().Format(time.RFC3339Nano) ||
		!jsonEqual(rec["success_result"], map[string]any{"n": 7, "ok": true}) || rec["success_started_at"] != s4.StartedAt.UTC().Format(time.RFC3339Nano) {
		t.Fatalf("on_recovery args: %v", rec)
	}
	if suc == nil || suc["quiet"] != true || suc["job_id"] != s4.ID || suc["schedule_path"] != "f/h/sched" || !jsonEqual(suc["success_result"], map[string]any{"n": 7, "ok": true}) {
		t.Fatalf("on_success args: %v", suc)
	}
	tick(5)
	h = waitHandlers(5) // on_success only
	if a := args(h[4]); a["quiet"] != true {
		t.Fatalf("fifth handler: %v", a)
	}
	if sc, _, _ := e.svc.GetSchedule(ctx, admin, "main", "f/h/sched"); sc.ConsecutiveFailures != 0 {
		t.Fatalf("streak after success: %d", sc.ConsecutiveFailures)
	}
	// The handlers' jobs show among the schedule's runs.
	runs, err := e.svc.ScheduleRuns(ctx, admin, "main", "f/h/sched", 0)
	if err != nil || len(runs) != 10 {
		t.Fatalf("ScheduleRuns: %d %v", len(runs), err)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// No fires before paused_until; GetSchedule's next fire respects it.
func TestSchedulePausedUntil(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-05-01T12:00:00Z", server.Config{})
	e.script(t, "f/p/job", okScript)
	e.create(t, server.ScheduleSpec{Path: "f/p/s", Cron: "*/10 * * * *", ScriptPath: "f/p/job", PausedUntil: at(t, "2026-05-01T12:35:00Z")})
	if _, next, _ := e.svc.GetSchedule(context.Background(), admin, "main", "f/p/s"); !next.Equal(at(t, "2026-05-01T12:40:00Z")) {
		t.Fatalf("next fire while paused: %v", next)
	}
	e.advance(t, 55*time.Minute, 5*time.Minute)
	if got, want := e.ticks(t, "f/p/s"), []string{"2026-05-01T12:40:00Z", "2026-05-01T12:50:00Z"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// Disabled schedules do not fire; enabling resumes at the next tick,
// without catching up the disabled time.
func TestScheduleDisableEnable(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-05-01T12:00:00Z", server.Config{})
	e.script(t, "f/de/job", okScript)
	ctx := context.Background()
	e.create(t, server.ScheduleSpec{Path: "f/de/s", Cron: "*/10 * * * *", ScriptPath: "f/de/job", CatchUp: "once"})
	off := false
	e.create(t, server.ScheduleSpec{Path: "f/de/off", Cron: "*/10 * * * *", ScriptPath: "f/de/job", Enabled: &off})
	e.advance(t, 10*time.Minute, 10*time.Minute)
	if _, err := e.svc.SetScheduleEnabled(ctx, admin, "main", "f/de/s", false); err != nil {
		t.Fatal(err)
	}
	if _, next, _ := e.svc.GetSchedule(ctx, admin, "main", "f/de/s"); !next.IsZero() {
		t.Fatalf("next fire of a disabled schedule: %v", next)
	}
	e.advance(t, 30*time.Minute, 10*time.Minute)
	if got := e.ticks(t, "f/de/s"); len(got) != 1 {
		t.Fatalf("fired while disabled: %v", got)
	}
	e.clock.Advance(5 * time.Minute) // 12:45
	if _, err := e.svc.SetScheduleEnabled(ctx, admin, "main", "f/de/s", true); err != nil {
		t.Fatal(err)
	}
	e.advance(t, 10*time.Minute, 5*time.Minute)
	if got, want := e.ticks(t, "f/de/s"), []string{"2026-05-01T12:10:00Z", "2026-05-01T12:50:00Z"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := e.ticks(t, "f/de/off"); len(got) != 0 {
		t.Fatalf("a schedule created disabled fired: %v", got)
	}
	// Deleting disarms it; its jobs stay.
	if err := e.svc.DeleteSchedule(ctx, admin, "main", "f/de/s"); err != nil {
		t.Fatal(err)
	}
	e.advance(t, 20*time.Minute, 10*time.Minute)
	if got := e.ticks(t, "f/de/s"); len(got) != 2 {
		t.Fatalf("after delete: %v", got)
	}
	if err := e.svc.DeleteSchedule(ctx, admin, "main", "f/de/s"); !isStatus(err, 404) {
		t.Fatalf("second delete: %v", err)
	}
}

func isStatus(err error, status int) bool {
	var e *server.Error
	return errors.As(err, &e) && e.Status == status
}

// Validation names the field at fault; authorization follows scripts.
func TestScheduleValidation(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-05-01T12:00:00Z", server.Config{})
	e.script(t, "f/v/job", `export function main(n: number) { return n; }`)
	ctx := context.Background()
	ok := server.ScheduleSpec{Path: "f/v/s", Cron: "0 * * * *", ScriptPath: "f/v/job", Args: map[string]any{"n": 1}}
	cases := []struct {
		name  string
		edit  func(*server.ScheduleSpec)
		field string
		msg   string
	}{
		{"bad cron", func(s *server.ScheduleSpec) { s.Cron = "61 * * * *" }, "schedule", "minute field"},
		{"never fires", func(s *server.ScheduleSpec) { s.Cron = "0 0 31 2 *" }, "schedule", "never fires"},
		{"cron_version", func(s *server.ScheduleSpec) { s.CronVersion = "v3" }, "cron_version", "v1 or v2"},
		{"v1 needs seconds", func(s *server.ScheduleSpec) { s.CronVersion = "v1" }, "schedule", "6 fields"},
		{"timezone", func(s *server.ScheduleSpec) { s.Timezone = "Mars/Olympus" }, "timezone", "IANA"},
		{"no target", func(s *server.ScheduleSpec) { s.ScriptPath = "" }, "script_path", "required"},
		{"missing script", func(s *server.ScheduleSpec) { s.ScriptPath = "f/v/nope" }, "script_path", "no script"},
		{"missing flow", func(s *server.ScheduleSpec) { s.ScriptPath, s.FlowPath = "", "f/v/flow" }, "flow_path", "no flow"},
		{"script and flow", func(s *server.ScheduleSpec) { s.FlowPath = "f/v/flow" }, "flow_path", "not both"},
		{"bad path", func(s *server.ScheduleSpec) { s.Path = "nowhere" }, "path", "u/<user>"},
		{"catch_up", func(s *server.ScheduleSpec) { s.CatchUp = "all" }, "catch_up", "skip"},
		{"paused_until", func(s *server.ScheduleSpec) { s.PausedUntil = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "paused_until", "between"},
		{"retry", func(s *server.ScheduleSpec) { s.Retry = &store.Retry{Constant: &store.ConstantRetry{Attempts: -1}} }, "retry", "attempts"},
		{"on_failure", func(s *server.ScheduleSpec) { s.OnFailure = "f/v/missing" }, "on_failure", "no script"},
		{"on_recovery flow", func(s *server.ScheduleSpec) { s.OnRecovery = "flow/f/v/x" }, "on_recovery", "flows"},
		{"on_failure_times", func(s *server.ScheduleSpec) { s.OnFailureTimes = -2 }, "on_failure_times", "1 to"},
		{"args", func(s *server.ScheduleSpec) { s.Args = map[string]any{"n": "x"} }, "args.n", "invalid arguments"},
	}
	for _, c := range cases {
		spec := ok
		c.edit(&spec)
		_, err := e.svc.CreateSchedule(ctx, admin, "main", spec)
		var se *server.Error
		if !errors.As(err, &se) || se.Status != 400 || se.Field != c.field || !strings.Contains(se.Message, c.msg) {
			t.Errorf("%s: %v (field %q), want a 400 on %q mentioning %q", c.name, err, fieldOf(err), c.field, c.msg)
		}
	}
	if _, err := e.svc.CreateSchedule(ctx, admin, "main", ok); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateSchedule(ctx, admin, "main", ok); !isStatus(err, 409) {
		t.Fatalf("duplicate: %v", err)
	}
	op := &server.Principal{Workspace: "main", User: "op", Role: store.RoleOperator}
	if _, err := e.svc.CreateSchedule(ctx, op, "main", server.ScheduleSpec{Path: "f/v/op", Cron: "0 * * * *", ScriptPath: "f/v/job"}); !isStatus(err, 403) {
		t.Fatalf("operator creating a schedule: %v", err)
	}
	if _, _, err := e.svc.GetSchedule(ctx, op, "main", "f/v/s"); err != nil {
		t.Fatalf("operator reading a schedule: %v", err)
	}
	scoped := &server.Principal{Workspace: "main", User: "dev", Role: store.RoleDeveloper, Scopes: []string{"schedules:write:f/v/*"}}
	if _, err := e.svc.CreateSchedule(ctx, scoped, "main", server.ScheduleSpec{Path: "f/v/scoped", Cron: "0 * * * *", ScriptPath: "f/v/job"}); !isStatus(err, 403) {
		t.Fatalf("a token that may not run the script: %v", err)
	}
	missing := ok
	missing.Path = ""
	if _, err := e.svc.UpdateSchedule(ctx, admin, "main", "f/v/none", missing); !isStatus(err, 404) {
		t.Fatalf("update of a missing schedule: %v", err)
	}
	list, err := e.svc.ListSchedules(ctx, admin, "main", "f/v/")
	if err != nil || len(list) != 1 || list[0].Path != "f/v/s" || list[0].CatchUp != "skip" || list[0].OnFailureTimes != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}
	ts, err := server.PreviewSchedule("30 2 * * *", "", "Europe/Paris", at(t, "2026-03-28T00:00:00Z"), 2)
	if err != nil || len(ts) != 2 || !ts[1].Equal(at(t, "2026-03-30T02:30:00+02:00")) {
		t.Fatalf("preview: %v %v", ts, err)
	}
}

func fieldOf(err error) string {
	var se *server.Error
	if errors.As(err, &se) {
		return se.Field
	}
	return ""
}

// Two nodes on one store: only the lease holder fires; when it shuts down
// the other takes over, and no tick fires twice.
func TestScheduleLeader(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-05-01T12:00:00Z", server.Config{LeaderLease: 1500 * time.Millisecond})
	e.script(t, "f/l/job", okScript)
	e.create(t, server.ScheduleSpec{Path: "f/l/s", Cron: "* * * * *", ScriptPath: "f/l/job"})
	b := e.newServer(t) // a second node: the lease is taken
	defer b.Shutdown(context.Background())
	e.advance(t, 3*time.Minute, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := e.clock.BlockUntilContext(ctx, 2); err == nil {
		t.Fatal("the follower armed the schedule too")
	}
	e.stop() // releases the lease: b leads within a third of the lease
	e.svc = b.Service()
	e.waitArmed(t, 1)
	e.advance(t, 3*time.Minute, time.Minute)
	want := []string{"2026-05-01T12:01:00Z", "2026-05-01T12:02:00Z", "2026-05-01T12:03:00Z", "2026-05-01T12:04:00Z", "2026-05-01T12:05:00Z", "2026-05-01T12:06:00Z"}
	if got := e.ticks(t, "f/l/s"); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// leaseStore loses the scheduler's lease on demand.
type leaseStore struct {
	*badgerstore.Store
	lost atomic.Bool
}

func (l *leaseStore) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if l.lost.Load() {
		return false, nil
	}
	return l.Store.AcquireLease(ctx, name, owner, ttl)
}

// A node that cannot renew its lease stops firing; when it leads again
// the ticks it did not fire are missed ticks (catch_up skip: none fire).
func TestScheduleLeaseLost(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-05-01T12:00:00Z", server.Config{LeaderLease: 600 * time.Millisecond})
	ls := &leaseStore{Store: e.st}
	e.stop()
	e.use = ls
	e.start(t)
	e.script(t, "f/ll/job", okScript)
	e.create(t, server.ScheduleSpec{Path: "f/ll/s", Cron: "* * * * *", ScriptPath: "f/ll/job"})
	e.advance(t, time.Minute, time.Minute)
	ls.lost.Store(true)
	time.Sleep(time.Second) // past the lease: the node has stopped
	e.clock.Advance(3 * time.Minute)
	time.Sleep(300 * time.Millisecond)
	if got, want := e.ticks(t, "f/ll/s"), []string{"2026-05-01T12:01:00Z"}; !slices.Equal(got, want) {
		t.Fatalf("fired without the lease: %v", got)
	}
	ls.lost.Store(false) // leads again at its next renewal
	e.waitArmed(t, 1)
	e.settle(t)
	e.advance(t, time.Minute, time.Minute)
	if got, want := e.ticks(t, "f/ll/s"), []string{"2026-05-01T12:01:00Z", "2026-05-01T12:05:00Z"}; !slices.Equal(got, want) {
		t.Fatalf("after the lease came back: %v, want %v", got, want)
	}
}

// A polling trigger script on a schedule keeps its state between runs
// (separately from manual runs), and a run that finds nothing new is
// skipped.
func TestScheduledTriggerState(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-06-01T10:00:30Z", server.Config{})
	src := `import { getState, setState } from "windmill-client";
export async function main() {
  const seen = (await getState()) ?? 0;
  await setState(seen + 1);
  return seen % 2 === 0 ? [seen] : [];
}`
	if _, err := e.svc.CreateScript(context.Background(), admin, "main", server.NewScript{Path: "f/poll/trig", Language: "typescript", Content: src, Kind: "trigger"}); err != nil {
		t.Fatal(err)
	}
	e.create(t, server.ScheduleSpec{Path: "f/poll/every_minute", Cron: "* * * * *", ScriptPath: "f/poll/trig"})
	for i := 1; i <= 3; i++ {
		e.advance(t, time.Minute, time.Minute)
		e.waitJobs(t, "f/poll/every_minute", i)
	}
	var statuses []string
	for _, j := range e.jobs(t, "f/poll/every_minute") {
		statuses = append(statuses, j.Status+":"+string(j.Result))
	}
	if want := []string{"success:[0]", "skipped:[]", "success:[2]"}; !slices.Equal(statuses, want) {
		t.Fatalf("scheduled runs %v, want %v", statuses, want)
	}
	ctx := context.Background()
	if v, err := e.st.GetState(ctx, "main", "f/poll/trig/schedule"); err != nil || string(v) != "3" {
		t.Fatalf("scheduled state: %s %v", v, err)
	}
	if _, err := e.st.GetState(ctx, "main", "f/poll/trig/user"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("manual runs must not share the scheduled state: %v", err)
	}
}

// TestScheduleFlow: a schedule that targets a flow fires flow runs (the
// trigger-head pattern: a trigger step, then a loop over its items).
func TestScheduleFlow(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t, "2026-06-01T10:00:00Z", server.Config{})
	doc := `{"summary":"poll","value":{"modules":[
	  {"id":"t","value":{"type":"rawscript","language":"typescript","is_trigger":true,
	    "content":"import { getState, setState } from \"windmill-client\";\nexport async function main() { const n = ((await getState()) ?? 0) + 1; await setState(n); return n % 2 == 1 ? [n] : []; }"}},
	  {"id":"each","value":{"type":"forloopflow","iterator":{"type":"javascript","expr":"results.t"},"modules":[
	    {"id":"h","value":{"type":"identity"}}]}}]}}`
	if _, _, err := e.svc.CreateFlow(context.Background(), admin, "main", "f/poll/flow", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	e.create(t, server.ScheduleSpec{Path: "f/poll/every_minute", Cron: "* * * * *", FlowPath: "f/poll/flow"})
	e.advance(t, 3*time.Minute, time.Minute)
	jobs := e.jobs(t, "f/poll/every_minute")
	if len(jobs) != 3 {
		t.Fatalf("%d flow runs, want 3", len(jobs))
	}
	var statuses []string
	for _, j := range jobs {
		done, err := e.svc.Wait(context.Background(), "main", j.ID, time.Minute)
		if err != nil || !done.Done() || done.Kind != store.JobKindFlow || done.ScriptPath != "f/poll/flow" {
			t.Fatalf("flow run %+v, %v", done, err)
		}
		statuses = append(statuses, done.Status+":"+string(done.Result))
	}
	// State is per flow step and per trigger (schedule): 1, 2, 3 → odd ones
	// fire; the loop body (identity) passes the trigger's result through.
	if want := []string{"success:[[1]]", "skipped:null", "success:[[3]]"}; !slices.Equal(statuses, want) {
		t.Fatalf("runs = %v, want %v", statuses, want)
	}
}
