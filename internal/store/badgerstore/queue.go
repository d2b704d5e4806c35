package badgerstore

import (
	"container/heap"
	"slices"
	"sync"
	"time"
)

// memQueue mirrors the jq/ index in memory so that Claim does not scan
// Badger. A scan would be short in live keys but not in deleted ones: every
// claimed job leaves a tombstone at the front of jq/ until a compaction
// drops it, and measured Claim+Finish fell to ~1,000/s after 10,000 jobs
// because each Claim walked them all. The mirror holds one small entry per
// queued job (about 100 bytes), is rebuilt from jq/ at Open and after
// Restore, and is only a hint: Claim checks the jq/ key inside its
// transaction, and drops an entry that no longer matches.
//
// Entries are added after the transaction that wrote the key commits and
// removed after the one that deleted it commits; in between, a Claim may
// miss a new job (it gets it next time) or find a stale entry (it drops
// it).
type memQueue struct {
	mu    sync.Mutex
	byID  map[string]*qent
	heaps map[int]*qheap // by priority
	prios []int          // priorities with entries, highest first
}

// qent is one queued job: its priority, ScheduledFor and id, i.e. its jq/ key.
type qent struct {
	prio  int
	sched uint64 // timeKey(ScheduledFor)
	id    string
	idx   int // in its heap
}

func entry(prio int, sched time.Time, id string) qent {
	return qent{prio: prio, sched: timeKey(sched), id: id}
}

func (e *qent) key() []byte { return queueKey(e.prio, keyTime(e.sched), e.id) }

// qheap orders one priority's entries by ScheduledFor, then id.
type qheap []*qent

func (h qheap) Len() int { return len(h) }
func (h qheap) Less(i, j int) bool {
	a, b := h[i].sched, h[j].sched
	return a < b || a == b && h[i].id < h[j].id
}
func (h qheap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *qheap) Push(x any) {
	e := x.(*qent)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *qheap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

func newMemQueue() *memQueue {
	return &memQueue{byID: map[string]*qent{}, heaps: map[int]*qheap{}}
}

// reset empties the mirror.
func (q *memQueue) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.byID, q.heaps, q.prios = map[string]*qent{}, map[int]*qheap{}, nil
}

// push adds (or moves) a job's entry.
func (q *memQueue) push(prio int, sched time.Time, id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if old := q.byID[id]; old != nil {
		q.removeLocked(old)
	}
	e := &qent{prio: prio, sched: timeKey(sched), id: id}
	h := q.heaps[prio]
	if h == nil {
		h = &qheap{}
		q.heaps[prio] = h
		i, _ := slices.BinarySearchFunc(q.prios, prio, func(a, b int) int { return b - a })
		q.prios = slices.Insert(q.prios, i, prio)
	}
	heap.Push(h, e)
	q.byID[id] = e
}

// remove drops the entry of id if it still is e (same key).
func (q *memQueue) remove(e qent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur := q.byID[e.id]; cur != nil && cur.prio == e.prio && cur.sched == e.sched {
		q.removeLocked(cur)
	}
}

func (q *memQueue) removeLocked(e *qent) {
	h := q.heaps[e.prio]
	heap.Remove(h, e.idx)
	delete(q.byID, e.id)
	if h.Len() == 0 {
		delete(q.heaps, e.prio)
		q.prios = slices.DeleteFunc(q.prios, func(p int) bool { return p == e.prio })
	}
}

// next returns the first due entry: the highest priority whose earliest
// entry is due at now.
func (q *memQueue) next(now time.Time) (qent, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	nk := timeKey(now)
	for _, p := range q.prios {
		top := (*q.heaps[p])[0]
		if top.sched <= nk {
			return *top, true
		}
	}
	return qent{}, false
}

// earliest is the smallest ScheduledFor (in UTC), or zero.
func (q *memQueue) earliest() time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	var t uint64
	for i, p := range q.prios {
		if s := (*q.heaps[p])[0].sched; i == 0 || s < t {
			t = s
		}
	}
	return keyTime(t)
}
