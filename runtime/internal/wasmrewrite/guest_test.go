package wasmrewrite

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// guestBuild caches the Go reactor built from testdata/guest for all tests
// and benchmarks of the package; TestMain removes its directory.
var guestBuild struct {
	once sync.Once
	dir  string
	wasm []byte
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if guestBuild.dir != "" {
		os.RemoveAll(guestBuild.dir)
	}
	os.Exit(code)
}

// guestWasm returns the Go wasip1 reactor built from testdata/guest.
func guestWasm(tb testing.TB) []byte {
	tb.Helper()
	g := &guestBuild
	g.once.Do(func() {
		if g.dir, g.err = os.MkdirTemp("", "wasmrewrite-guest-"); g.err != nil {
			return
		}
		out := filepath.Join(g.dir, "guest.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-buildvcs=false", "-o", out, "./testdata/guest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			g.err = fmt.Errorf("building the Go reactor: GOOS=wasip1 GOARCH=wasm %s: %v\n%s", strings.Join(cmd.Args, " "), err, msg)
			return
		}
		g.wasm, g.err = os.ReadFile(out)
	})
	if g.err != nil {
		tb.Fatal(g.err)
	}
	return g.wasm
}

// rewrittenGuest returns the guest rewritten with the default options.
func rewrittenGuest(tb testing.TB) *Result {
	tb.Helper()
	res, err := Rewrite(guestWasm(tb))
	if err != nil {
		tb.Fatalf("Rewrite(guest): %v", err)
	}
	return res
}

// rewrittenGuestWith returns the guest rewritten with placement p.
func rewrittenGuestWith(tb testing.TB, p Placement) *Result {
	tb.Helper()
	res, err := RewriteWith(guestWasm(tb), Options{Placement: p})
	if err != nil {
		tb.Fatalf("RewriteWith(guest, %v): %v", p, err)
	}
	return res
}

// wantSum is what the guest's sum(n) returns.
func wantSum(n int32) int64 {
	var s int64
	for i := int32(0); i < n; i++ {
		s += int64(i)*6364136223846793005 + 1442695040888963407
	}
	return s
}

// compilationCache lets the tests share wazero's (slow) compilation of the
// guest across runtimes with the default configuration.
var compilationCache = wazero.NewCompilationCache()

// instantiateGuest instantiates a Go reactor (calling _initialize) in a new
// runtime made from cfg (nil: default configuration); the runtime is closed
// when tb ends.
func instantiateGuest(tb testing.TB, cfg wazero.RuntimeConfig, wasm []byte) api.Module {
	tb.Helper()
	ctx := context.Background()
	if cfg == nil {
		cfg = wazero.NewRuntimeConfig().WithCompilationCache(compilationCache)
	}
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	tb.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	mod, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		tb.Fatalf("instantiating: %v", err)
	}
	return mod
}

func call1(t *testing.T, mod api.Module, name string, args ...uint64) int32 {
	t.Helper()
	fn := mod.ExportedFunction(name)
	if fn == nil {
		t.Fatalf("no exported function %q", name)
	}
	res, err := fn.Call(context.Background(), args...)
	if err != nil {
		t.Fatalf("%s%v: %v", name, args, err)
	}
	return int32(res[0])
}

func callI64(t *testing.T, mod api.Module, name string, args ...uint64) int64 {
	t.Helper()
	res, err := mod.ExportedFunction(name).Call(context.Background(), args...)
	if err != nil {
		t.Fatalf("%s%v: %v", name, args, err)
	}
	return int64(res[0])
}

func TestGuestFiboBeforeAndAfter(t *testing.T) {
	t.Parallel()
	orig := guestWasm(t)
	res := rewrittenGuest(t)
	t.Logf("module size %d -> %d bytes (%+.2f%%), %d loops, %d checks, %d snapshot globals",
		len(orig), len(res.Wasm), 100*float64(len(res.Wasm)-len(orig))/float64(len(orig)), res.Loops, res.ChecksInserted, len(res.Globals))
	if res.ChecksInserted == 0 || res.Loops == 0 {
		t.Error("no loops or no checks in a Go module")
	}
	if res.StopGlobal != StopGlobalName {
		t.Errorf("StopGlobal = %q", res.StopGlobal)
	}

	headers := rewrittenGuestWith(t, PlaceLoopHeaders)
	t.Logf("with PlaceLoopHeaders: %d bytes, %d loops, %d checks", len(headers.Wasm), headers.Loops, headers.ChecksInserted)
	if headers.Loops != res.Loops || headers.ChecksInserted != headers.Loops {
		t.Errorf("PlaceLoopHeaders: Loops = %d, ChecksInserted = %d, want %d and %d", headers.Loops, headers.ChecksInserted, res.Loops, res.Loops)
	}

	for name, wasm := range map[string][]byte{"original": orig, "rewritten": res.Wasm, "loopheaders": headers.Wasm} {
		mod := instantiateGuest(t, nil, wasm)
		if got := call1(t, mod, "fibo", 20); got != 6765 {
			t.Errorf("%s: fibo(20) = %d, want 6765", name, got)
		}
		if got, want := callI64(t, mod, "sum", 1000), wantSum(1000); got != want {
			t.Errorf("%s: sum(1000) = %d, want %d", name, got, want)
		}
		stop := mod.ExportedGlobal(StopGlobalName)
		if name == "original" {
			if stop != nil {
				t.Errorf("original exports %s", StopGlobalName)
			}
			continue
		}
		if stop == nil {
			t.Fatalf("%s is not exported", StopGlobalName)
		}
		if _, ok := stop.(api.MutableGlobal); !ok || stop.Type() != api.ValueTypeI32 || stop.Get() != 0 {
			t.Errorf("%s: mutable=%v type=%v value=%d, want a mutable i32 equal to 0", StopGlobalName, ok, stop.Type(), stop.Get())
		}
	}
}

// TestGuestStop stops the Go guest's infinite loop (spin) from another
// goroutine, with both placements, one after the other.
func TestGuestStop(t *testing.T) {
	t.Parallel()
	for _, p := range placements {
		t.Run(p.String(), func(t *testing.T) { testGuestStop(t, rewrittenGuestWith(t, p).Wasm) })
	}
}

func testGuestStop(t *testing.T, wasm []byte) {
	mod := instantiateGuest(t, nil, wasm)
	stop := mod.ExportedGlobal(StopGlobalName).(api.MutableGlobal)
	spin := mod.ExportedFunction("spin")

	// Machine code generated by wazero cannot be preempted, so a Go
	// stop-the-world (e.g. a GC triggered by another parallel test) that
	// starts while spin runs waits for spin to return, and stops this
	// goroutine too, which then never sets the flag: the test binary would
	// hang. Pausing the GC rules that out; allocate little until the guest
	// has stopped.
	old := pauseGC()

	done := make(chan error, 1)
	go func() {
		_, err := spin.Call(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		debug.SetGCPercent(old)
		t.Fatalf("spin returned before being stopped: %v", err)
	default:
	}
	stop.Set(1)
	start := time.Now()
	select {
	case err := <-done:
		debug.SetGCPercent(old)
		if err == nil {
			t.Fatal("spin returned without error after the stop flag was set")
		}
		if !strings.Contains(err.Error(), "unreachable") {
			t.Errorf("spin error = %v, want an unreachable trap", err)
		}
		t.Logf("stopped after %v: %v", time.Since(start), strings.SplitN(err.Error(), "\n", 2)[0])
	case <-time.After(5 * time.Second):
		// Leave the GC disabled: the guest still spins and a GC would hang
		// the remaining tests.
		t.Fatal("spin did not stop within 5s of setting the stop flag")
	}
}

// pauseGC turns the garbage collector off and returns once no collection
// is running or finishing, so that none can wait for a guest: it returns
// the old GC percent for debug.SetGCPercent.
//
// debug.SetGCPercent(-1) alone is not enough: it waits for the mark phase
// of a running cycle only, and mark termination goes on with the world
// started, waiting for every P to reach a safe point (forEachP, to flush
// its caches) while it keeps its own P. A guest entered meanwhile never
// reaches one, and with GOMAXPROCS=2 no P is left for the goroutine that
// would set the stop flag. runtime.GC completes any cycle already being
// started; ReadMemStats stops the world, which waits until the last cycle
// has finished (it holds worldsema until after forEachP).
func pauseGC() int {
	old := debug.SetGCPercent(-1)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return old
}

func TestGuestSnapshotGlobals(t *testing.T) {
	t.Parallel()
	orig := guestWasm(t)
	res := rewrittenGuest(t)
	defined := countDefinedGlobals(t, orig)
	if len(res.Globals) != int(defined) || defined == 0 {
		t.Fatalf("got %d snapshot globals, the module defines %d", len(res.Globals), defined)
	}
	for i, name := range res.Globals {
		if want := fmt.Sprintf("__runlet_g%d", i); name != want {
			t.Errorf("Globals[%d] = %q, want %q", i, name, want)
		}
	}

	mod := instantiateGuest(t, nil, res.Wasm)
	mem := mod.Memory()
	snapshot := func() (memory []byte, globals []uint64) {
		b, ok := mem.Read(0, mem.Size())
		if !ok {
			t.Fatal("reading memory failed")
		}
		for _, name := range res.Globals {
			g := mod.ExportedGlobal(name)
			if g == nil {
				t.Fatalf("global %q is not exported", name)
			}
			globals = append(globals, g.Get())
		}
		return append([]byte(nil), b...), globals
	}
	restore := func(memory []byte, globals []uint64) {
		if mem.Size() != uint32(len(memory)) {
			t.Fatalf("memory grew from %d to %d bytes; cannot restore", len(memory), mem.Size())
		}
		mem.Write(0, memory)
		for i, name := range res.Globals {
			g := mod.ExportedGlobal(name)
			if mg, ok := g.(api.MutableGlobal); ok {
				mg.Set(globals[i])
			} else if g.Get() != globals[i] {
				t.Fatalf("immutable global %s changed", name)
			}
		}
	}

	if got := call1(t, mod, "counter"); got != 1 {
		t.Fatalf("counter() = %d, want 1", got)
	}
	memory, globals := snapshot()
	for want := int32(2); want <= 4; want++ {
		if got := call1(t, mod, "counter"); got != want {
			t.Fatalf("counter() = %d, want %d", got, want)
		}
	}
	// Restoring the snapshot rewinds the guest: counter starts again at 2,
	// and the Go runtime still works (fibo).
	restore(memory, globals)
	for want := int32(2); want <= 3; want++ {
		if got := call1(t, mod, "counter"); got != want {
			t.Fatalf("after restore: counter() = %d, want %d", got, want)
		}
	}
	if got := call1(t, mod, "fibo", 15); got != 610 {
		t.Fatalf("after restore: fibo(15) = %d, want 610", got)
	}
}

// countDefinedGlobals independently counts the globals a module defines,
// using encoding/binary's Uvarint (which is unsigned LEB128). It fails the
// test if the module imports globals, which would shift the indices.
func countDefinedGlobals(t *testing.T, wasm []byte) (defined uint64) {
	t.Helper()
	uvarint := func(p *[]byte) uint64 {
		v, n := binary.Uvarint(*p)
		if n <= 0 {
			t.Fatal("countDefinedGlobals: bad LEB128")
		}
		*p = (*p)[n:]
		return v
	}
	for p := wasm[8:]; len(p) > 0; {
		id := p[0]
		p = p[1:]
		size := uvarint(&p)
		payload := p[:size]
		p = p[size:]
		switch id {
		case secImport:
			for n := uvarint(&payload); n > 0; n-- {
				payload = payload[uvarint(&payload):] // module
				payload = payload[uvarint(&payload):] // field
				if kind := payload[0]; kind != externFunc {
					t.Fatalf("countDefinedGlobals: the test only handles function imports, got kind %d", kind)
				}
				payload = payload[1:]
				uvarint(&payload) // type index
			}
		case secGlobal:
			defined = uvarint(&payload)
		}
	}
	return defined
}

func TestGuestRewriteTwice(t *testing.T) {
	t.Parallel()
	res := rewrittenGuest(t)
	_, err := Rewrite(res.Wasm)
	if !errors.Is(err, ErrAlreadyRewritten) {
		t.Fatalf("second Rewrite: err = %v, want ErrAlreadyRewritten", err)
	}
	if !strings.Contains(err.Error(), StopGlobalName) {
		t.Errorf("error %q does not name %s", err, StopGlobalName)
	}
}

func TestGuestTruncated(t *testing.T) {
	t.Parallel()
	wasm := guestWasm(t)
	for i := range 20 {
		n := len(wasm) * i / 20
		if _, err := Rewrite(wasm[:n]); err == nil {
			t.Errorf("Rewrite(first %d of %d bytes) succeeded", n, len(wasm))
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("Rewrite(first %d bytes): %v, want ErrMalformed", n, err)
		}
	}
}

// benchGuest benchmarks the guest export fn(arg), which returns want, in
// the original guest, the guest rewritten with each placement and the
// original guest run with WithCloseOnContextDone (wazero's own
// interruption). Run the benchmarks with -count and compare the variants of
// the same run: the ratios matter, not the absolute times.
func benchGuest(b *testing.B, fn string, arg, want uint64) {
	ctx := context.Background()
	bench := func(b *testing.B, cfg wazero.RuntimeConfig, wasm []byte, ctx context.Context) {
		f := instantiateGuest(b, cfg, wasm).ExportedFunction(fn)
		stack := make([]uint64, 1)
		for b.Loop() {
			stack[0] = arg
			if err := f.CallWithStack(ctx, stack); err != nil {
				b.Fatal(err)
			}
		}
		if stack[0] != want {
			b.Fatalf("%s(%d) = %d, want %d", fn, arg, stack[0], want)
		}
	}
	b.Run("original", func(b *testing.B) { bench(b, nil, guestWasm(b), ctx) })
	b.Run("rewritten_backedges", func(b *testing.B) { bench(b, nil, rewrittenGuestWith(b, PlaceBackEdges).Wasm, ctx) })
	b.Run("rewritten_loopheaders", func(b *testing.B) { bench(b, nil, rewrittenGuestWith(b, PlaceLoopHeaders).Wasm, ctx) })
	b.Run("closeOnContextDone", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		bench(b, wazero.NewRuntimeConfig().WithCloseOnContextDone(true), guestWasm(b), ctx)
	})
}

// BenchmarkFibo25 measures the call-heavy fibo(25) (242785 Go calls and no
// Go loop).
func BenchmarkFibo25(b *testing.B) { benchGuest(b, "fibo", 25, 75025) }

// BenchmarkSum measures the loop-heavy sum(1e6): a million iterations of a
// Go loop around a call.
func BenchmarkSum(b *testing.B) { benchGuest(b, "sum", 1e6, uint64(wantSum(1e6))) }

func BenchmarkRewrite(b *testing.B) {
	wasm := guestWasm(b)
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		if _, err := Rewrite(wasm); err != nil {
			b.Fatal(err)
		}
	}
}
