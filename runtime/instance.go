package runtime

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Names the module rewriter gives the exports runlet relies on.
const (
	stopGlobal    = "__runlet_stop"
	globalPrefix  = "__runlet_g"
	exportAlloc   = "runlet_alloc"
	exportRun     = "runlet_run"
	exportWarmup  = "runlet_warmup"
	exportReseed  = "runlet_reseed"
	exportBegin   = "runlet_begin"
	exportLoad    = "runlet_load"
	exportABI     = "runlet_abi_v1"
	exportInitial = "_initialize"
)

// program is one compiled module in a worker with the limits it runs under,
// the post-initialisation snapshot, and its idle instances.
type program struct {
	key       string
	compiled  wazero.CompiledModule
	limits    Limits
	snap      *snapshot
	idle      *instance // isolated: reset and ready; warm: the warm instance
	globals   []string  // snapshot global export names
	load      []byte    // handed to runlet_load before the snapshot
	lastReset time.Duration
}

// snapshot is a guest's complete state right after initialisation: linear
// memory and every module-defined global.
type snapshot struct {
	image   []byte
	globals []uint64
}

// instance is one instantiated guest.
type instance struct {
	mod     api.Module
	mem     *linearMemory
	alloc   api.Function
	run     api.Function
	reseed  api.Function // optional: runlet_reseed
	beginFn api.Function // optional: runlet_begin
	stop    api.MutableGlobal
	globals []api.MutableGlobal
	stdout  *switchWriter
	stderr  *switchWriter
	jobs    int
}

// switchWriter lets one instance's WASI stdout or stderr feed each job's
// logs in turn.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) { s.mu.Lock(); s.w = w; s.mu.Unlock() }

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}

// guestConfig is the WASI configuration every guest gets: stdout and
// stderr to the job's logs, real clocks and randomness, the granted
// environment (in a stable order) and nothing else.
func guestConfig(stdout, stderr io.Writer, env map[string]string) wazero.ModuleConfig {
	cfg := wazero.NewModuleConfig().
		WithStdout(stdout).
		WithStderr(stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cfg = cfg.WithEnv(k, env[k])
	}
	return cfg
}

// instantiate creates an instance of p. The first instance of a program runs
// the guest's initialisation and warm-up and becomes the snapshot; later
// instances start from the snapshot without re-running initialisation.
func instantiate(ctx context.Context, rt wazero.Runtime, p *program, armStop func(api.MutableGlobal), stdout, stderr io.Writer) (*instance, error) {
	alloc := &memoryAllocator{limit: uint64(p.limits.MaxMemory)}
	ctx = experimental.WithMemoryAllocator(ctx, alloc)
	inst := &instance{stdout: &switchWriter{w: stdout}, stderr: &switchWriter{w: stderr}}
	cfg := guestConfig(inst.stdout, inst.stderr, p.limits.Env).WithName("").WithStartFunctions()
	mod, err := rt.InstantiateModule(ctx, p.compiled, cfg)
	if err != nil {
		if lm := alloc.take(); lm != nil && lm.oom {
			return nil, &OutOfMemoryError{Limit: p.limits.MaxMemory}
		}
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	inst.mod = mod
	inst.mem = alloc.take()
	inst.alloc = mod.ExportedFunction(exportAlloc)
	inst.run = mod.ExportedFunction(exportRun)
	inst.reseed = mod.ExportedFunction(exportReseed)
	inst.beginFn = mod.ExportedFunction(exportBegin)
	g, _ := mod.ExportedGlobal(stopGlobal).(api.MutableGlobal)
	if inst.alloc == nil || inst.run == nil || g == nil || mod.ExportedFunction(exportABI) == nil {
		mod.Close(ctx)
		return nil, fmt.Errorf("instantiate: module does not implement runlet ABI v1 (missing %s, %s, %s or %s)", exportABI, exportAlloc, exportRun, stopGlobal)
	}
	inst.stop = g
	for _, name := range p.globals {
		mg, ok := mod.ExportedGlobal(name).(api.MutableGlobal)
		if !ok {
			// Immutable globals never change; nothing to restore.
			inst.globals = append(inst.globals, nil)
			continue
		}
		inst.globals = append(inst.globals, mg)
	}
	if p.snap != nil {
		inst.restore(p.snap)
		return inst, nil
	}
	// First instance: initialise under the stop flag (init functions are
	// user code too), warm up, and snapshot.
	armStop(g)
	if fn := mod.ExportedFunction(exportInitial); fn != nil {
		if _, err := fn.Call(ctx); err != nil {
			mod.Close(ctx)
			return nil, &initError{name: exportInitial, err: err, mem: inst.mem}
		}
	}
	if err := inst.loadScript(ctx, p.load); err != nil {
		mod.Close(ctx)
		return nil, err
	}
	if fn := mod.ExportedFunction(exportWarmup); fn != nil {
		if _, err := fn.Call(ctx); err != nil {
			mod.Close(ctx)
			return nil, &initError{name: exportWarmup, err: err, mem: inst.mem}
		}
	}
	p.snap = inst.snapshot()
	return inst, nil
}

// loadScript hands an interpreter its script through runlet_load.
func (i *instance) loadScript(ctx context.Context, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	fn := i.mod.ExportedFunction(exportLoad)
	if fn == nil {
		return fmt.Errorf("instantiate: module has no %s export but the job carries a script to load", exportLoad)
	}
	res, err := i.alloc.Call(ctx, uint64(len(src)))
	if err != nil {
		return &initError{name: exportAlloc, err: err, mem: i.mem}
	}
	ptr := api.DecodeU32(res[0])
	if !i.mod.Memory().Write(ptr, src) {
		return fmt.Errorf("instantiate: guest returned an out-of-range load buffer")
	}
	res, err = fn.Call(ctx, uint64(ptr), uint64(len(src)))
	if err != nil {
		return &initError{name: exportLoad, err: err, mem: i.mem}
	}
	if rc := api.DecodeU32(res[0]); rc != 0 {
		return &loadError{}
	}
	return nil
}

// loadError is a script the guest's runlet_load refused (a syntax error);
// the guest reported why with error_set.
type loadError struct{}

func (loadError) Error() string { return "the script failed to load" }

// initError is a failure while running the guest's initialisation.
type initError struct {
	name string
	err  error
	mem  *linearMemory
}

func (e *initError) Error() string { return fmt.Sprintf("guest %s: %v", e.name, e.err) }
func (e *initError) Unwrap() error { return e.err }

func (i *instance) snapshot() *snapshot {
	size := i.mod.Memory().Size()
	b, _ := i.mod.Memory().Read(0, size)
	s := &snapshot{image: slices.Clone(b)}
	for _, g := range i.globals {
		if g == nil {
			s.globals = append(s.globals, 0)
			continue
		}
		s.globals = append(s.globals, g.Get())
	}
	return s
}

// restore brings the instance back to s. It reports false when the memory
// could not be brought back to the snapshot's size (the caller then
// replaces the instance).
func (i *instance) restore(s *snapshot) bool {
	mem := i.mod.Memory()
	size := uint64(len(s.image))
	if uint64(mem.Size()) > size {
		if !shrink(mem, i.mem, size) {
			return false
		}
	}
	if uint64(mem.Size()) < size {
		if _, ok := mem.Grow(uint32((size - uint64(mem.Size())) >> 16)); !ok {
			return false
		}
	}
	i.mem.release(size)
	copy(i.mem.mem[:size], s.image)
	for k, g := range i.globals {
		if g != nil {
			g.Set(s.globals[k])
		}
	}
	i.stop.Set(0)
	i.mem.oom = false
	if i.reseed != nil {
		if _, err := i.reseed.Call(context.Background()); err != nil {
			return false
		}
	}
	return true
}

func (i *instance) close(ctx context.Context) {
	if i != nil && i.mod != nil {
		_ = i.mod.Close(ctx)
		i.mod = nil
	}
}
