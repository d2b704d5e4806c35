package runtime

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/runlet/runlet/host"
	"github.com/runlet/runlet/host/fetch"
	"github.com/runlet/runlet/pdk"
)

// worker is the state of one worker process: a wazero runtime without
// CloseOnContextDone, the programs it has compiled, and the connection to
// the engine. It runs one job at a time.
type worker struct {
	rt       wazero.Runtime
	programs map[string]*program
	compiled map[string]wazero.CompiledModule
	defs     map[uint32]*jobMsg // registered programs, by the engine's id
	in       *frameReader
	out      io.Writer
	fetcher  *fetch.Fetcher
	gc       gcPacer
	cache    wazero.CompilationCache // nil without a cache directory
	extism   extismPrograms          // Extism plugins; see extism_worker.go
}

// maxPrograms bounds the programs a worker keeps; the least recently added
// is dropped first.
const maxPrograms = 64

func newWorker(ctx context.Context, cacheDir string, in io.Reader, out io.Writer) (*worker, error) {
	cfg := wazero.NewRuntimeConfigCompiler()
	var cache wazero.CompilationCache
	if cacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cacheDir); err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", cacheDir, err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, err
	}
	if err := host.Instantiate(ctx, rt); err != nil {
		return nil, err
	}
	return &worker{
		rt:       rt,
		programs: map[string]*program{},
		compiled: map[string]wazero.CompiledModule{},
		defs:     map[uint32]*jobMsg{},
		in:       &frameReader{r: bufio.NewReaderSize(in, 64<<10)},
		out:      out,
		fetcher:  fetch.New(fetch.Limits{}),
		cache:    cache,
	}, nil
}

// serve handles frames until the engine closes the connection.
func (w *worker) serve(ctx context.Context) error {
	if err := writeFrame(w.out, frameReady, nil); err != nil {
		return err
	}
	for {
		kind, payload, err := w.in.read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch kind {
		case frameProgram:
			var pm programMsg
			if err := json.Unmarshal(payload, &pm); err != nil {
				return fmt.Errorf("decode program: %w", err)
			}
			w.defs[pm.ID] = &jobMsg{Module: pm.Module, WarmRecycle: pm.WarmRecycle, Limits: pm.Limits, Load: pm.Load, Entry: pm.Entry,
				key: programKey(pm.Module, pm.Limits, pm.Load)}
		case framePrepare:
			msg := ""
			if err := w.prepare(ctx, payload); err != nil {
				msg = err.Error()
			}
			if err := writeRaw(w.out, frameLoaded, []byte(msg)); err != nil {
				return err
			}
		case frameJob:
			id, warm, args, err := decodeJob(payload)
			if err != nil {
				return err
			}
			def, ok := w.defs[id]
			if !ok {
				return fmt.Errorf("job for unknown program %d", id)
			}
			job := *def
			job.Warm, job.Args = warm, args
			var after func()
			if job.Module.Kind == KindExtism {
				after = w.runExtism(ctx, &job)
			} else {
				after = w.runJob(ctx, &job)
			}
			if after != nil {
				after()
			}
			w.gc.between()
		case frameLoad:
			var ref moduleRef
			msg := ""
			if err := json.Unmarshal(payload, &ref); err != nil {
				msg = "decode module: " + err.Error()
			} else if _, err := w.compile(ctx, ref); err != nil {
				msg = err.Error()
			}
			if err := writeRaw(w.out, frameLoaded, []byte(msg)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected frame %q", kind)
		}
	}
}

func (w *worker) compile(ctx context.Context, ref moduleRef) (wazero.CompiledModule, error) {
	if c, ok := w.compiled[ref.Hash]; ok {
		return c, nil
	}
	wasm, err := os.ReadFile(ref.Path)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	c, err := w.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("compile module %s: %w", ref.Hash, err)
	}
	w.compiled[ref.Hash] = c
	return c, nil
}

func programKey(ref moduleRef, l Limits, load []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%d|%x|", ref.Hash, l.MaxMemory, sha256.Sum256(load))
	env, _ := json.Marshal(l.Env) // sorted keys
	b.Write(env)
	return b.String()
}

func (w *worker) program(ctx context.Context, job *jobMsg) (*program, error) {
	key := job.key
	if p, ok := w.programs[key]; ok {
		return p, nil
	}
	c, err := w.compile(ctx, job.Module)
	if err != nil {
		return nil, err
	}
	if len(w.programs) >= maxPrograms {
		for k, p := range w.programs {
			p.idle.close(ctx)
			delete(w.programs, k)
			break
		}
	}
	p := &program{key: key, compiled: c, limits: job.Limits, globals: job.Module.Globals, load: job.Load}
	w.programs[key] = p
	return p, nil
}

// prepare makes an idle instance of a registered program ready (compiled,
// initialised, snapshotted) so its first job does not pay for it.
func (w *worker) prepare(ctx context.Context, payload []byte) error {
	id, _, _, err := decodeJob(append(payload, 0))
	if err != nil {
		return err
	}
	def, ok := w.defs[id]
	if !ok {
		return fmt.Errorf("prepare: unknown program %d", id)
	}
	if def.Module.Kind == KindExtism {
		return w.prepareExtism(ctx, def)
	}
	p, err := w.program(ctx, def)
	if err != nil || p.idle != nil {
		return err
	}
	st := &stopper{timeout: def.Limits.Timeout}
	st.timer = time.AfterFunc(def.Limits.Timeout, st.fire)
	logs := host.NewLogs(def.Limits.MaxLogBytes, st.fire)
	hj := &host.Job{Logs: logs, MaxResult: def.Limits.MaxResultBytes, MaxHostCalls: def.Limits.MaxHostCalls, Stop: st.fire}
	inst, err := instantiate(host.WithJob(ctx, hj), w.rt, p, st.arm, nil, nil)
	fired := st.finish()
	if err != nil {
		if we := classifyInit(err, fired, def.Limits, logs, hj); we != nil {
			return errors.New(we.Message)
		}
		return err
	}
	p.idle = inst
	return nil
}

// stopper arms an instance's stop flag at the job's deadline.
type stopper struct {
	mu      sync.Mutex
	g       api.MutableGlobal
	fired   bool
	done    bool
	timer   *time.Timer
	timeout time.Duration
}

func (s *stopper) arm(g api.MutableGlobal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.g = g
	if s.fired && g != nil {
		g.Set(1)
	}
}

func (s *stopper) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.fired = true
	if s.g != nil {
		s.g.Set(1)
	}
}

// finish disarms the stopper and reports whether it fired.
func (s *stopper) finish() bool {
	s.timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	return s.fired
}

// runJob runs one job and replies. It returns the clean-up to do after the
// reply (resetting or replacing the instance), so that work stays off the
// job's latency.
func (w *worker) runJob(ctx context.Context, job *jobMsg) (after func()) {
	start := time.Now()
	var stats Stats
	st := &stopper{timeout: job.Limits.Timeout}
	// Past the log budget the guest is stopped; the job fails with a
	// LimitError (a recorded limit takes precedence over the stop).
	logs := host.NewLogs(job.Limits.MaxLogBytes, st.fire)
	st.timer = time.AfterFunc(job.Limits.Timeout, st.fire)
	reply := func(res []byte, werr *wireError) {
		b, err := encodeDone(&doneMsg{Result: res, Error: werr, Logs: logs.Lines(), Stats: stats})
		if err != nil {
			b, _ = encodeDone(&doneMsg{Error: &wireError{Kind: "internal", Message: err.Error()}, Stats: stats})
		}
		_ = writeRaw(w.out, frameDone, b)
	}
	p, err := w.program(ctx, job)
	if err != nil {
		st.finish()
		reply(nil, &wireError{Kind: "internal", Message: err.Error()})
		return nil
	}
	stats.Reset = p.lastReset
	hj := &host.Job{
		Logs:         logs,
		MaxResult:    job.Limits.MaxResultBytes,
		MaxHostCalls: job.Limits.MaxHostCalls,
		Caller:       engineCaller{w},
		Policy:       fetch.Policy{AllowedHosts: job.Limits.AllowedHosts, AllowPrivate: job.Limits.AllowPrivate},
		Stop:         st.fire,
	}
	if len(job.Limits.AllowedHosts) > 0 {
		hj.Fetcher = w.fetcher
	}
	stdout, stderr := logs.Stream(host.LevelInfo), logs.Stream(host.LevelError)
	jctx := host.WithJob(ctx, hj)
	inst := p.idle
	p.idle = nil
	if inst != nil && !job.Warm && inst.jobs > 0 {
		// An isolated job after warm jobs of the same program: the warm
		// instance's state must not be visible, so reset it first.
		t := time.Now()
		if inst.restore(p.snap) {
			inst.jobs = 0
		} else {
			inst.close(ctx)
			inst = nil
		}
		stats.Reset += time.Since(t)
	}
	if inst == nil {
		stats.Fresh = true
		inst, err = instantiate(jctx, w.rt, p, st.arm, stdout, stderr)
		stats.Prepare = time.Since(start)
		if err != nil {
			fired := st.finish()
			stdout.Flush()
			stderr.Flush()
			reply(nil, classifyInit(err, fired, job.Limits, logs, hj))
			return nil
		}
	}
	st.arm(inst.stop)
	inst.stdout.set(stdout)
	inst.stderr.set(stderr)

	runStart := time.Now()
	rc, callErr := inst.begin(jctx, job, time.Since(start))
	if callErr == nil && rc == 0 {
		rc, callErr = inst.call(jctx, job.Args)
	}
	stats.Run = time.Since(runStart)
	fired := st.finish()
	stdout.Flush()
	stderr.Flush()
	inst.stdout.set(nil)
	inst.stderr.set(nil)
	inst.jobs++

	var (
		result []byte
		werr   *wireError
	)
	switch {
	case callErr != nil:
		werr = classifyTrap(callErr, fired, inst.mem.oom || logs.SawOutOfMemory(), hj.Limit(), job.Limits, logs.Fatal())
	case hj.Limit() != nil:
		l := hj.Limit()
		werr = &wireError{Kind: "limit", Message: l.Error(), LimitKind: l.Kind, Limit: l.Limit}
	case rc != 0 && inst.mem.oom:
		// The guest caught its failed allocation (QuickJS throws
		// "out of memory"); the cause is still the memory limit.
		werr = &wireError{Kind: "oom", Message: "out of memory", Limit: job.Limits.MaxMemory}
	case rc != 0:
		var f pdk.Failure
		if err := json.Unmarshal(hj.Failure(), &f); err != nil {
			f.Message = "script failed without an error message"
		}
		switch {
		case f.Timeout:
			werr = &wireError{Kind: "timeout", Message: f.Message, Stack: f.Stack}
		case f.OOM:
			werr = &wireError{Kind: "oom", Message: f.Message, Limit: job.Limits.MaxMemory}
		default:
			werr = &wireError{Kind: "script", Message: f.Message, Stack: f.Stack, Panic: f.Panic}
		}
	default:
		result = hj.Result()
		if result == nil {
			result = []byte("null")
		}
	}
	reply(result, werr)

	return func() {
		t := time.Now()
		defer func() { p.lastReset = time.Since(t) }()
		keep := callErr == nil
		if keep && job.Warm && werr == nil && (job.WarmRecycle <= 0 || inst.jobs < job.WarmRecycle) && !inst.interpreter() {
			p.idle = inst // warm: keep the state as it is
			return
		}
		if keep && inst.restore(p.snap) {
			inst.jobs = 0
			p.idle = inst
		} else {
			inst.close(ctx)
			// Prepare the replacement now, between jobs.
			if ni, err := instantiate(ctx, w.rt, p, func(api.MutableGlobal) {}, nil, nil); err == nil {
				p.idle = ni
			}
		}
	}
}

// begin tells a guest that exports runlet_begin the coming run's in-guest
// deadline and memory limit. The in-guest deadline is a little before the
// job's: a guest that stops itself there reports a clean timeout with its
// stack and stays reusable, ahead of the stop flag.
func (i *instance) begin(ctx context.Context, job *jobMsg, elapsed time.Duration) (uint32, error) {
	if i.beginFn == nil {
		return 0, nil
	}
	soft := softTimeout(job.Limits.Timeout, elapsed)
	res, err := i.beginFn.Call(ctx, 0, uint64(soft.Milliseconds()), uint64(job.Limits.MaxMemory))
	if err != nil {
		return 0, err
	}
	return api.DecodeU32(res[0]), nil
}

// interpreter reports a guest that hosts a language runtime (it exports
// runlet_begin, as the QuickJS plugin does). Warm mode resets such an
// instance from its snapshot after every job anyway: that gives the next
// job pristine globals and built-ins, and at 0.06 ms it is cheaper than the
// interpreter's own fresh scope (a new JSContext costs ~1 ms; RATIONALE.md).
func (i *instance) interpreter() bool { return i.beginFn != nil }

// softTimeout is the in-guest deadline, from now, for a job with timeout t
// of which elapsed has passed: 5% of t (at most 50 ms) before the job's
// deadline, and at least 1 ms.
func softTimeout(t, elapsed time.Duration) time.Duration {
	return max(t-elapsed-min(t/20, 50*time.Millisecond), time.Millisecond)
}

// call writes args into the guest and runs it.
func (i *instance) call(ctx context.Context, args []byte) (uint32, error) {
	res, err := i.alloc.Call(ctx, uint64(len(args)))
	if err != nil {
		return 0, err
	}
	ptr := api.DecodeU32(res[0])
	if len(args) > 0 && !i.mod.Memory().Write(ptr, args) {
		return 0, fmt.Errorf("guest returned an out-of-range argument buffer")
	}
	res, err = i.run.Call(ctx, uint64(ptr), uint64(len(args)))
	if err != nil {
		return 0, err
	}
	return api.DecodeU32(res[0]), nil
}

func classifyTrap(err error, stopped, oom bool, lim *host.LimitError, l Limits, fatal string) *wireError {
	var exit *sys.ExitError
	switch {
	case errors.As(err, &exit):
		return &wireError{Kind: "exit", Code: exit.ExitCode(), Message: err.Error()}
	case lim != nil:
		return &wireError{Kind: "limit", Message: lim.Error(), LimitKind: lim.Kind, Limit: lim.Limit}
	case stopped:
		return &wireError{Kind: "timeout", Message: err.Error()}
	case oom:
		return &wireError{Kind: "oom", Message: err.Error(), Limit: l.MaxMemory}
	case fatal != "":
		// The guest runtime crashed and said why (e.g. a stack overflow).
		return &wireError{Kind: "script", Message: fatal, Stack: err.Error()}
	}
	return &wireError{Kind: "trap", Message: err.Error()}
}

func classifyInit(err error, stopped bool, l Limits, logs *host.Logs, hj *host.Job) *wireError {
	var ie *initError
	var oomErr *OutOfMemoryError
	var le *loadError
	switch {
	case errors.As(err, &le):
		var f pdk.Failure
		if json.Unmarshal(hj.Failure(), &f) != nil || f.Message == "" {
			f.Message = le.Error()
		}
		return &wireError{Kind: "script", Message: f.Message, Stack: f.Stack}
	case errors.As(err, &oomErr):
		return &wireError{Kind: "oom", Message: err.Error(), Limit: l.MaxMemory}
	case errors.As(err, &ie):
		return classifyTrap(ie.err, stopped, ie.mem.oom || logs.SawOutOfMemory(), nil, l, logs.Fatal())
	}
	return &wireError{Kind: "internal", Message: err.Error()}
}

// engineCaller forwards host calls to the engine over the connection and
// waits for the answer.
type engineCaller struct{ w *worker }

func (c engineCaller) Call(ctx context.Context, op pdk.Op, req []byte) ([]byte, error) {
	if err := writeFrame(c.w.out, frameCall, callMsg{Op: uint32(op), Req: req}); err != nil {
		return nil, err
	}
	kind, payload, err := c.w.in.read()
	if err != nil {
		return nil, err
	}
	if kind != frameCallReply {
		return nil, fmt.Errorf("unexpected frame %q while waiting for a host call reply", kind)
	}
	var r callReply
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, err
	}
	switch r.Status {
	case pdk.StatusOK:
		return r.Body, nil
	case pdk.StatusUnsupported:
		return nil, host.ErrUnsupported
	}
	return nil, errors.New(string(r.Body))
}
