package badgerstore_test

import (
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/internal/store/badgerstore"
)

func schedule(ws, path string) store.Schedule {
	return store.Schedule{
		Workspace: ws, Path: path, Cron: "0 */15 * * * *", Timezone: "Europe/Paris",
		ScriptPath: "f/demo/hello", Args: map[string]any{"n": float64(1)}, Enabled: true,
		CatchUp: "once", Retry: &store.Retry{Constant: &store.ConstantRetry{Attempts: 2, Seconds: 1}},
		OnFailure: "f/demo/alert", OnFailureTimes: 3, OnFailureExtraArgs: map[string]any{"channel": "#ops"},
		CreatedBy: "alice", CreatedAt: t0, EditedBy: "alice", EditedAt: t0, LastTick: t0,
	}
}

func TestSchedules(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.s
	a := schedule("acme", "f/etl/nightly")
	must(t, s.CreateSchedule(ctx, a))
	if err := s.CreateSchedule(ctx, a); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate CreateSchedule: %v, want ErrConflict", err)
	}
	must(t, s.CreateSchedule(ctx, schedule("acme", "f/etl/hourly")))
	must(t, s.CreateSchedule(ctx, schedule("acme", "u/bob/mine")))
	must(t, s.PutSchedule(ctx, schedule("beta", "f/etl/nightly")))
	got, err := s.GetSchedule(ctx, "acme", "f/etl/nightly")
	must(t, err)
	if !reflect.DeepEqual(*got, a) {
		t.Fatalf("GetSchedule = %+v, want %+v", *got, a)
	}
	if _, err := s.GetSchedule(ctx, "beta", "u/bob/mine"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSchedule in another workspace: %v, want ErrNotFound", err)
	}
	paths := func(list []store.Schedule, err error) []string {
		t.Helper()
		must(t, err)
		var out []string
		for _, sc := range list {
			out = append(out, sc.Workspace+":"+sc.Path)
		}
		return out
	}
	for _, c := range []struct {
		name, ws, prefix string
		want             []string
	}{
		{"workspace", "acme", "", []string{"acme:f/etl/hourly", "acme:f/etl/nightly", "acme:u/bob/mine"}},
		{"prefix", "acme", "f/", []string{"acme:f/etl/hourly", "acme:f/etl/nightly"}},
		{"all workspaces", "", "", []string{"acme:f/etl/hourly", "acme:f/etl/nightly", "acme:u/bob/mine", "beta:f/etl/nightly"}},
		{"all workspaces, prefix", "", "f/etl/n", []string{"acme:f/etl/nightly", "beta:f/etl/nightly"}},
		{"none", "gamma", "", nil},
	} {
		if got := paths(s.ListSchedules(ctx, c.ws, c.prefix)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: ListSchedules(%q, %q) = %v, want %v", c.name, c.ws, c.prefix, got, c.want)
		}
	}

	// UpdateSchedule: read-modify-write; the workspace and path stay.
	tick := t0.Add(15 * time.Minute)
	up, err := s.UpdateSchedule(ctx, "acme", "f/etl/nightly", func(sc *store.Schedule) error {
		sc.LastTick, sc.LastJob, sc.Path = tick, "job-1", "f/elsewhere"
		return nil
	})
	must(t, err)
	if up.Path != "f/etl/nightly" || !up.LastTick.Equal(tick) || up.LastJob != "job-1" {
		t.Fatalf("UpdateSchedule returned %+v", up)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateSchedule(ctx, "acme", "f/etl/nightly", func(sc *store.Schedule) error {
		sc.LastJob = "lost"
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("UpdateSchedule with a failing fn: %v, want boom", err)
	}
	if _, err := s.UpdateSchedule(ctx, "acme", "f/nope", func(*store.Schedule) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateSchedule of a missing schedule: %v, want ErrNotFound", err)
	}
	e.reopen(t) // durable
	s = e.s
	got, err = s.GetSchedule(ctx, "acme", "f/etl/nightly")
	must(t, err)
	if got.LastJob != "job-1" || !got.LastTick.Equal(tick) {
		t.Fatalf("after reopen: %+v", got)
	}

	must(t, s.DeleteSchedule(ctx, "acme", "f/etl/nightly"))
	if err := s.DeleteSchedule(ctx, "acme", "f/etl/nightly"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second DeleteSchedule: %v, want ErrNotFound", err)
	}
	for _, bad := range []store.Schedule{{Workspace: "", Path: "f/x"}, {Workspace: "acme", Path: ""}, {Workspace: "acme", Path: "f/\x00"}} {
		if err := s.PutSchedule(ctx, bad); !errors.Is(err, badgerstore.ErrInvalid) {
			t.Errorf("PutSchedule(%q, %q): %v, want ErrInvalid", bad.Workspace, bad.Path, err)
		}
	}
}

// Concurrent UpdateSchedule calls serialise: no increment is lost.
func TestUpdateScheduleConcurrent(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	must(t, s.CreateSchedule(ctx, schedule("acme", "f/etl/count")))
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := s.UpdateSchedule(ctx, "acme", "f/etl/count", func(sc *store.Schedule) error {
					sc.ConsecutiveFailures++
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got, err := s.GetSchedule(ctx, "acme", "f/etl/count")
	must(t, err)
	if got.ConsecutiveFailures != 100 {
		t.Fatalf("ConsecutiveFailures = %d after 100 increments", got.ConsecutiveFailures)
	}
}

func TestLeases(t *testing.T) {
	t.Parallel()
	e := setup(t)
	must(t, e.s.Close())
	var now atomic.Int64
	now.Store(t0.UnixNano())
	opts := e.options()
	opts.Now = func() time.Time { return time.Unix(0, now.Load()) }
	s, err := badgerstore.Open(opts)
	must(t, err)
	t.Cleanup(func() { s.Close() })
	acquire := func(owner string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := s.AcquireLease(ctx, "scheduler", owner, ttl)
		must(t, err)
		if got != want {
			t.Fatalf("AcquireLease(%s) = %v, want %v", owner, got, want)
		}
	}
	advance := func(d time.Duration) { now.Add(int64(d)) }

	acquire("a", 10*time.Second, true)  // free
	acquire("b", 10*time.Second, false) // held by a
	advance(9 * time.Second)
	acquire("a", 10*time.Second, true) // renewed until t0+19s
	advance(5 * time.Second)
	acquire("b", 10*time.Second, false) // still a's (t0+14s)
	advance(5 * time.Second)
	acquire("b", 10*time.Second, true) // expired at t0+19s: b takes it
	acquire("a", 10*time.Second, false)
	must(t, s.ReleaseLease(ctx, "scheduler", "a")) // not a's: a no-op
	acquire("a", 10*time.Second, false)
	must(t, s.ReleaseLease(ctx, "scheduler", "b"))
	acquire("a", 10*time.Second, true) // released: free at once
	acquire("a", time.Second, true)
	if _, err := s.AcquireLease(ctx, "scheduler", "a", 0); !errors.Is(err, badgerstore.ErrInvalid) {
		t.Fatalf("AcquireLease with ttl 0: %v, want ErrInvalid", err)
	}
	if _, err := s.AcquireLease(ctx, "scheduler", "", time.Second); !errors.Is(err, badgerstore.ErrInvalid) {
		t.Fatalf("AcquireLease without owner: %v, want ErrInvalid", err)
	}

	// Many contenders at once: exactly one wins.
	advance(time.Hour)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.AcquireLease(ctx, "race", string(rune('a'+i)), time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d contenders won the lease, want 1", wins.Load())
	}
}
