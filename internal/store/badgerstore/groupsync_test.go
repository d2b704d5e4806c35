package badgerstore

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every wait is covered by an fsync that started after the caller's write,
// and concurrent waits share fsyncs.
func TestGroupSync(t *testing.T) {
	t.Parallel()
	var written atomic.Int64 // "commits" so far
	var mu sync.Mutex
	var covered int64 // writes covered by the last finished fsync
	g := newGroupSync(func() error {
		upTo := written.Load() // everything written before the fsync starts
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		covered = max(covered, upTo)
		mu.Unlock()
		return nil
	})
	const workers, each = 32, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				mine := written.Add(1)
				if err := g.wait(); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				c := covered
				mu.Unlock()
				if c < mine {
					t.Errorf("wait returned before an fsync covered write %d (covered %d)", mine, c)
					return
				}
			}
		}()
	}
	wg.Wait()
	syncs, calls := g.stats()
	if calls != workers*each {
		t.Fatalf("calls = %d", calls)
	}
	if syncs*4 > calls {
		t.Fatalf("%d fsyncs for %d calls: not grouped", syncs, calls)
	}
	t.Logf("%d fsyncs for %d calls", syncs, calls)
}

func TestGroupSyncError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	fail := true
	g := newGroupSync(func() error {
		if fail {
			return boom
		}
		return nil
	})
	if err := g.wait(); !errors.Is(err, boom) {
		t.Fatalf("wait = %v, want the fsync's error", err)
	}
	fail = false
	if err := g.wait(); err != nil {
		t.Fatalf("wait after recovery = %v", err)
	}
	g.close()
	if err := g.wait(); !errors.Is(err, ErrClosed) {
		t.Fatalf("wait after close = %v", err)
	}
}
