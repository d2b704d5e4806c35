package badgerstore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/internal/store/badgerstore"
)

func depth(t testing.TB, s *badgerstore.Store) int {
	t.Helper()
	n, err := s.QueueDepth(ctx)
	must(t, err)
	return n
}

func TestEnqueueGetJob(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	j := job(t, "acme")
	j.Status = "whatever"
	j.LeaseOwner = "x"
	must(t, s.Enqueue(ctx, j, true))
	got, err := s.GetJob(ctx, "acme", j.ID)
	must(t, err)
	j.Status, j.LeaseOwner = store.StatusQueued, ""
	if !reflect.DeepEqual(*got, j) {
		t.Fatalf("GetJob = %+v\nwant %+v", *got, j)
	}
	if _, err := s.GetJob(ctx, "", j.ID); err != nil {
		t.Fatalf("GetJob with any workspace: %v", err)
	}
	if _, err := s.GetJob(ctx, "other", j.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetJob in another workspace: %v, want ErrNotFound", err)
	}
	if _, err := s.GetJob(ctx, "acme", newID(t)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetJob(unknown): %v", err)
	}
	if err := s.Enqueue(ctx, j, false); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Enqueue of an existing id: %v, want ErrConflict", err)
	}
	if err := s.Enqueue(ctx, store.Job{Workspace: "acme"}, false); !errors.Is(err, badgerstore.ErrInvalid) {
		t.Fatalf("Enqueue without id: %v, want ErrInvalid", err)
	}
	if n := depth(t, s); n != 1 {
		t.Fatalf("QueueDepth = %d, want 1", n)
	}
	// Zero times are filled in.
	k := store.Job{ID: newID(t), Workspace: "acme"}
	must(t, s.Enqueue(ctx, k, false))
	got, _ = s.GetJob(ctx, "acme", k.ID)
	if got.CreatedAt.IsZero() || !got.ScheduledFor.Equal(got.CreatedAt) {
		t.Fatalf("defaults: created %v scheduled %v", got.CreatedAt, got.ScheduledFor)
	}
}

// Durable and non-durable enqueues survive a close and reopen, and the
// queue depth is rebuilt.
func TestEnqueueSurvivesReopen(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := job(t, "acme"), job(t, "acme")
	must(t, e.s.Enqueue(ctx, a, true))
	must(t, e.s.Enqueue(ctx, b, false))
	c := job(t, "acme")
	must(t, e.s.Enqueue(ctx, c, false))
	cl, err := e.s.Claim(ctx, "w1", t0, time.Minute)
	must(t, err)
	e.reopen(t)
	for _, id := range []string{a.ID, b.ID, c.ID} {
		if _, err := e.s.GetJob(ctx, "acme", id); err != nil {
			t.Fatalf("job %s after reopen: %v", id, err)
		}
	}
	if n := depth(t, e.s); n != 2 {
		t.Fatalf("QueueDepth after reopen = %d, want 2", n)
	}
	run, err := e.s.Running(ctx)
	must(t, err)
	if len(run) != 1 || run[0].ID != cl.ID || run[0].LeaseOwner != "w1" {
		t.Fatalf("Running after reopen = %+v", run)
	}
}

func TestClaimOrder(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	mk := func(name string, prio int, sched time.Time) store.Job {
		j := job(t, "acme")
		j.ScriptPath, j.Priority, j.ScheduledFor = name, prio, sched
		must(t, s.Enqueue(ctx, j, false))
		return j
	}
	mk("low-old", 0, t0.Add(-time.Hour))
	mk("high-later", 10, t0.Add(-time.Second))
	mk("high-first", 10, t0.Add(-time.Minute))
	mk("neg", -5, t0.Add(-2*time.Hour))
	mk("high-future", 10, t0.Add(time.Hour))
	mk("mid-future", 5, t0.Add(30*time.Minute))
	mk("low-new", 0, t0)

	next, err := s.NextScheduled(ctx)
	must(t, err)
	if !next.Equal(t0.Add(-2 * time.Hour)) {
		t.Fatalf("NextScheduled = %v", next)
	}
	var order []string
	for {
		j, err := s.Claim(ctx, "w", t0, time.Minute)
		must(t, err)
		if j == nil {
			break
		}
		if j.Status != store.StatusRunning || j.LeaseOwner != "w" || !j.LeaseUntil.Equal(t0.Add(time.Minute)) || !j.StartedAt.Equal(t0) {
			t.Fatalf("claimed job: %+v", j)
		}
		order = append(order, j.ScriptPath)
	}
	if want := []string{"high-first", "high-later", "low-old", "low-new", "neg"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("claim order = %v, want %v", order, want)
	}
	if n := depth(t, s); n != 2 {
		t.Fatalf("QueueDepth = %d, want 2 (the future jobs)", n)
	}
	next, _ = s.NextScheduled(ctx)
	if !next.Equal(t0.Add(30 * time.Minute)) {
		t.Fatalf("NextScheduled = %v, want the mid-future job", next)
	}
	// Later, the future jobs are due, priority first.
	j, _ := s.Claim(ctx, "w", t0.Add(2*time.Hour), time.Minute)
	if j == nil || j.ScriptPath != "high-future" {
		t.Fatalf("claim later = %+v", j)
	}
	j, _ = s.Claim(ctx, "w", t0.Add(2*time.Hour), time.Minute)
	if j == nil || j.ScriptPath != "mid-future" {
		t.Fatalf("claim later = %+v", j)
	}
	if next, _ := s.NextScheduled(ctx); !next.IsZero() {
		t.Fatalf("NextScheduled of an empty queue = %v", next)
	}
}

// 8 claimers over 500 jobs: each job is claimed exactly once.
func TestClaimConcurrent(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	const jobs, claimers = 500, 8
	for i := range jobs {
		j := job(t, "acme")
		j.Priority = i % 3
		must(t, s.Enqueue(ctx, j, false))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, err := s.Claim(ctx, fmt.Sprintf("w%d", w), t0, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if j == nil {
					return
				}
				mu.Lock()
				seen[j.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != jobs {
		t.Fatalf("%d distinct jobs claimed, want %d", len(seen), jobs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("job %s claimed %d times", id, n)
		}
	}
	if n := depth(t, s); n != 0 {
		t.Fatalf("QueueDepth = %d", n)
	}
	run, _ := s.Running(ctx)
	if len(run) != jobs {
		t.Fatalf("Running has %d jobs, want %d", len(run), jobs)
	}
}

// Claimers race with cancellers that Finish queued jobs: every job ends
// either claimed or canceled, never both.
func TestClaimRacesCancel(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	const jobs = 300
	var ids []string
	for range jobs {
		j := job(t, "acme")
		must(t, s.Enqueue(ctx, j, false))
		ids = append(ids, j.ID)
	}
	var mu sync.Mutex
	claimed, canceled := map[string]bool{}, map[string]bool{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, err := s.Claim(ctx, fmt.Sprint("w", w), t0, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if j == nil {
					return
				}
				mu.Lock()
				claimed[j.ID] = true
				mu.Unlock()
			}
		}()
	}
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := len(ids) - 1 - c; i >= 0; i -= 4 {
				j, err := s.GetJob(ctx, "acme", ids[i])
				if err != nil {
					t.Error(err)
					return
				}
				if j.Status != store.StatusQueued {
					continue
				}
				j.Status, j.CancelReason = store.StatusCanceled, "test"
				err = s.Finish(ctx, *j, false)
				switch {
				case err == nil:
					mu.Lock()
					canceled[j.ID] = true
					mu.Unlock()
				case errors.Is(err, store.ErrConflict): // claimed meanwhile
				default:
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if claimed[id] == canceled[id] {
			t.Fatalf("job %s: claimed=%v canceled=%v", id, claimed[id], canceled[id])
		}
	}
	if n := depth(t, s); n != 0 {
		t.Fatalf("QueueDepth = %d", n)
	}
	run, _ := s.Running(ctx)
	if len(run) != len(claimed) {
		t.Fatalf("Running = %d, claimed %d", len(run), len(claimed))
	}
	t.Logf("claimed %d, canceled %d", len(claimed), len(canceled))
}

func TestLeaseRequeueFinish(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	j := job(t, "acme")
	must(t, s.Enqueue(ctx, j, false))
	if err := s.Heartbeat(ctx, j.ID, "a", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Heartbeat of a queued job: %v, want ErrConflict", err)
	}
	if err := s.Requeue(ctx, j); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Requeue of a queued job: %v, want ErrConflict", err)
	}
	got, err := s.Claim(ctx, "a", t0, time.Minute)
	must(t, err)
	if got.ID != j.ID {
		t.Fatalf("claimed %s", got.ID)
	}
	if err := s.Heartbeat(ctx, j.ID, "b", t0.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Heartbeat by a non-owner: %v, want ErrConflict", err)
	}
	must(t, s.Heartbeat(ctx, j.ID, "a", t0.Add(2*time.Minute)))
	if cur, _ := s.GetJob(ctx, "acme", j.ID); !cur.LeaseUntil.Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("LeaseUntil = %v", cur.LeaseUntil)
	}
	if err := s.Heartbeat(ctx, newID(t), "a", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Heartbeat of an unknown job: %v", err)
	}
	if run, _ := s.Running(ctx); len(run) != 1 {
		t.Fatalf("Running = %d", len(run))
	}

	// The lease expired; a janitor requeues it with the owner it read.
	stale := *got
	stale.LeaseOwner = "b"
	if err := s.Requeue(ctx, stale); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Requeue by a non-owner: %v, want ErrConflict", err)
	}
	got.Attempt = 1
	got.ScheduledFor = t0.Add(10 * time.Second)
	got.Error = &store.JobError{Name: "Boom", Message: "first attempt failed"}
	got.Result = json.RawMessage(`"ignored"`)
	must(t, s.Requeue(ctx, *got))
	if run, _ := s.Running(ctx); len(run) != 0 {
		t.Fatalf("Running after Requeue = %d", len(run))
	}
	if n := depth(t, s); n != 1 {
		t.Fatalf("QueueDepth after Requeue = %d", n)
	}
	cur, _ := s.GetJob(ctx, "acme", j.ID)
	if cur.Status != store.StatusQueued || cur.LeaseOwner != "" || !cur.StartedAt.IsZero() || cur.Attempt != 1 ||
		cur.Error == nil || cur.Error.Name != "Boom" || cur.Result != nil || !cur.ScheduledFor.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("requeued job: %+v", cur)
	}
	if c, _ := s.Claim(ctx, "c", t0, time.Minute); c != nil {
		t.Fatalf("claimed a requeued job before its ScheduledFor")
	}
	again, err := s.Claim(ctx, "c", t0.Add(10*time.Second), time.Minute)
	must(t, err)
	if again == nil || again.ID != j.ID || again.Attempt != 1 {
		t.Fatalf("re-claim: %+v", again)
	}

	// The old owner lost the lease: no heartbeat, no finish.
	if err := s.Heartbeat(ctx, j.ID, "a", t0.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Heartbeat by the old owner: %v", err)
	}
	old := *got
	old.Status = store.StatusSuccess
	old.LeaseOwner = "a"
	if err := s.Finish(ctx, old, true); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Finish by the old owner: %v, want ErrConflict", err)
	}

	fin := *again
	fin.Status = store.StatusSuccess
	fin.Result = json.RawMessage(`{"ok":true}`)
	fin.CompletedAt = t0.Add(time.Minute)
	if err := s.Finish(ctx, store.Job{ID: j.ID, Workspace: "acme", Status: store.StatusRunning}, true); !errors.Is(err, badgerstore.ErrInvalid) {
		t.Fatalf("Finish with a non-final status: %v", err)
	}
	wrongWS := fin
	wrongWS.Workspace = "other"
	if err := s.Finish(ctx, wrongWS, true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Finish in another workspace: %v", err)
	}
	must(t, s.Finish(ctx, fin, true))
	if err := s.Finish(ctx, fin, true); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Finish twice: %v, want ErrConflict", err)
	}
	done, _ := s.GetJob(ctx, "acme", j.ID)
	if !reflect.DeepEqual(*done, fin) {
		t.Fatalf("finished job = %+v\nwant %+v", *done, fin)
	}
	if run, _ := s.Running(ctx); len(run) != 0 {
		t.Fatalf("Running after Finish = %d", len(run))
	}
	if err := s.Requeue(ctx, fin); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Requeue of a finished job: %v", err)
	}
	if err := s.Finish(ctx, store.Job{ID: newID(t), Status: store.StatusFailure}, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Finish of an unknown job: %v", err)
	}
}

// Finishing a queued job (cancel before it runs) takes it off the queue.
func TestFinishQueued(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	j := job(t, "acme")
	j.ScheduledFor = t0.Add(time.Hour)
	must(t, s.Enqueue(ctx, j, false))
	// A partial job: the stored fields stay.
	must(t, s.Finish(ctx, store.Job{ID: j.ID, Workspace: "acme", Status: store.StatusCanceled, CanceledBy: "alice"}, true))
	if n := depth(t, s); n != 0 {
		t.Fatalf("QueueDepth = %d", n)
	}
	if c, _ := s.Claim(ctx, "w", t0.Add(2*time.Hour), time.Minute); c != nil {
		t.Fatalf("claimed a canceled job")
	}
	if next, _ := s.NextScheduled(ctx); !next.IsZero() {
		t.Fatalf("NextScheduled = %v", next)
	}
	got, _ := s.GetJob(ctx, "acme", j.ID)
	if got.Status != store.StatusCanceled || got.CanceledBy != "alice" || got.CompletedAt.IsZero() {
		t.Fatalf("canceled job: %+v", got)
	}
	if got.ScriptPath != j.ScriptPath || string(got.Args) != string(j.Args) || !got.ScheduledFor.Equal(j.ScheduledFor) || got.CreatedBy != j.CreatedBy {
		t.Fatalf("Finish lost stored fields: %+v", got)
	}
}

func TestListJobs(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	var all []store.Job // oldest first
	for i := range 30 {
		j := job(t, "acme")
		if i%3 == 0 {
			j.Workspace = "other"
		}
		j.ScriptPath = fmt.Sprintf("f/p%d/s", i%2)
		if i%5 == 0 {
			j.SchedulePath = "f/sched"
		}
		if i == 7 || i == 8 {
			j.ParentJob = all[0].ID
		}
		must(t, s.Enqueue(ctx, j, false))
		if i%4 == 0 {
			j.Status = store.StatusFailure
			j.Error = &store.JobError{Name: "E", Message: "m"}
			j.CompletedAt = t0.Add(time.Duration(i) * time.Second)
			must(t, s.Finish(ctx, j, false))
		} else {
			j.Status = store.StatusQueued
		}
		all = append(all, j)
	}
	ids := func(list []store.Job) []string {
		var out []string
		for _, j := range list {
			out = append(out, j.ID)
		}
		return out
	}
	want := func(keep func(j store.Job) bool) []string {
		var out []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				out = append(out, all[i].ID)
			}
		}
		return out
	}
	cases := []struct {
		name string
		f    store.JobFilter
		keep func(j store.Job) bool
	}{
		{"all", store.JobFilter{}, func(store.Job) bool { return true }},
		{"workspace", store.JobFilter{Workspace: "acme"}, func(j store.Job) bool { return j.Workspace == "acme" }},
		{"script", store.JobFilter{ScriptPath: "f/p1/s"}, func(j store.Job) bool { return j.ScriptPath == "f/p1/s" }},
		{"prefix", store.JobFilter{PathPrefix: "f/p0"}, func(j store.Job) bool { return strings.HasPrefix(j.ScriptPath, "f/p0") }},
		{"schedule", store.JobFilter{SchedulePath: "f/sched"}, func(j store.Job) bool { return j.SchedulePath == "f/sched" }},
		{"parent", store.JobFilter{ParentJob: all[0].ID}, func(j store.Job) bool { return j.ParentJob == all[0].ID }},
		{"status", store.JobFilter{Status: []string{store.StatusFailure}}, func(j store.Job) bool { return j.Status == store.StatusFailure }},
		{"ws+status", store.JobFilter{Workspace: "acme", Status: []string{store.StatusQueued, store.StatusRunning}},
			func(j store.Job) bool { return j.Workspace == "acme" && j.Status == store.StatusQueued }},
		{"limit", store.JobFilter{Limit: 4}, nil},
		{"before", store.JobFilter{Before: all[10].ID}, func(j store.Job) bool { return j.ID < all[10].ID }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ListJobs(ctx, c.f)
			must(t, err)
			var w []string
			if c.keep == nil {
				w = want(func(store.Job) bool { return true })[:c.f.Limit]
			} else {
				w = want(c.keep)
			}
			if !reflect.DeepEqual(ids(got), w) {
				t.Fatalf("ListJobs(%+v) = %v\nwant %v", c.f, ids(got), w)
			}
		})
	}

	// Paging through everything, 7 at a time, gives every job once, newest first.
	var paged []string
	before := ""
	for {
		page, err := s.ListJobs(ctx, store.JobFilter{Limit: 7, Before: before})
		must(t, err)
		if len(page) == 0 {
			break
		}
		paged = append(paged, ids(page)...)
		before = page[len(page)-1].ID
	}
	if !reflect.DeepEqual(paged, want(func(store.Job) bool { return true })) {
		t.Fatalf("paging gave %d jobs, in the wrong order or with repeats", len(paged))
	}
	// The stored record round-trips.
	got, _ := s.ListJobs(ctx, store.JobFilter{Limit: 1, Before: all[1].ID})
	if len(got) != 1 || !reflect.DeepEqual(got[0], all[0]) {
		t.Fatalf("listed job = %+v\nwant %+v", got, all[0])
	}
}

func TestLogs(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	j := job(t, "acme")
	must(t, s.Enqueue(ctx, j, false))
	if got, err := s.Logs(ctx, j.ID, 0); err != nil || len(got) != 0 {
		t.Fatalf("Logs of a job without logs = %q, %v", got, err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 40_000) // 640 000 bytes: split into chunks
	var want []byte
	for _, part := range [][]byte{[]byte("hello "), []byte("world\n"), {}, big, []byte("end\n")} {
		must(t, s.AppendLogs(ctx, j.ID, part))
		want = append(want, part...)
	}
	for _, off := range []int{0, 1, 6, 11, 12, 13, 262_144, 262_150, len(want) - 4, len(want) - 1, len(want), len(want) + 10} {
		got, err := s.Logs(ctx, j.ID, off)
		must(t, err)
		exp := []byte{}
		if off < len(want) {
			exp = want[off:]
		}
		if !bytes.Equal(got, exp) {
			t.Fatalf("Logs(%d): %d bytes, want %d (start %q)", off, len(got), len(exp), got[:min(20, len(got))])
		}
	}
	if _, err := s.Logs(ctx, j.ID, -1); !errors.Is(err, badgerstore.ErrInvalid) {
		t.Fatalf("Logs(-1): %v", err)
	}
	if _, err := s.Logs(ctx, newID(t), 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Logs of an unknown job: %v", err)
	}
	if err := s.AppendLogs(ctx, newID(t), []byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AppendLogs to an unknown job: %v", err)
	}
}

// Concurrent appends to one job lose nothing and never interleave inside
// one append.
func TestLogsConcurrent(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	j := job(t, "acme")
	must(t, s.Enqueue(ctx, j, false))
	const writers, lines = 4, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				if err := s.AppendLogs(ctx, j.ID, fmt.Appendf(nil, "writer %d line %03d\n", w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := s.Logs(ctx, j.ID, 0)
	must(t, err)
	gotLines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(gotLines) != writers*lines {
		t.Fatalf("%d lines, want %d", len(gotLines), writers*lines)
	}
	slices.Sort(gotLines)
	for w := range writers {
		for i := range lines {
			if want := fmt.Sprintf("writer %d line %03d", w, i); gotLines[w*lines+i] != want {
				t.Fatalf("line %q, want %q", gotLines[w*lines+i], want)
			}
		}
	}
}

func TestPurgeJobs(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	finish := func(at time.Time, logs int) store.Job {
		j := job(t, "acme")
		must(t, s.Enqueue(ctx, j, false))
		for i := range logs {
			must(t, s.AppendLogs(ctx, j.ID, fmt.Appendf(nil, "line %d\n", i)))
		}
		j.Status, j.CompletedAt = store.StatusSuccess, at
		must(t, s.Finish(ctx, j, false))
		return j
	}
	old := finish(t0.Add(-2*time.Hour), 3)
	mid := finish(t0.Add(-time.Hour), 1)
	fresh := finish(t0, 2)
	queued := job(t, "acme")
	must(t, s.Enqueue(ctx, queued, false))
	running := job(t, "acme")
	must(t, s.Enqueue(ctx, running, false))
	_, err := s.Claim(ctx, "w", t0, time.Minute)
	must(t, err)

	n, err := s.PurgeJobs(ctx, t0.Add(-90*time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("PurgeJobs = %d, want 1", n)
	}
	if _, err := s.GetJob(ctx, "acme", old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("purged job: %v", err)
	}
	if _, err := s.Logs(ctx, old.ID, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("purged job's logs: %v", err)
	}
	n, err = s.PurgeJobs(ctx, t0) // exclusive: fresh stays
	must(t, err)
	if n != 1 {
		t.Fatalf("second PurgeJobs = %d, want 1", n)
	}
	if _, err := s.GetJob(ctx, "acme", mid.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("mid job: %v", err)
	}
	for _, id := range []string{fresh.ID, queued.ID, running.ID} {
		if _, err := s.GetJob(ctx, "acme", id); err != nil {
			t.Fatalf("job %s purged too early: %v", id, err)
		}
	}
	if got, _ := s.Logs(ctx, fresh.ID, 0); string(got) != "line 0\nline 1\n" {
		t.Fatalf("fresh logs = %q", got)
	}
	n, err = s.PurgeJobs(ctx, t0.Add(time.Hour))
	must(t, err)
	if n != 1 {
		t.Fatalf("final purge = %d", n)
	}
	// Unfinished jobs stay, whatever their age.
	if list, _ := s.ListJobs(ctx, store.JobFilter{}); len(list) != 2 || depth(t, s) != 1 {
		t.Fatalf("jobs left: %d, want 2 (one running, one queued)", len(list))
	}
}

// A job with more log chunks than one purge transaction takes is purged
// in several.
func TestPurgeManyChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 5000 appends")
	}
	t.Parallel()
	e := setup(t)
	s := e.s
	j := job(t, "acme")
	must(t, s.Enqueue(ctx, j, false))
	for i := range 5000 {
		must(t, s.AppendLogs(ctx, j.ID, fmt.Appendf(nil, "%d\n", i)))
	}
	j.Status, j.CompletedAt = store.StatusFailure, t0
	must(t, s.Finish(ctx, j, false))
	n, err := s.PurgeJobs(ctx, t0.Add(time.Second))
	must(t, err)
	if n != 1 {
		t.Fatalf("PurgeJobs = %d", n)
	}
	// Re-using the id shows that no chunk is left behind.
	must(t, s.Enqueue(ctx, j, false))
	if got, _ := s.Logs(ctx, j.ID, 0); len(got) != 0 {
		t.Fatalf("%d bytes of logs left after purge", len(got))
	}
}
