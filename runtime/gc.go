package runtime

import (
	goruntime "runtime"
	"runtime/metrics"
)

// gcPacer runs the worker's garbage collector between jobs. The worker
// turns automatic GC off: a collection that started while a guest spins
// could not stop the world until the guest yields, freezing the timer that
// soft-stops the guest. Collecting between jobs keeps GC away from guests.
type gcPacer struct {
	sample [1]metrics.Sample
	target uint64
	jobs   int
}

// gcFloor is the heap size below which the worker never collects.
const gcFloor = 32 << 20

func (g *gcPacer) between() {
	g.jobs++
	if g.sample[0].Name == "" {
		g.sample[0].Name = "/gc/heap/allocs:bytes"
	}
	// Reading the cumulative allocation counter is cheap; collect when the
	// heap has grown by the floor (or doubled) since the last collection.
	metrics.Read(g.sample[:])
	allocs := g.sample[0].Value.Uint64()
	if g.target == 0 {
		g.target = allocs + gcFloor
	}
	if allocs < g.target {
		return
	}
	settleGC()
	var live [1]metrics.Sample
	live[0].Name = "/gc/heap/live:bytes"
	metrics.Read(live[:])
	g.target = allocs + max(gcFloor, live[0].Value.Uint64())
}

// settleGC collects and makes sure no collection is still in flight when
// the next guest starts: runtime.GC can return while the cycle's last
// stop-the-world step is pending; ReadMemStats stops the world itself, so it
// returns only after that step.
func settleGC() {
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
}
