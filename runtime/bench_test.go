package runtime

import (
	"context"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/runlet/runlet/host"
	"github.com/runlet/runlet/internal/gobuild"
)

// In-process benchmarks of the pieces inside a worker: instantiation,
// snapshot reset, compile, and a raw wazero call as the baseline.

var (
	benchOnce sync.Once
	benchMod  Module
	benchWasm []byte
	benchErr  error
	benchDir  string
)

func benchModule(b testing.TB) (Module, []byte) {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "runlet-bench-*")
		if benchErr != nil {
			return
		}
		src, err := os.ReadFile("testdata/bench/bench.go")
		if err != nil {
			benchErr = err
			return
		}
		out, err := (&gobuild.Builder{Dir: filepath.Join(benchDir, "go")}).Build(context.Background(), "bench.go", src, nil)
		if err != nil {
			benchErr = err
			return
		}
		benchMod, benchErr = Prepare(filepath.Join(benchDir, "modules"), out.Wasm)
		if benchErr == nil {
			benchWasm, benchErr = os.ReadFile(benchMod.Path)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchMod, benchWasm
}

// inproc is a worker's wazero setup inside the benchmark process.
type inproc struct {
	rt wazero.Runtime
	p  *program
}

// workerRuntime is the wazero setup a worker has (WASI and the runlet
// host module), closed at the end of the benchmark.
func workerRuntime(b testing.TB) wazero.Runtime {
	b.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	b.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if err := host.Instantiate(ctx, rt); err != nil {
		b.Fatal(err)
	}
	return rt
}

func newInproc(b testing.TB) *inproc {
	b.Helper()
	mod, wasm := benchModule(b)
	ctx := context.Background()
	rt := workerRuntime(b)
	c, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	return &inproc{rt: rt, p: &program{compiled: c, limits: Limits{}.WithDefaults(), globals: mod.Globals}}
}

func (ip *inproc) instance(b testing.TB) *instance {
	b.Helper()
	inst, err := instantiate(context.Background(), ip.rt, ip.p, func(api.MutableGlobal) {}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return inst
}

func jobCtx() context.Context {
	return host.WithJob(context.Background(), &host.Job{Logs: host.NewLogs(1<<20, nil), MaxResult: 8 << 20})
}

func callN(b testing.TB, inst *instance, n int) {
	rc, err := inst.call(jobCtx(), []byte(`{"n":`+strconv.Itoa(n)+`}`))
	if err != nil || rc != 0 {
		b.Fatalf("call: rc=%d err=%v", rc, err)
	}
}

// BenchmarkRawCall is the baseline: a reused instance called directly
// through wazero, in process, with no worker, reset or IPC.
func BenchmarkRawCall(b *testing.B) {
	for _, n := range []int{0, 10, 25} {
		b.Run("fibo="+strconv.Itoa(n), func(b *testing.B) {
			ip := newInproc(b)
			inst := ip.instance(b)
			defer inst.close(context.Background())
			callN(b, inst, n)
			b.ResetTimer()
			for range b.N {
				callN(b, inst, n)
			}
		})
	}
}

// BenchmarkInstanceFresh instantiates and initialises a new instance the
// way wazero alone would (no snapshot): the cost isolated mode avoids.
func BenchmarkInstanceFresh(b *testing.B) {
	ip := newInproc(b)
	b.ResetTimer()
	for range b.N {
		ip.p.snap = nil
		inst := ip.instance(b)
		callN(b, inst, 0)
		inst.close(context.Background())
	}
}

// BenchmarkInstanceFromSnapshot instantiates a new instance and restores
// the snapshot into it (how a replacement instance is made).
func BenchmarkInstanceFromSnapshot(b *testing.B) {
	ip := newInproc(b)
	ip.instance(b).close(context.Background())
	b.ResetTimer()
	for range b.N {
		inst := ip.instance(b)
		callN(b, inst, 0)
		inst.close(context.Background())
	}
}

// BenchmarkReset is isolated mode's clean-state cost: restore the snapshot
// into the instance a job just used (memory image, globals, size).
func BenchmarkReset(b *testing.B) {
	for _, n := range []int{0, 10} {
		b.Run("fibo="+strconv.Itoa(n), func(b *testing.B) {
			ip := newInproc(b)
			inst := ip.instance(b)
			defer inst.close(context.Background())
			var resetTotal time.Duration
			b.ResetTimer()
			for range b.N {
				callN(b, inst, n)
				t := time.Now()
				if !inst.restore(ip.p.snap) {
					b.Fatal("restore failed")
				}
				resetTotal += time.Since(t)
			}
			b.ReportMetric(float64(resetTotal.Nanoseconds())/float64(b.N), "reset-ns/op")
			b.ReportMetric(float64(len(ip.p.snap.image))/(1<<20), "image-MiB")
		})
	}
}

// BenchmarkCompile measures compiling the prepared module cold and from
// wazero's on-disk cache.
func BenchmarkCompile(b *testing.B) {
	_, wasm := benchModule(b)
	benchCompile(b, wasm)
}

// benchCompile runs the cold and disk-cache compile sub-benchmarks for wasm.
func benchCompile(b *testing.B, wasm []byte) {
	ctx := context.Background()
	compile := func(b *testing.B, cache wazero.CompilationCache) {
		cfg := wazero.NewRuntimeConfigCompiler()
		if cache != nil {
			cfg = cfg.WithCompilationCache(cache)
		}
		rt := wazero.NewRuntimeWithConfig(ctx, cfg)
		defer rt.Close(ctx)
		if _, err := rt.CompileModule(ctx, wasm); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cold", func(b *testing.B) {
		for range b.N {
			compile(b, nil)
		}
	})
	b.Run("disk-cache", func(b *testing.B) {
		dir := b.TempDir()
		warm, _ := wazero.NewCompilationCacheWithDir(dir)
		compile(b, warm)
		b.ResetTimer()
		for range b.N {
			cache, _ := wazero.NewCompilationCacheWithDir(dir)
			compile(b, cache)
		}
	})
}

// BenchmarkInstanceMemory reports the resident memory each additional
// ready instance costs (after one job each, as in a pool).
func BenchmarkInstanceMemory(b *testing.B) {
	const n = 32
	ip := newInproc(b)
	ip.instance(b).close(context.Background())
	for range b.N {
		goruntime.GC()
		before := rssBytes(b)
		insts := make([]*instance, n)
		for i := range insts {
			insts[i] = ip.instance(b)
			callN(b, insts[i], 10)
		}
		goruntime.GC()
		after := rssBytes(b)
		b.ReportMetric(float64(after-before)/n/(1<<20), "RSS-MiB/instance")
		for _, inst := range insts {
			inst.close(context.Background())
		}
	}
}

func rssBytes(b testing.TB) int64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkCallAfterReset times only the first call after a reset.
func BenchmarkCallAfterReset(b *testing.B) {
	ip := newInproc(b)
	inst := ip.instance(b)
	defer inst.close(context.Background())
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		t := time.Now()
		callN(b, inst, 0)
		total += time.Since(t)
		inst.restore(ip.p.snap)
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "call-ns/op")
}
