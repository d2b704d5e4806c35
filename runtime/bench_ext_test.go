package runtime_test

import (
	"context"
	"errors"
	"github.com/dop251/goja"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/runtime"
)

// Engine benchmarks: jobs through worker processes, as the server runs them.

func benchEngine(b *testing.B, workers int) (*runtime.Engine, runtime.Module) {
	b.Helper()
	mod := buildModule(b, "testdata/bench/bench.go")
	e := newEngine(b, workers, false)
	if err := e.Preload(context.Background(), mod); err != nil {
		b.Fatal(err)
	}
	return e, mod
}

func benchArgs(n int) []byte { return []byte(`{"n":` + strconv.Itoa(n) + `}`) }

// BenchmarkJob is one job round trip, back to back, on one worker.
func BenchmarkJob(b *testing.B) {
	for _, mode := range []struct {
		name string
		mode runtime.Mode
	}{{"isolated", runtime.Isolated}, {"warm", runtime.Warm}} {
		for _, n := range []int{0, 10, 25} {
			b.Run(mode.name+"/fibo="+strconv.Itoa(n), func(b *testing.B) {
				e, mod := benchEngine(b, 1)
				job := runtime.Job{Module: mod, Args: benchArgs(n), Mode: mode.mode}
				for range 3 {
					if _, err := e.Run(context.Background(), job); err != nil {
						b.Fatal(err)
					}
				}
				runJobs(b, e, job)
			})
		}
	}
}

// BenchmarkThroughput runs jobs from many goroutines over two workers
// (closed loop) and reports jobs per second.
func BenchmarkThroughput(b *testing.B) {
	for _, mode := range []struct {
		name string
		mode runtime.Mode
	}{{"isolated", runtime.Isolated}, {"warm", runtime.Warm}} {
		b.Run(mode.name, func(b *testing.B) {
			e, mod := benchEngine(b, 2)
			job := runtime.Job{Module: mod, Args: benchArgs(0), Mode: mode.mode}
			b.SetParallelism(4)
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.Run(context.Background(), job); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}

// BenchmarkHostLatencyUnderSpin measures how late a 1 ms ticker in the
// engine's process runs while guests spin on every worker (and one more
// job waits): the server-never-freezes target is p99 < 10 ms.
func BenchmarkHostLatencyUnderSpin(b *testing.B) {
	mod := buildModule(b, hostileScript)
	e := newEngine(b, 2, true)
	if err := e.Preload(context.Background(), mod); err != nil {
		b.Fatal(err)
	}
	spin := runtime.Job{Module: mod, Args: []byte(`{"mode":"spin","n":0}`), Limits: runtime.Limits{Timeout: 500 * time.Millisecond}}
	var lateness []time.Duration
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if _, err := e.Run(context.Background(), spin); !errors.Is(err, context.DeadlineExceeded) {
					b.Error(err)
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		tick := time.NewTicker(time.Millisecond)
		last := time.Now()
	loop:
		for {
			select {
			case <-done:
				break loop
			case now := <-tick.C:
				lateness = append(lateness, now.Sub(last)-time.Millisecond)
				last = now
			}
		}
		tick.Stop()
	}
	slices.Sort(lateness)
	b.ReportMetric(float64(lateness[len(lateness)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lateness[len(lateness)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkJSJob is BenchmarkJob for a TypeScript script in the QuickJS
// plugin: one worker, back to back.
func BenchmarkJSJob(b *testing.B) {
	src := `function fibo(n: number): number { return n < 2 ? n : fibo(n - 1) + fibo(n - 2); }
export async function main(n: number): Promise<number> { return n > 0 ? fibo(n) : n; }`
	for _, mode := range []struct {
		name string
		mode runtime.Mode
	}{{"isolated", runtime.Isolated}, {"warm", runtime.Warm}} {
		for _, n := range []int{0, 25} {
			b.Run(mode.name+"/fibo="+strconv.Itoa(n), func(b *testing.B) {
				e := newEngine(b, 1, false)
				job := jsJob(b, src, `{"args":[`+strconv.Itoa(n)+`]}`, runtime.Limits{})
				job.Mode = mode.mode
				if err := e.Prepare(context.Background(), job); err != nil {
					b.Fatal(err)
				}
				runJobs(b, e, job)
			})
		}
	}
}

// runJobs runs job b.N times back to back and reports the worker's reset
// and guest time per job.
func runJobs(b *testing.B, e *runtime.Engine, job runtime.Job) {
	var reset, run time.Duration
	b.ResetTimer()
	for range b.N {
		res, err := e.Run(context.Background(), job)
		if err != nil {
			b.Fatal(err)
		}
		reset += res.Stats.Reset
		run += res.Stats.Run
	}
	b.ReportMetric(float64(reset.Nanoseconds())/float64(b.N), "reset-ns/op")
	b.ReportMetric(float64(run.Nanoseconds())/float64(b.N), "guest-ns/op")
}

// BenchmarkJSFiboNativeGoja is the baseline for BenchmarkJSJob's fibo=25:
// the same function in goja, a JS engine in Go, run natively (no Wasm, no
// worker) in this process (target: QuickJS-in-Wasm no slower).
func BenchmarkJSFiboNativeGoja(b *testing.B) {
	vm := goja.New()
	if _, err := vm.RunString(`function fibo(n) { return n < 2 ? n : fibo(n - 1) + fibo(n - 2); }`); err != nil {
		b.Fatal(err)
	}
	fibo, ok := goja.AssertFunction(vm.Get("fibo"))
	if !ok {
		b.Fatal("fibo is not a function")
	}
	b.ResetTimer()
	for range b.N {
		v, err := fibo(goja.Undefined(), vm.ToValue(25))
		if err != nil {
			b.Fatal(err)
		}
		if v.ToInteger() != 75025 {
			b.Fatalf("fibo(25) = %v", v)
		}
	}
}
