package badgerstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runlet/runlet/internal/store"
)

// Run with:
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/store/badgerstore/
//
// ops/s is calls per wall-clock second over all goroutines; syncs/op is
// fsyncs per call (below 1 when group commit shares them).

func benchStore(b *testing.B) *Store {
	b.Helper()
	root := b.TempDir()
	s, err := Open(Options{
		Dir:     filepath.Join(root, "data"),
		KeyFile: filepath.Join(root, "secret.key"),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchJob() store.Job {
	return store.Job{
		ID:         uuid.Must(uuid.NewV7()).String(),
		Workspace:  "bench",
		ScriptPath: "f/bench/hello",
		ScriptHash: "0123456789abcdef",
		Args:       json.RawMessage(`{"name":"world","n":42}`),
		Trigger:    "api",
		CreatedBy:  "bench",
		CreatedAt:  time.Now(),
	}
}

// parallel runs fn b.N times over g goroutines and reports ops/s and
// syncs/op.
func parallel(b *testing.B, s *Store, g int, fn func() error) {
	b.Helper()
	syncs0, _ := s.group.stats()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	syncs, _ := s.group.stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(syncs-syncs0)/float64(b.N), "syncs/op")
}

func BenchmarkEnqueue(b *testing.B) {
	for _, c := range []struct {
		durable    bool
		goroutines int
	}{{true, 1}, {true, 32}, {false, 1}, {false, 32}} {
		name := fmt.Sprintf("durable=%v/goroutines=%d", c.durable, c.goroutines)
		b.Run(name, func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			parallel(b, s, c.goroutines, func() error { return s.Enqueue(ctx, benchJob(), c.durable) })
		})
	}
}

// BenchmarkClaimFinish: claim a queued job and finish it (the worker's
// cycle), from 1 and 8 workers.
func BenchmarkClaimFinish(b *testing.B) {
	for _, c := range []struct {
		durable    bool
		goroutines int
	}{{false, 1}, {true, 1}, {true, 8}} {
		name := fmt.Sprintf("durable=%v/goroutines=%d", c.durable, c.goroutines)
		b.Run(name, func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			for range b.N {
				if err := s.Enqueue(ctx, benchJob(), false); err != nil {
					b.Fatal(err)
				}
			}
			var id atomic.Int64
			parallel(b, s, c.goroutines, func() error {
				owner := fmt.Sprint("w", id.Add(1))
				j, err := s.Claim(ctx, owner, time.Now(), time.Minute)
				if err != nil || j == nil {
					return fmt.Errorf("claim: %v, %v", j, err)
				}
				j.Status = store.StatusSuccess
				j.Result = json.RawMessage(`{"ok":true}`)
				return s.Finish(ctx, *j, c.durable)
			})
		})
	}
}
