package badgerstore

import "sync"

// groupSync shares fsyncs between concurrent callers (group commit). A
// caller that committed a transaction calls wait, which returns once an
// fsync that started after the call has finished. While one fsync runs,
// every newcomer waits for it to end; then one of them (the leader) starts
// the next fsync, which covers all of them.
type groupSync struct {
	fn func() error

	mu      sync.Mutex
	cond    sync.Cond
	started uint64 // fsyncs started
	done    uint64 // fsyncs finished
	running bool
	err     error // result of the last finished fsync
	closed  bool
	calls   uint64 // wait calls
}

func newGroupSync(fn func() error) *groupSync {
	g := &groupSync{fn: fn}
	g.cond.L = &g.mu
	return g
}

// wait returns after an fsync that started after the call returned. An
// fsync already running when wait is called may have missed the caller's
// writes, so the caller needs the one after it.
func (g *groupSync) wait() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	want := g.started + 1
	for g.done < want {
		if g.closed {
			return ErrClosed
		}
		if g.running {
			g.cond.Wait()
			continue
		}
		g.running = true
		g.started++
		n := g.started
		g.mu.Unlock()
		err := g.fn()
		g.mu.Lock()
		g.running = false
		g.done = n
		g.err = err
		g.cond.Broadcast()
	}
	// A later fsync also covers our writes; its error is the one to report.
	return g.err
}

// close makes new waits fail and waits for a running fsync to end.
func (g *groupSync) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.running {
		g.cond.Wait()
	}
	g.cond.Broadcast()
}

// stats returns the number of fsyncs and of wait calls.
func (g *groupSync) stats() (syncs, calls uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started, g.calls
}
