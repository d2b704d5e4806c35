package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/cron"
	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/internal/store/badgerstore"
	rlruntime "github.com/runlet/runlet/runtime"
	"github.com/runlet/runlet/server"
)

// BenchmarkScheduler10k arms 10,000 enabled schedules — 20 every second,
// 2,500 every minute (half of them on the same second, a burst), 2,500 every five
// minutes, 2,500 hourly, 2,480 daily, in three zones — and lets them fire
// on the real clock for a 40-second window, with no runners (the jobs
// stay queued, so only the scheduler's work is measured). It reports the
// memory the armed schedules take, the start-up time (Server.Start:
// taking the lease, listing and arming everything) and the lateness of
// each job's creation after its tick (p50, p99, max). Every tick of the
// window must fire exactly once. Bounded to about a minute:
//
//	go test -run '^$' -bench BenchmarkScheduler10k -benchtime 1x ./server/
func BenchmarkScheduler10k(b *testing.B) {
	for range b.N {
		benchScheduler(b, 10000, 40*time.Second)
	}
}

func benchScheduler(b *testing.B, n int, window time.Duration) {
	ctx := context.Background()
	dir := b.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := badgerstore.Open(badgerstore.Options{Dir: filepath.Join(dir, "db"), KeyFile: filepath.Join(dir, "secret.key"), Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	newServer := func() *server.Server {
		eng, err := rlruntime.New(rlruntime.Config{Workers: 1, CacheDir: filepath.Join(cacheDir, "wazero"), Command: []string{binary}})
		if err != nil {
			b.Fatal(err)
		}
		return server.New(server.Config{DataDir: dir, CacheDir: cacheDir, Logger: log, QueueLimit: 1 << 30, NPMRegistry: "http://127.0.0.1:9"}, st, eng)
	}
	// A first server creates the workspace and the script, then stops.
	srv := newServer()
	if _, err := srv.Bootstrap(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := srv.Service().CreateScript(ctx, admin, "main", server.NewScript{Path: "f/bench/job", Language: "typescript", Content: okScript}); err != nil {
		b.Fatal(err)
	}
	srv.Shutdown(ctx)

	// The schedules, written straight to the store (32 writers share
	// their fsyncs).
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []string{"UTC", "Europe/Paris", "America/New_York"}
	now := time.Now().UTC()
	// Half of the every-minute schedules share one second (as "0 * * * *"
	// schedules share :00), chosen so that their burst falls inside the
	// window.
	burst := (now.Second() + 20) % 60
	recs := make([]store.Schedule, n)
	for i := range recs {
		var expr string
		s, m, h := rng.IntN(60), rng.IntN(60), rng.IntN(24)
		switch {
		case i < 20:
			expr = "* * * * * *"
		case i < 20+n/4:
			if i%2 == 0 {
				s = burst
			}
			expr = fmt.Sprintf("%d * * * * *", s)
		case i < 20+n/2:
			expr = fmt.Sprintf("%d */5 * * * *", s)
		case i < 20+3*n/4:
			expr = fmt.Sprintf("%d %d * * * *", s, m)
		default:
			expr = fmt.Sprintf("%d %d %d * * *", s, m, h)
		}
		recs[i] = store.Schedule{
			Workspace: "main", Path: "f/bench/s" + strconv.Itoa(i), Cron: expr, Timezone: zones[i%3],
			ScriptPath: "f/bench/job", Args: map[string]any{"i": float64(i)}, Enabled: true, CatchUp: "skip",
			OnFailureTimes: 1, CreatedBy: "admin", CreatedAt: now, EditedBy: "admin", EditedAt: now, LastTick: now,
		}
	}
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 32 {
				if err := st.CreateSchedule(ctx, recs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()

	srv = newServer()
	// Read every schedule once first, so that the growth measured is the
	// scheduler's, not Badger's block cache filling up.
	heapCold, _ := memory()
	if _, err := st.ListSchedules(ctx, "", ""); err != nil {
		b.Fatal(err)
	}
	heap0, rss0 := memory()
	t0 := time.Now()
	if err := srv.Start(ctx, 0); err != nil {
		b.Fatal(err)
	}
	startup := time.Since(t0)
	started := time.Now()
	heap1, rss1 := memory()
	time.Sleep(window)
	end := time.Now()
	srv.Shutdown(ctx)

	// Every tick in (started+1s, end-2s] fired once; lateness of all.
	jobs, err := st.ListJobs(ctx, store.JobFilter{Workspace: "main", Limit: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]bool{}
	var late, calm []time.Duration // calm: outside the burst's second
	for _, j := range jobs {
		if j.Trigger != "schedule" {
			continue
		}
		k := j.SchedulePath + "@" + j.ScheduledFor.Format(time.RFC3339Nano)
		if seen[k] {
			b.Fatalf("tick fired twice: %s", k)
		}
		seen[k] = true
		late = append(late, j.CreatedAt.Sub(j.ScheduledFor))
		if j.ScheduledFor.Second() != burst {
			calm = append(calm, j.CreatedAt.Sub(j.ScheduledFor))
		}
	}
	from, to := started.Add(time.Second), end.Add(-2*time.Second)
	missing, want := 0, 0
	for _, r := range recs {
		cs, _ := cron.Parse(r.Cron, "")
		loc, _ := time.LoadLocation(r.Timezone)
		for t, err := cs.Next(from, loc); err == nil && !t.After(to); t, err = cs.Next(t, loc) {
			want++
			if !seen[r.Path+"@"+t.UTC().Format(time.RFC3339Nano)] {
				missing++
			}
		}
	}
	if missing > 0 {
		b.Errorf("%d of %d ticks in the window did not fire", missing, want)
	}
	slices.Sort(late)
	slices.Sort(calm)
	pctOf := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[min(len(d)-1, int(p*float64(len(d))))]
	}
	pct := func(p float64) time.Duration { return pctOf(late, p) }
	b.ReportMetric(float64(startup.Milliseconds()), "startup-ms")
	b.ReportMetric(float64(heap1-heap0)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(heap0-heapCold)/(1<<20), "cache-MiB")
	b.ReportMetric(float64(rss1-rss0)/(1<<20), "rss-MiB")
	b.ReportMetric(float64(len(late)), "fires")
	b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(pct(1).Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(pctOf(calm, 0.99).Microseconds())/1000, "p99-calm-ms")
	b.Logf("%d schedules: start-up %v; heap +%.1f MiB (%.0f B/schedule; Badger's cache took %.1f MiB more), RSS +%.1f MiB; %d fires in %v (%d ticks checked, %d missing); lateness p50 %v, p99 %v, max %v (outside the burst: p50 %v, p99 %v)",
		n, startup.Round(time.Millisecond), float64(heap1-heap0)/(1<<20), float64(heap1-heap0)/float64(n), float64(heap0-heapCold)/(1<<20), float64(rss1-rss0)/(1<<20),
		len(late), window, want, missing, pct(0.5).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond), pct(1).Round(100*time.Microsecond),
		pctOf(calm, 0.5).Round(100*time.Microsecond), pctOf(calm, 0.99).Round(100*time.Microsecond))
}

// memory returns the live heap (after a GC) and the process's RSS.
func memory() (heap, rss uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				rss = kb << 10
			}
		}
	}
	return ms.HeapAlloc, rss
}
