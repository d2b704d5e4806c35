package quickjs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// The tests drive quickjs.wasm directly with wazero: one runtime and one
// compiled module shared by every test, a "runlet" host module whose
// functions find the calling guest's state through the context, and one
// instance per guest.

var shared struct {
	once     sync.Once
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	err      error
}

func runtimeForTests(tb testing.TB) (wazero.Runtime, wazero.CompiledModule) {
	tb.Helper()
	shared.once.Do(func() {
		ctx := context.Background()
		// Core features 2.0 without SIMD: compiling the module validates
		// that it has no SIMD instructions (threads are not in 2.0 either).
		cfg := wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2 &^ api.CoreFeatureSIMD)
		rt := wazero.NewRuntimeWithConfig(ctx, cfg)
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
		if err := instantiateHost(ctx, rt); err != nil {
			shared.err = err
			return
		}
		shared.compiled, shared.err = rt.CompileModule(ctx, Wasm)
		shared.rt = rt
	})
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.rt, shared.compiled
}

type logLine struct {
	Level int
	Text  string
}

type hostCall struct {
	Op  uint32
	Req string
}

// guest is one instance of the module plus the host-side state its host
// calls see.
type guest struct {
	mod api.Module
	ctx context.Context
	fns map[string]api.Function // exported functions, looked up once

	mu      sync.Mutex
	result  []byte
	failure []byte
	logs    []logLine
	pending []byte
	calls   []hostCall
	stdout  strings.Builder

	// Host-call behaviour.
	state       json.RawMessage                               // op 1/2; nil reads as null
	variables   map[string]string                             // op 4
	resources   map[string]json.RawMessage                    // op 5
	failOps     map[uint32]string                             // op -> status 1 with this message
	unsupported map[uint32]bool                               // op -> status 2
	http        func(req []byte) (status uint64, resp []byte) // op 6
	// ops answers the operations it has a function for, before the
	// behaviour above (called with the guest's lock held).
	ops map[uint32]func(req []byte) (status uint64, resp []byte)
}

type guestKey struct{}

func guestFrom(ctx context.Context) *guest { return ctx.Value(guestKey{}).(*guest) }

func instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	read := func(m api.Module, ptr, n uint64) []byte {
		b, ok := m.Memory().Read(uint32(ptr), uint32(n))
		if !ok {
			panic(fmt.Sprintf("guest passed out-of-range memory [%d,+%d)", ptr, n))
		}
		return append([]byte(nil), b...)
	}
	b := rt.NewHostModuleBuilder("runlet")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		g := guestFrom(ctx)
		g.mu.Lock()
		g.result = read(m, s[0], s[1])
		g.mu.Unlock()
	}), []api.ValueType{i32, i32}, nil).Export("result_set")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		g := guestFrom(ctx)
		g.mu.Lock()
		g.failure = read(m, s[0], s[1])
		g.mu.Unlock()
	}), []api.ValueType{i32, i32}, nil).Export("error_set")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		g := guestFrom(ctx)
		g.mu.Lock()
		g.logs = append(g.logs, logLine{Level: int(int32(s[0])), Text: string(read(m, s[1], s[2]))})
		g.mu.Unlock()
	}), []api.ValueType{i32, i32, i32}, nil).Export("log")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		g := guestFrom(ctx)
		op := uint32(s[0])
		req := read(m, s[1], s[2])
		status, resp := g.dispatch(op, req)
		g.mu.Lock()
		g.calls = append(g.calls, hostCall{Op: op, Req: string(req)})
		g.pending = resp
		g.mu.Unlock()
		s[0] = status<<32 | uint64(len(resp))
	}), []api.ValueType{i32, i32, i32}, []api.ValueType{i64}).Export("call")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
		g := guestFrom(ctx)
		g.mu.Lock()
		p := g.pending
		g.pending = nil
		g.mu.Unlock()
		if !m.Memory().Write(uint32(s[0]), p) {
			panic("recv into out-of-range memory")
		}
	}), []api.ValueType{i32}, nil).Export("recv")
	_, err := b.Instantiate(ctx)
	return err
}

// dispatch answers a host call like runlet's host would.
func (g *guest) dispatch(op uint32, req []byte) (status uint64, resp []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unsupported[op] {
		return 2, nil
	}
	if msg, ok := g.failOps[op]; ok {
		return 1, []byte(msg)
	}
	if f := g.ops[op]; f != nil {
		return f(req)
	}
	if op == 6 && g.http != nil {
		return g.http(req)
	}
	var r struct {
		Value json.RawMessage `json:"value"`
		Path  string          `json:"path"`
	}
	if err := json.Unmarshal(req, &r); err != nil {
		return 1, []byte("bad request: " + err.Error())
	}
	switch op {
	case 1:
		if g.state == nil {
			return 0, []byte("null")
		}
		return 0, g.state
	case 2:
		g.state = r.Value
		return 0, []byte("{}")
	case 4:
		v, ok := g.variables[r.Path]
		if !ok {
			return 1, []byte("variable " + r.Path + " not found")
		}
		b, _ := json.Marshal(v)
		return 0, b
	case 5:
		v, ok := g.resources[r.Path]
		if !ok {
			return 1, []byte("resource " + r.Path + " not found")
		}
		return 0, v
	}
	return 2, nil
}

// newInstance instantiates the module (running _initialize) without
// loading a script; the instance is closed when the test ends.
func newInstance(tb testing.TB) *guest {
	tb.Helper()
	g := instantiate(tb)
	tb.Cleanup(func() { g.mod.Close(context.Background()) })
	return g
}

// instantiate is newInstance without the cleanup.
func instantiate(tb testing.TB) *guest {
	tb.Helper()
	rt, compiled := runtimeForTests(tb)
	g := &guest{fns: map[string]api.Function{}}
	g.ctx = context.WithValue(context.Background(), guestKey{}, g)
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize").
		WithStdout(&lockedWriter{g: g}).
		WithStderr(&lockedWriter{g: g}).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithEnv(testEnvName, testEnvValue).
		WithRandSource(rand.Reader)
	mod, err := rt.InstantiateModule(g.ctx, compiled, cfg)
	if err != nil {
		tb.Fatalf("instantiate: %v", err)
	}
	g.mod = mod
	return g
}

// The environment variable every instance gets (process.env).
const testEnvName, testEnvValue = "RUNLET_TEST_GREETING", "héllo=wörld"

type lockedWriter struct{ g *guest }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	return w.g.stdout.Write(p)
}

// newGuest instantiates the module and loads script, failing the test when
// the load fails.
func newGuest(tb testing.TB, script string) *guest {
	tb.Helper()
	g := newInstance(tb)
	if rc, failure := g.load(tb, script); rc != 0 {
		tb.Fatalf("runlet_load = %d, error %s", rc, failure)
	}
	return g
}

func (g *guest) call(tb testing.TB, name string, params ...uint64) []uint64 {
	tb.Helper()
	fn := g.fns[name]
	if fn == nil {
		if fn = g.mod.ExportedFunction(name); fn == nil {
			tb.Fatalf("module does not export %s", name)
		}
		g.fns[name] = fn
	}
	res, err := fn.Call(g.ctx, params...)
	if err != nil {
		tb.Fatalf("%s: %v (guest output: %q)", name, err, g.output())
	}
	return res
}

func (g *guest) output() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stdout.String()
}

// write copies b into a buffer from runlet_alloc and returns its address.
func (g *guest) write(tb testing.TB, b []byte) uint32 {
	tb.Helper()
	ptr := uint32(g.call(tb, "runlet_alloc", uint64(len(b)))[0])
	if !g.mod.Memory().Write(ptr, b) {
		tb.Fatalf("runlet_alloc returned out-of-range %#x for %d bytes", ptr, len(b))
	}
	return ptr
}

func (g *guest) reset() {
	g.mu.Lock()
	g.result, g.failure = nil, nil
	g.mu.Unlock()
}

// load calls runlet_load with script and returns its status and the error
// document it reported.
func (g *guest) load(tb testing.TB, script string) (uint32, string) {
	tb.Helper()
	g.reset()
	ptr := g.write(tb, []byte(script))
	rc := uint32(g.call(tb, "runlet_load", uint64(ptr), uint64(len(script)))[0])
	g.mu.Lock()
	defer g.mu.Unlock()
	if rc == 0 && g.failure != nil {
		tb.Fatalf("runlet_load succeeded but reported error %s", g.failure)
	}
	return rc, string(g.failure)
}

// runRaw calls runlet_run with the raw argument document.
func (g *guest) runRaw(tb testing.TB, doc []byte) (rc uint32, result, failure string) {
	tb.Helper()
	g.reset()
	ptr := g.write(tb, doc)
	rc = uint32(g.call(tb, "runlet_run", uint64(ptr), uint64(len(doc)))[0])
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case rc == 0 && (g.result == nil || g.failure != nil):
		tb.Fatalf("runlet_run = 0 with result %q and error %q", g.result, g.failure)
	case rc == 1 && (g.failure == nil || g.result != nil):
		tb.Fatalf("runlet_run = 1 with result %q and error %q", g.result, g.failure)
	case rc > 1:
		tb.Fatalf("runlet_run = %d", rc)
	}
	return rc, string(g.result), string(g.failure)
}

// run calls main with args (JSON-encoded as {"args":[...]}) and returns its
// JSON result, failing the test if main failed.
func (g *guest) run(tb testing.TB, args ...any) string {
	tb.Helper()
	rc, result, failure := g.runArgs(tb, args...)
	if rc != 0 {
		tb.Fatalf("runlet_run failed: %s", failure)
	}
	return result
}

func (g *guest) runArgs(tb testing.TB, args ...any) (uint32, string, string) {
	tb.Helper()
	if args == nil {
		args = []any{}
	}
	doc, err := json.Marshal(map[string]any{"args": args})
	if err != nil {
		tb.Fatal(err)
	}
	return g.runRaw(tb, doc)
}

// failureDoc is the error document of error_set.
type failureDoc struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Stack   string `json:"stack"`
}

func parseFailure(tb testing.TB, s string) failureDoc {
	tb.Helper()
	var f failureDoc
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		tb.Fatalf("error document %q is not JSON: %v", s, err)
	}
	return f
}
