package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/runlet/runlet/runtime"
)

// TestPoolStats: Stats counts the pool's workers, the idle ones and the
// borrowed ones, and is all zero after Stop.
func TestPoolStats(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 2, false)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.Stats(); got != (runtime.PoolStats{Workers: 2, Idle: 2}) {
		t.Fatalf("started: %+v", got)
	}
	// With a worker idle, borrowing adds nothing.
	noop := e.Borrow()
	if got := e.Stats(); got.Borrowed != 0 || got.Workers != 2 {
		t.Fatalf("borrowing with idle workers: %+v", got)
	}
	noop()
	// Occupy both workers with jobs blocked in a host call, then borrow.
	mod := buildModule(t, hostileScript)
	caller := blockingCaller{release: make(chan struct{})}
	done := make(chan struct{}, 2)
	for range 2 {
		go func() {
			e.Run(context.Background(), runtime.Job{Module: mod, Args: args(t, "mode", "state", "n", 0), Limits: runtime.Limits{Timeout: 30 * time.Second}, Caller: caller})
			done <- struct{}{}
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); e.Stats().Idle != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the workers never got busy: %+v", e.Stats())
		}
	}
	giveBack := e.Borrow()
	if got := e.Stats(); got.Borrowed != 1 {
		t.Fatalf("borrowing: %+v", got)
	}
	// The borrowed worker joins the pool once it has started.
	for deadline := time.Now().Add(30 * time.Second); e.Stats().Workers != 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the borrowed worker never joined: %+v", e.Stats())
		}
	}
	giveBack()
	giveBack() // once only
	if got := e.Stats(); got.Borrowed != 0 {
		t.Fatalf("given back: %+v", got)
	}
	close(caller.release)
	<-done
	<-done
	// The next release retired the borrowed worker.
	for deadline := time.Now().Add(30 * time.Second); e.Stats().Workers != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the borrowed worker was not retired: %+v", e.Stats())
		}
	}
	e.Stop()
	if got := e.Stats(); got != (runtime.PoolStats{}) {
		t.Fatalf("stopped: %+v", got)
	}
}
