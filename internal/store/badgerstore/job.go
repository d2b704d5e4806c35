package badgerstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
)

func jobKey(id string) []byte { return key(pJob, id) }

func getJob(txn *badger.Txn, id string) (*store.Job, error) {
	var j store.Job
	found, err := getJSON(txn, jobKey(id), &j)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("job %s: %w", id, store.ErrNotFound)
	}
	return &j, nil
}

// Enqueue stores a new queued job. Status becomes queued and the lease and
// completion fields are cleared; a zero CreatedAt becomes now and a zero
// ScheduledFor becomes CreatedAt. durable: return only after an fsync
// (shared with concurrent callers). ErrConflict if the id exists.
func (s *Store) Enqueue(ctx context.Context, j store.Job, durable bool) error {
	if err := check("job id", j.ID); err != nil {
		return err
	}
	j.Status = store.StatusQueued
	j.LeaseOwner, j.LeaseUntil = "", time.Time{}
	j.StartedAt, j.CompletedAt = time.Time{}, time.Time{}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = s.opts.Now()
	}
	if j.ScheduledFor.IsZero() {
		j.ScheduledFor = j.CreatedAt
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		k := jobKey(j.ID)
		dup, err := exists(txn, k)
		if err != nil {
			return err
		}
		if dup {
			return fmt.Errorf("job %s: %w", j.ID, store.ErrConflict)
		}
		if err := setJSON(txn, k, j); err != nil {
			return err
		}
		return txn.Set(queueKey(j.Priority, j.ScheduledFor, j.ID), nil)
	})
	if err != nil {
		return err
	}
	s.depth.Add(1)
	s.queue.push(j.Priority, j.ScheduledFor, j.ID)
	if durable {
		return s.durable()
	}
	return nil
}

// Claim takes the next runnable job (highest priority, then earliest
// ScheduledFor, then id, among those with ScheduledFor <= now), marks it
// running with StartedAt now and the lease (owner, now+lease), and
// returns it; nil, nil when none is due. The candidate comes from the
// in-memory mirror of the queue (see memQueue); the transaction re-reads
// its queue key and job, so a race with Finish or Requeue of the same job
// is a transaction conflict and is retried, and a job is never handed out
// twice. Claims are serialised within the process.
func (s *Store) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration) (*store.Job, error) {
	if err := check("lease owner", owner); err != nil {
		return nil, err
	}
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	for {
		e, ok := s.queue.next(now)
		if !ok {
			return nil, nil
		}
		var claimed *store.Job
		var dropped bool
		err := s.update(ctx, func(txn *badger.Txn) error {
			claimed, dropped = nil, false
			qk := e.key()
			if ok, err := exists(txn, qk); err != nil || !ok {
				return err // !ok: a stale entry
			}
			j, err := getJob(txn, e.id)
			if errors.Is(err, store.ErrNotFound) || err == nil && j.Status != store.StatusQueued {
				// The job record is the truth: drop a queue key that
				// disagrees with it rather than wedge the queue.
				s.log.Warn("dropping a queue entry that does not match its job", "job", e.id, "err", err)
				dropped = true
				return txn.Delete(qk)
			}
			if err != nil {
				return err
			}
			j.Status = store.StatusRunning
			j.StartedAt = now
			j.LeaseOwner = owner
			j.LeaseUntil = now.Add(lease)
			if err := txn.Delete(qk); err != nil {
				return err
			}
			if err := txn.Set(key(pRunning, e.id), nil); err != nil {
				return err
			}
			if err := setJSON(txn, jobKey(e.id), j); err != nil {
				return err
			}
			claimed = j
			return nil
		})
		if err != nil {
			return nil, err
		}
		s.queue.remove(e)
		if dropped {
			s.depth.Add(-1)
		}
		if claimed != nil {
			s.depth.Add(-1)
			return claimed, nil
		}
	}
}

// NextScheduled is the earliest ScheduledFor of a queued job (in UTC), or
// zero.
func (s *Store) NextScheduled(ctx context.Context) (time.Time, error) {
	if err := s.alive(ctx); err != nil {
		return time.Time{}, err
	}
	return s.queue.earliest(), nil
}

// Heartbeat extends a running job's lease; ErrConflict when the job is
// not running or owner does not hold its lease.
func (s *Store) Heartbeat(ctx context.Context, id, owner string, until time.Time) error {
	if err := check("job id", id); err != nil {
		return err
	}
	return s.update(ctx, func(txn *badger.Txn) error {
		j, err := getJob(txn, id)
		if err != nil {
			return err
		}
		if j.Status != store.StatusRunning || j.LeaseOwner != owner {
			return fmt.Errorf("job %s: lease of %q lost (status %s, owner %q): %w", id, owner, j.Status, j.LeaseOwner, store.ErrConflict)
		}
		j.LeaseUntil = until
		return setJSON(txn, jobKey(id), j)
	})
}

// Finish records a job's final state and removes it from the queue or the
// running set. From j it takes Status (which must be final), Result,
// Error, CancelReason, CanceledBy, CompletedAt (zero: now) and StartedAt
// when set; every other field keeps its stored value, so a caller may pass
// a partial job. ErrNotFound when the job does not exist or belongs to
// another workspace than j.Workspace; ErrConflict when it is already
// finished, or running under another lease owner than j.LeaseOwner — so a
// runner that lost its lease cannot overwrite the job (a canceller passes
// the owner it read). durable: return after an fsync.
func (s *Store) Finish(ctx context.Context, j store.Job, durable bool) error {
	if err := check("job id", j.ID); err != nil {
		return err
	}
	if !j.Done() {
		return fmt.Errorf("finish job %s with status %q: %w", j.ID, j.Status, ErrInvalid)
	}
	if j.CompletedAt.IsZero() {
		j.CompletedAt = s.opts.Now()
	}
	var (
		wasQueued bool
		dequeued  qent
	)
	err := s.update(ctx, func(txn *badger.Txn) error {
		wasQueued = false
		cur, err := getJob(txn, j.ID)
		if err != nil {
			return err
		}
		if cur.Workspace != j.Workspace {
			return fmt.Errorf("job %s in workspace %q: %w", j.ID, j.Workspace, store.ErrNotFound)
		}
		switch cur.Status {
		case store.StatusQueued:
			if err := txn.Delete(queueKey(cur.Priority, cur.ScheduledFor, cur.ID)); err != nil {
				return err
			}
			wasQueued = true
			dequeued = entry(cur.Priority, cur.ScheduledFor, cur.ID)
		case store.StatusRunning:
			if cur.LeaseOwner != j.LeaseOwner {
				return fmt.Errorf("job %s: running under %q, not %q: %w", j.ID, cur.LeaseOwner, j.LeaseOwner, store.ErrConflict)
			}
			if err := txn.Delete(key(pRunning, j.ID)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("job %s already %s: %w", j.ID, cur.Status, store.ErrConflict)
		}
		cur.Status, cur.Result, cur.Error = j.Status, j.Result, j.Error
		cur.CancelReason, cur.CanceledBy, cur.CompletedAt = j.CancelReason, j.CanceledBy, j.CompletedAt
		if j.Flow != nil {
			cur.Flow = j.Flow
		}
		if cur.Kind == store.JobKindFlow {
			if err := dropFlowProgress(txn, j.ID); err != nil {
				return err
			}
		}
		if !j.StartedAt.IsZero() {
			cur.StartedAt = j.StartedAt
		}
		if err := setJSON(txn, jobKey(j.ID), cur); err != nil {
			return err
		}
		return txn.Set(doneKey(j.CompletedAt, j.ID), nil)
	})
	if err != nil {
		return err
	}
	if wasQueued {
		s.depth.Add(-1)
		s.queue.remove(dequeued)
	}
	if durable {
		return s.durable()
	}
	return nil
}

// Requeue puts a running job back in the queue with j's Attempt,
// ScheduledFor (zero: now) and Error (the last attempt's, for a retry; nil
// clears it), clearing its lease and StartedAt. ErrConflict when the job
// is not running or j.LeaseOwner does not hold it.
func (s *Store) Requeue(ctx context.Context, j store.Job) error {
	if err := check("job id", j.ID); err != nil {
		return err
	}
	if j.ScheduledFor.IsZero() {
		j.ScheduledFor = s.opts.Now()
	}
	var prio int
	err := s.update(ctx, func(txn *badger.Txn) error {
		cur, err := getJob(txn, j.ID)
		if err != nil {
			return err
		}
		prio = cur.Priority
		if cur.Status != store.StatusRunning || cur.LeaseOwner != j.LeaseOwner {
			return fmt.Errorf("requeue job %s: status %s, owner %q, not running under %q: %w", j.ID, cur.Status, cur.LeaseOwner, j.LeaseOwner, store.ErrConflict)
		}
		cur.Status = store.StatusQueued
		cur.Attempt = j.Attempt
		cur.Error = j.Error
		cur.ScheduledFor = j.ScheduledFor
		cur.LeaseOwner, cur.LeaseUntil, cur.StartedAt = "", time.Time{}, time.Time{}
		if err := txn.Delete(key(pRunning, j.ID)); err != nil {
			return err
		}
		if err := setJSON(txn, jobKey(j.ID), cur); err != nil {
			return err
		}
		return txn.Set(queueKey(cur.Priority, cur.ScheduledFor, cur.ID), nil)
	})
	if err != nil {
		return err
	}
	s.depth.Add(1)
	s.queue.push(prio, j.ScheduledFor, j.ID)
	return nil
}

// GetJob returns a job; ErrNotFound when it does not exist or belongs to
// another workspace (ws "" matches any workspace).
func (s *Store) GetJob(ctx context.Context, ws, id string) (*store.Job, error) {
	var j *store.Job
	err := s.view(ctx, func(txn *badger.Txn) error {
		var err error
		j, err = getJob(txn, id)
		if err == nil && ws != "" && j.Workspace != ws {
			err = fmt.Errorf("job %s in workspace %q: %w", id, ws, store.ErrNotFound)
		}
		if err == nil && j.Kind == store.JobKindFlow && !j.Done() {
			var st *store.FlowStatus
			if st, err = flowProgress(txn, id); st != nil {
				j.Flow = st
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// defaultLimit is ListJobs' page size when JobFilter.Limit is 0.
const defaultLimit = 100

// ListJobs returns the jobs matching f, newest first (by id: UUIDv7 ids
// sort by creation time), at most f.Limit, starting after f.Before. It
// walks the jobs from the newest and filters, so a filter that matches
// few jobs reads many; PurgeJobs keeps the walk bounded.
func (s *Store) ListJobs(ctx context.Context, f store.JobFilter) ([]store.Job, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	var out []store.Job
	err := s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pJob), Reverse: true, PrefetchValues: true, PrefetchSize: 32})
		defer it.Close()
		if f.Before != "" {
			it.Seek(jobKey(f.Before))
			if it.Valid() && string(it.Item().Key()) == string(jobKey(f.Before)) {
				it.Next()
			}
		} else {
			it.Seek([]byte(pJob + "\xff"))
		}
		for ; it.Valid() && len(out) < limit; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var j store.Job
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &j) }); err != nil {
				return err
			}
			if match(&f, &j) {
				out = append(out, j)
			}
		}
		return nil
	})
	return out, err
}

func match(f *store.JobFilter, j *store.Job) bool {
	return (f.Workspace == "" || j.Workspace == f.Workspace) &&
		(f.ScriptPath == "" || j.ScriptPath == f.ScriptPath) &&
		(f.PathPrefix == "" || strings.HasPrefix(j.ScriptPath, f.PathPrefix)) &&
		(f.SchedulePath == "" || j.SchedulePath == f.SchedulePath) &&
		(f.ParentJob == "" || j.ParentJob == f.ParentJob) &&
		(len(f.Status) == 0 || slices.Contains(f.Status, j.Status))
}

// QueueDepth is the number of queued jobs (due or not), from a counter.
func (s *Store) QueueDepth(ctx context.Context) (int, error) {
	if err := s.alive(ctx); err != nil {
		return 0, err
	}
	return int(s.depth.Load()), nil
}

// Running lists the running jobs, by id.
func (s *Store) Running(ctx context.Context) ([]store.Job, error) {
	var out []store.Job
	err := s.view(ctx, func(txn *badger.Txn) error {
		var ids []string
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pRunning)})
		for it.Rewind(); it.Valid(); it.Next() {
			ids = append(ids, tail(it.Item().Key(), len(pRunning)))
		}
		it.Close()
		for _, id := range ids {
			j, err := getJob(txn, id)
			if err != nil {
				return err
			}
			out = append(out, *j)
		}
		return nil
	})
	return out, err
}

// purgeBatch is how many jobs PurgeJobs deletes per transaction (their log
// chunks may add more writes; a job with very many chunks gets its own
// transactions).
const (
	purgeBatch     = 64
	purgeMaxWrites = 4096
)

// PurgeJobs deletes the jobs that finished before t, with their logs, and
// returns how many. It runs in several transactions and does not fsync
// (a purge lost in a power cut is simply done again).
func (s *Store) PurgeJobs(ctx context.Context, before time.Time) (int, error) {
	total := 0
	end := doneKey(before, "")
	for {
		var keys [][]byte
		err := s.view(ctx, func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pDone)})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < purgeBatch; it.Next() {
				k := it.Item().Key()
				if string(k) >= string(end) {
					break
				}
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return total, err
		}
		for _, dk := range keys {
			n, err := s.purgeJob(ctx, dk)
			if err != nil {
				return total, err
			}
			total += n
		}
	}
}

// purgeJob deletes one finished job (by its jd/ key) and its log chunks,
// in as many transactions as the chunks need. It returns 1 when it
// deleted the job.
func (s *Store) purgeJob(ctx context.Context, dk []byte) (int, error) {
	id := string(dk[len(pDone)+8:])
	for {
		var more bool
		var n int
		err := s.update(ctx, func(txn *badger.Txn) error {
			more, n = false, 0
			var logKeys [][]byte
			for _, p := range []string{pLog, pCheck, pFlowRun} {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: scope(p, id)})
				for it.Rewind(); it.Valid(); it.Next() {
					if len(logKeys) == purgeMaxWrites {
						more = true
						break
					}
					logKeys = append(logKeys, it.Item().KeyCopy(nil))
				}
				it.Close()
			}
			for _, k := range logKeys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			if more {
				return nil
			}
			if j, err := getJob(txn, id); err == nil && j.Done() {
				if err := txn.Delete(jobKey(id)); err != nil {
					return err
				}
				n = 1
			}
			return txn.Delete(dk)
		})
		if err != nil || !more {
			return n, err
		}
	}
}
