package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runlet/runlet/host"
	"github.com/runlet/runlet/pdk"
)

// Config configures an [Engine]. The zero value is usable.
type Config struct {
	// Workers is the number of worker processes, each running one guest
	// at a time. Default: the number of CPUs.
	Workers int
	// Spare keeps one extra worker started so a killed worker is replaced
	// at once. Default false (the server turns it on).
	Spare bool
	// CacheDir holds wazero's compilation cache so a restart does not
	// recompile. Default: <user cache dir>/runlet/wazero.
	CacheDir string
	// Grace is how long a guest may overrun its deadline before its worker
	// is killed (the soft stop normally ends it within a millisecond).
	// Default 250 ms.
	Grace time.Duration
	// WarmRecycle is how many jobs a warm instance serves before it is
	// reset. Default 1000.
	WarmRecycle int
	// CompileTimeout bounds compiling a module in a worker. Default 5 min.
	CompileTimeout time.Duration
	// StartTimeout bounds a worker's start. Default 30 s.
	StartTimeout time.Duration
	// Command starts a worker process; the process must call WorkerMain.
	// Default: this executable.
	Command []string
	// Stderr receives the worker processes' own diagnostics (never guest
	// output). Default os.Stderr.
	Stderr io.Writer
}

func (c Config) withDefaults() (Config, error) {
	if c.Workers <= 0 {
		c.Workers = goruntime.NumCPU()
	}
	if c.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		c.CacheDir = filepath.Join(dir, "runlet", "wazero")
	}
	if c.Grace <= 0 {
		c.Grace = 250 * time.Millisecond
	}
	if c.WarmRecycle <= 0 {
		c.WarmRecycle = 1000
	}
	if c.CompileTimeout <= 0 {
		c.CompileTimeout = 5 * time.Minute
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 30 * time.Second
	}
	if len(c.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("find worker executable: %w", err)
		}
		c.Command = []string{exe}
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	return c, nil
}

// Mode selects how a job's instance is prepared.
type Mode int

const (
	// Isolated (the default) starts every job from the guest's clean
	// post-initialisation state: no globals, heap or scope of an earlier job.
	Isolated Mode = iota
	// Warm reuses one instance for many jobs of the same script version,
	// resetting it after WarmRecycle jobs or any error. Opt-in per script.
	Warm
)

// Job is one run of a module.
type Job struct {
	Module Module
	Args   json.RawMessage // a JSON object; empty means {}
	// Load, when set, is handed to the guest's runlet_load export once per
	// instance, before the snapshot: an interpreter's script source. It is
	// part of the program's identity, so each script gets its own snapshot.
	Load   []byte
	Limits Limits
	Mode   Mode
	// Caller answers state, variable, resource and child-job calls; nil
	// answers "not supported".
	Caller host.Caller
	// Entry names the export an Extism plugin (Module.Kind KindExtism)
	// runs. Default DefaultEntry ("main"); ignored for runlet modules.
	Entry string
}

// Result is what a job produced. Run returns it with the logs even when
// the job failed.
type Result struct {
	Output json.RawMessage
	Logs   []host.Line
	Stats  Stats
}

// Engine runs jobs in worker processes.
type Engine struct {
	cfg   Config
	mu    sync.Mutex
	idle  []*proc
	spare *proc
	slots chan struct{}
	procs map[*proc]bool
	start sync.Once
	err   error
	done  chan struct{}
	stop  sync.Once
	// excess counts borrowed workers given back whose slot is not yet
	// reclaimed: the next releases retire that many workers.
	excess int
	// borrowed counts Borrow calls not yet given back.
	borrowed int
}

// New returns an engine; workers start on the first job or on Start.
func New(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	return &Engine{cfg: cfg, procs: map[*proc]bool{}, done: make(chan struct{})}, nil
}

// Start starts the worker processes. It is called by the first Run if not
// before; calling it again does nothing.
func (e *Engine) Start(ctx context.Context) error {
	e.start.Do(func() {
		n := e.cfg.Workers
		procs := make([]*proc, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { procs[i], errs[i] = e.spawn() })
		}
		wg.Wait()
		e.slots = make(chan struct{}, n+maxBorrowed)
		for i, p := range procs {
			if errs[i] != nil {
				e.err = errs[i]
				continue
			}
			e.procs[p] = true
			e.idle = append(e.idle, p)
			e.slots <- struct{}{}
		}
		if e.err != nil {
			for _, p := range procs {
				if p != nil {
					p.kill()
				}
			}
			return
		}
		if e.cfg.Spare {
			go e.refillSpare()
		}
	})
	return e.err
}

// Stop ends every worker: idle workers see their connection close and exit
// on their own; any still running after a second are killed. Running jobs
// fail. Stop is idempotent and safe before Start.
func (e *Engine) Stop() {
	e.stop.Do(func() {
		close(e.done)
		e.mu.Lock()
		procs := make([]*proc, 0, len(e.procs)+1)
		for p := range e.procs {
			procs = append(procs, p)
		}
		if e.spare != nil {
			procs = append(procs, e.spare)
		}
		e.mu.Unlock()
		for _, p := range procs {
			_ = unix.Shutdown(p.fd, unix.SHUT_WR)
		}
		deadline := time.After(time.Second)
		for _, p := range procs {
			select {
			case <-p.exited:
			case <-deadline:
			}
			p.kill()
		}
	})
}

func (e *Engine) refillSpare() {
	p, err := e.spawn()
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.done:
		p.kill()
		return
	default:
	}
	if e.spare != nil {
		p.kill()
		return
	}
	e.spare = p
}

// acquire takes an idle worker, preferring one that has hash compiled.
func (e *Engine) acquire(ctx context.Context, hash string) (*proc, error) {
	select {
	case <-e.slots:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.done:
		return nil, ErrClosed
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	best := len(e.idle) - 1
	for i, p := range e.idle {
		if p.loaded[hash] {
			best = i
			break
		}
	}
	p := e.idle[best]
	e.idle = append(e.idle[:best], e.idle[best+1:]...)
	return p, nil
}

func (e *Engine) release(p *proc) {
	e.mu.Lock()
	if e.excess > 0 {
		e.excess--
		delete(e.procs, p)
		e.mu.Unlock()
		p.kill()
		return
	}
	e.idle = append(e.idle, p)
	e.mu.Unlock()
	e.slots <- struct{}{}
}

// maxBorrowed bounds the workers borrowed at once (the slot channel's
// headroom); the server's child-depth limit keeps real use far below.
const maxBorrowed = 4096

// Borrow adds a worker to the pool while a running job waits for work
// that needs one — a parent job waiting for its child. The waiting job's
// worker holds no CPU, and without the extra worker a pool full of waiting
// parents could never run their children. Nothing is added while a worker
// is idle; the spare worker, when there is one, is taken first. giveBack
// shrinks the pool again (the next worker released retires); call it
// exactly once.
func (e *Engine) Borrow() (giveBack func()) {
	var (
		mu       sync.Mutex
		added    bool
		returned bool
	)
	e.mu.Lock()
	if len(e.idle) > 0 {
		// A worker is free for the child: nothing to add. (A parent that
		// later finds the pool exhausted borrows for itself.)
		e.mu.Unlock()
		return func() {}
	}
	e.borrowed++
	spare := e.spare
	e.spare = nil
	e.mu.Unlock()
	if spare != nil {
		go e.refillSpare()
	}
	go func() {
		p := spare
		if p == nil {
			var err error
			if p, err = e.spawn(); err != nil {
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		e.mu.Lock()
		select {
		case <-e.done:
			returned = true
		default:
		}
		if returned {
			e.mu.Unlock()
			p.kill()
			return
		}
		e.procs[p] = true
		e.idle = append(e.idle, p)
		e.mu.Unlock()
		added = true
		e.slots <- struct{}{}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			returned = true
			e.mu.Lock()
			e.borrowed--
			if added {
				e.excess++
			}
			e.mu.Unlock()
		})
	}
}

// releaseOrReplace returns p to the pool after a module error (the worker
// answered) and replaces it after anything else.
func (e *Engine) releaseOrReplace(p *proc, err error) {
	var me *ModuleError
	if errors.As(err, &me) {
		e.release(p)
		return
	}
	e.replace(p)
}

// replace discards a killed worker and puts a new one in its slot.
func (e *Engine) replace(dead *proc) {
	dead.kill()
	e.mu.Lock()
	delete(e.procs, dead)
	p := e.spare
	e.spare = nil
	e.mu.Unlock()
	put := func(p *proc) {
		e.mu.Lock()
		select {
		case <-e.done:
			e.mu.Unlock()
			p.kill()
			return
		default:
		}
		e.procs[p] = true
		e.idle = append(e.idle, p)
		e.mu.Unlock()
		e.slots <- struct{}{}
	}
	if p != nil {
		put(p)
		go e.refillSpare()
		return
	}
	go func() {
		for attempt := 0; ; attempt++ {
			p, err := e.spawn()
			if err == nil {
				put(p)
				return
			}
			select {
			case <-e.done:
				return
			case <-time.After(min(time.Duration(attempt+1)*100*time.Millisecond, 5*time.Second)):
			}
		}
	}()
}

// Prepare makes every idle worker ready to run job's program at once:
// the module compiled, an instance initialised (the script's init code runs
// here, under the job's limits) and snapshotted. Busy workers prepare on
// their first job. It returns the first preparation error.
func (e *Engine) Prepare(ctx context.Context, job Job) error {
	limits := job.Limits.WithDefaults()
	if err := limits.Validate(); err != nil {
		return err
	}
	ref := moduleRef(job.Module)
	msg := jobMsg{Module: ref, Limits: limits, Load: job.Load, Entry: job.Entry, WarmRecycle: e.cfg.WarmRecycle}
	return e.eachIdle(ctx, func(p *proc) error {
		if err := p.load(ctx, ref, e.cfg.CompileTimeout); err != nil {
			return err
		}
		return p.prepare(ctx, &msg, limits.Timeout+e.cfg.Grace)
	})
}

// Preload compiles mod in every idle worker so that later jobs do not wait
// for compilation. Workers that are busy compile it on their next job.
func (e *Engine) Preload(ctx context.Context, mod Module) error {
	ref := moduleRef(mod)
	return e.eachIdle(ctx, func(p *proc) error { return p.load(ctx, ref, e.cfg.CompileTimeout) })
}

// eachIdle runs fn on every worker idle right now, holding them until all
// are done. A worker fn fails on is released or replaced by the error.
func (e *Engine) eachIdle(ctx context.Context, fn func(*proc) error) error {
	if err := e.Start(ctx); err != nil {
		return err
	}
	var taken []*proc
	defer func() {
		for _, p := range taken {
			e.release(p)
		}
	}()
	for {
		select {
		case <-e.slots:
		default:
			return nil
		}
		e.mu.Lock()
		p := e.idle[len(e.idle)-1]
		e.idle = e.idle[:len(e.idle)-1]
		e.mu.Unlock()
		if err := fn(p); err != nil {
			e.releaseOrReplace(p, err)
			return err
		}
		taken = append(taken, p)
	}
}

// Run runs job and returns its result. Failures are typed: see
// [TimeoutError], [OutOfMemoryError], [ScriptError], [ExitError],
// [LimitError] and [TrapError]. ctx bounds waiting for a worker and the run;
// cancelling it stops the guest.
func (e *Engine) Run(ctx context.Context, job Job) (*Result, error) {
	if err := e.Start(ctx); err != nil {
		return nil, err
	}
	limits := job.Limits.WithDefaults()
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	args := job.Args
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	p, err := e.acquire(ctx, job.Module.Hash)
	if err != nil {
		return nil, err
	}
	ref := moduleRef(job.Module)
	if err := p.load(ctx, ref, e.cfg.CompileTimeout); err != nil {
		e.releaseOrReplace(p, err)
		return nil, err
	}
	msg := jobMsg{Module: ref, Limits: limits, Args: args, Load: job.Load, Entry: job.Entry, WarmRecycle: e.cfg.WarmRecycle, Warm: job.Mode == Warm}
	res, err, healthy := e.exchange(ctx, p, &msg, job.Caller)
	if healthy {
		e.release(p)
	} else {
		e.replace(p)
	}
	return res, err
}

// exchange sends the job and serves the worker's host calls until it is
// done. healthy is false when the worker had to be killed.
func (e *Engine) exchange(ctx context.Context, p *proc, msg *jobMsg, caller host.Caller) (*Result, error, bool) {
	id, err := p.register(msg)
	if err == nil {
		err = writeRaw(p.conn, frameJob, encodeJob(id, msg.Warm, msg.Args))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWorkerLost, err), false
	}
	// Past the hard deadline, or when ctx ends, the worker is killed; that
	// ends the blocked read below.
	const (
		running = iota
		finished
		hardTimeout
		canceled
	)
	var state atomic.Int32
	hard := time.Now().Add(msg.Limits.Timeout + e.cfg.Grace)
	timer := time.AfterFunc(time.Until(hard), func() {
		if state.CompareAndSwap(running, hardTimeout) {
			p.kill()
		}
	})
	defer timer.Stop()
	stop := context.AfterFunc(ctx, func() {
		if state.CompareAndSwap(running, canceled) {
			p.kill()
		}
	})
	defer stop()
	// Host calls run under the job's hard deadline too.
	callCtx, cancel := context.WithDeadline(ctx, hard)
	defer cancel()
	for {
		kind, payload, err := p.in.read()
		if err != nil {
			switch state.Load() {
			case canceled:
				return nil, ctx.Err(), false
			case hardTimeout:
				return nil, &TimeoutError{Limit: msg.Limits.Timeout, Hard: true}, false
			}
			return nil, e.lost(p, msg.Limits, err), false
		}
		switch kind {
		case frameCall:
			var c callMsg
			if err := json.Unmarshal(payload, &c); err != nil {
				return nil, fmt.Errorf("%w: bad host call: %v", ErrWorkerLost, err), false
			}
			reply := serveCall(callCtx, caller, c)
			if callCtx.Err() != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err(), false
				}
				p.kill()
				return nil, &TimeoutError{Limit: msg.Limits.Timeout, Hard: true}, false
			}
			if err := writeFrame(p.conn, frameCallReply, reply); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrWorkerLost, err), false
			}
		case frameDone:
			d, err := decodeDone(payload)
			if err != nil {
				return nil, fmt.Errorf("%w: bad reply: %v", ErrWorkerLost, err), false
			}
			res := &Result{Output: d.Result, Logs: d.Logs, Stats: d.Stats}
			// A timer that fired as the reply arrived has killed the worker.
			healthy := state.CompareAndSwap(running, finished)
			return res, d.Error.err(msg.Limits), healthy
		default:
			return nil, fmt.Errorf("%w: unexpected frame %q", ErrWorkerLost, kind), false
		}
	}
}

// lost explains a worker that vanished mid-job.
func (e *Engine) lost(p *proc, l Limits, cause error) error {
	p.kill()
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
	}
	if st := p.state; st != nil && st.ExitCode() == 2 {
		// The Go runtime of the worker ran out of memory (a backstop limit).
		return &OutOfMemoryError{Limit: l.MaxMemory}
	}
	return fmt.Errorf("%w: %v", ErrWorkerLost, cause)
}

func serveCall(ctx context.Context, caller host.Caller, c callMsg) callReply {
	if caller == nil {
		return callReply{Status: pdk.StatusUnsupported}
	}
	out, err := caller.Call(ctx, pdk.Op(c.Op), c.Req)
	switch {
	case errors.Is(err, host.ErrUnsupported):
		return callReply{Status: pdk.StatusUnsupported}
	case err != nil:
		return callReply{Status: pdk.StatusFailed, Body: []byte(err.Error())}
	}
	return callReply{Status: pdk.StatusOK, Body: out}
}

func (w *wireError) err(l Limits) error {
	if w == nil {
		return nil
	}
	switch w.Kind {
	case "timeout":
		return &TimeoutError{Limit: l.Timeout, Stack: w.Stack}
	case "oom":
		return &OutOfMemoryError{Limit: l.MaxMemory}
	case "script":
		return &ScriptError{Message: w.Message, Stack: w.Stack, Panic: w.Panic}
	case "exit":
		return &ExitError{Code: w.Code}
	case "limit":
		return &LimitError{Kind: w.LimitKind, Limit: w.Limit}
	case "trap":
		return &TrapError{Message: w.Message}
	}
	return errors.New(w.Message)
}

// Workers is the number of worker processes the engine keeps.
func (e *Engine) Workers() int { return e.cfg.Workers }

// PoolStats is a snapshot of an engine's worker pool.
type PoolStats struct {
	// Workers is the worker processes in the pool, busy or idle (the spare
	// and workers still starting are not counted).
	Workers int
	// Idle is the workers waiting for a job.
	Idle int
	// Borrowed is the workers lent by Borrow and not yet given back.
	Borrowed int
}

// Stats returns a snapshot of the worker pool: all zero before Start and
// after Stop.
func (e *Engine) Stats() PoolStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.done:
		return PoolStats{}
	default:
	}
	return PoolStats{Workers: len(e.procs), Idle: len(e.idle), Borrowed: e.borrowed}
}
