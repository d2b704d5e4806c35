package badgerstore

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/store"
)

// A mirror entry whose queue key is gone (a lost race with Finish) is
// dropped by Claim, which goes on to the next job.
func TestClaimDropsStaleEntries(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s, err := Open(Options{Dir: filepath.Join(root, "d"), KeyFile: filepath.Join(root, "k"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.Enqueue(ctx, store.Job{ID: "real", Workspace: "w", CreatedAt: now}, false); err != nil {
		t.Fatal(err)
	}
	done := store.Job{ID: "done", Workspace: "w", CreatedAt: now}
	if err := s.Enqueue(ctx, done, false); err != nil {
		t.Fatal(err)
	}
	done.Status = store.StatusCanceled
	if err := s.Finish(ctx, done, false); err != nil {
		t.Fatal(err)
	}
	s.queue.push(9, now, "ghost")                      // no such job
	s.queue.push(9, now.Add(-time.Hour), "real-moved") // no such key
	s.queue.push(8, now, "done")                       // finished: its key is gone
	j, err := s.Claim(ctx, "o", now, time.Minute)
	if err != nil || j == nil || j.ID != "real" {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	if j, err := s.Claim(ctx, "o", now, time.Minute); j != nil || err != nil {
		t.Fatalf("second Claim = %+v, %v; want nothing", j, err)
	}
	if got := s.queue.earliest(); !got.IsZero() {
		t.Fatalf("stale entries left in the mirror (earliest %v)", got)
	}
}

func TestMemQueueOrder(t *testing.T) {
	t.Parallel()
	q := newMemQueue()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	q.push(0, t0, "b")
	q.push(0, t0, "a")
	q.push(5, t0.Add(time.Hour), "future")
	q.push(-3, t0.Add(-time.Hour), "neg")
	q.push(0, t0.Add(-time.Minute), "c")
	q.push(0, t0.Add(time.Hour), "c") // moved later
	var got []string
	for {
		e, ok := q.next(t0)
		if !ok {
			break
		}
		got = append(got, e.id)
		q.remove(e)
	}
	if want := "a b neg"; strings.Join(got, " ") != want {
		t.Fatalf("order %q, want %q", strings.Join(got, " "), want)
	}
	if e := q.earliest(); !e.Equal(t0.Add(time.Hour)) {
		t.Fatalf("earliest = %v", e)
	}
	// remove of an outdated entry leaves the current one.
	q.remove(entry(0, t0.Add(-time.Minute), "c"))
	if _, ok := q.byID["c"]; !ok {
		t.Fatal("remove of a stale entry removed the moved one")
	}
}
