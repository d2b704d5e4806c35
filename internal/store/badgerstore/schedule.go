package badgerstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
)

func checkSchedule(ws, path string) error {
	if err := check("workspace", ws); err != nil {
		return err
	}
	return check("schedule path", path)
}

// CreateSchedule stores a new schedule; ErrConflict if the path exists.
func (s *Store) CreateSchedule(ctx context.Context, sc store.Schedule) error {
	if err := checkSchedule(sc.Workspace, sc.Path); err != nil {
		return err
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		k := key(pSchedule, sc.Workspace, sc.Path)
		ok, err := exists(txn, k)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("schedule %q: %w", sc.Path, store.ErrConflict)
		}
		return setJSON(txn, k, sc)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// PutSchedule creates or replaces a schedule.
func (s *Store) PutSchedule(ctx context.Context, sc store.Schedule) error {
	if err := checkSchedule(sc.Workspace, sc.Path); err != nil {
		return err
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		return setJSON(txn, key(pSchedule, sc.Workspace, sc.Path), sc)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// GetSchedule returns a schedule.
func (s *Store) GetSchedule(ctx context.Context, ws, path string) (*store.Schedule, error) {
	var sc store.Schedule
	err := s.view(ctx, func(txn *badger.Txn) error {
		found, err := getJSON(txn, key(pSchedule, ws, path), &sc)
		if err == nil && !found {
			err = fmt.Errorf("schedule %q: %w", path, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &sc, nil
}

// ListSchedules returns the schedules under prefix, sorted by workspace
// and path; ws "" lists every workspace's.
func (s *Store) ListSchedules(ctx context.Context, ws, prefix string) ([]store.Schedule, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if ws != "" {
		if err := check("workspace", ws); err != nil {
			return nil, err
		}
		return list[store.Schedule](ctx, s, append(scope(pSchedule, ws), prefix...))
	}
	all, err := list[store.Schedule](ctx, s, []byte(pSchedule))
	if err != nil || prefix == "" {
		return all, err
	}
	out := all[:0]
	for _, sc := range all {
		if strings.HasPrefix(sc.Path, prefix) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// DeleteSchedule removes a schedule.
func (s *Store) DeleteSchedule(ctx context.Context, ws, path string) error {
	return s.deleteOne(ctx, key(pSchedule, ws, path), "schedule", path)
}

// UpdateSchedule applies fn to the stored schedule and writes the result
// in one transaction, retried (fn included) when a concurrent writer
// conflicts; then it waits for an fsync. An error from fn aborts the
// update and is returned as is. The record keeps its workspace and path
// whatever fn does to them.
func (s *Store) UpdateSchedule(ctx context.Context, ws, path string, fn func(*store.Schedule) error) (*store.Schedule, error) {
	if err := checkSchedule(ws, path); err != nil {
		return nil, err
	}
	var out store.Schedule
	err := s.update(ctx, func(txn *badger.Txn) error {
		k := key(pSchedule, ws, path)
		var sc store.Schedule
		found, err := getJSON(txn, k, &sc)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("schedule %q: %w", path, store.ErrNotFound)
		}
		if err := fn(&sc); err != nil {
			return err
		}
		sc.Workspace, sc.Path = ws, path
		out = sc
		return setJSON(txn, k, sc)
	})
	if err != nil {
		return nil, err
	}
	if err := s.durable(); err != nil {
		return nil, err
	}
	return &out, nil
}

// lease is a stored lease.
type lease struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

// AcquireLease takes or renews a lease until now+ttl (Options.Now) and
// reports whether owner holds it. Leases are not fsync'd: a lease is only
// worth something while its holder runs, and a power loss that drops one
// also stopped its holder.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if err := check("lease name", name); err != nil {
		return false, err
	}
	if err := check("lease owner", owner); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, fmt.Errorf("lease %q: ttl %v must be positive: %w", name, ttl, ErrInvalid)
	}
	var held bool
	err := s.update(ctx, func(txn *badger.Txn) error {
		held = false
		k := key(pLease, name)
		var cur lease
		found, err := getJSON(txn, k, &cur)
		if err != nil {
			return err
		}
		now := s.opts.Now()
		if found && cur.Owner != owner && now.Before(cur.Until) {
			return nil
		}
		held = true
		return setJSON(txn, k, lease{Owner: owner, Until: now.Add(ttl).UTC()})
	})
	return held, err
}

// ReleaseLease deletes the lease if owner holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if err := check("lease name", name); err != nil {
		return err
	}
	return s.update(ctx, func(txn *badger.Txn) error {
		k := key(pLease, name)
		var cur lease
		found, err := getJSON(txn, k, &cur)
		if err != nil || !found || cur.Owner != owner {
			return err
		}
		return txn.Delete(k)
	})
}
