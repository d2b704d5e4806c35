package badgerstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
)

// flowLatest is the record at fl/<ws>\0<path>.
type flowLatest struct {
	Version  int64 `json:"version"`
	Archived bool  `json:"archived,omitempty"`
}

func flowVersionKey(ws, path string, v int64) []byte {
	return u64(scope(pFlowVer, ws, path), uint64(v))
}

// CreateFlow stores a new version of a flow and makes it the path's latest
// (and not archived), setting f.Version. Durable.
func (s *Store) CreateFlow(ctx context.Context, f *store.Flow) error {
	if err := check("workspace", f.Workspace); err != nil {
		return err
	}
	if err := check("flow path", f.Path); err != nil {
		return err
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		lk := key(pFlowLast, f.Workspace, f.Path)
		var cur flowLatest
		if _, err := getJSON(txn, lk, &cur); err != nil {
			return err
		}
		f.Version, f.Archived = cur.Version+1, false
		if err := setJSON(txn, flowVersionKey(f.Workspace, f.Path, f.Version), f); err != nil {
			return err
		}
		return setJSON(txn, lk, flowLatest{Version: f.Version})
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// GetFlow returns a version of a flow; version 0 is the latest, which is
// ErrNotFound when the path is archived. A numbered version is returned
// archived or not (its Archived field is the path's).
func (s *Store) GetFlow(ctx context.Context, ws, path string, version int64) (*store.Flow, error) {
	if err := check("flow path", path); err != nil {
		return nil, err
	}
	var f store.Flow
	err := s.view(ctx, func(txn *badger.Txn) error {
		var l flowLatest
		found, err := getJSON(txn, key(pFlowLast, ws, path), &l)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("flow %q: %w", path, store.ErrNotFound)
		}
		if version == 0 {
			if l.Archived {
				return fmt.Errorf("flow %q is archived: %w", path, store.ErrNotFound)
			}
			version = l.Version
		}
		found, err = getJSON(txn, flowVersionKey(ws, path, version), &f)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("flow %q version %d: %w", path, version, store.ErrNotFound)
		}
		f.Archived = l.Archived
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// ListFlows returns the latest version of every flow under prefix that is
// not archived, sorted by path.
func (s *Store) ListFlows(ctx context.Context, ws, prefix string) ([]store.Flow, error) {
	if err := check("workspace", ws); err != nil {
		return nil, err
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	var out []store.Flow
	err := s.view(ctx, func(txn *badger.Txn) error {
		base := scope(pFlowLast, ws)
		type ent struct {
			path string
			v    int64
		}
		var ents []ent
		err := scan(ctx, txn, append(base, prefix...), func(item *badger.Item) error {
			var l flowLatest
			if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &l) }); err != nil {
				return err
			}
			if !l.Archived {
				ents = append(ents, ent{string(item.Key()[len(base):]), l.Version})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range ents {
			var f store.Flow
			if _, err := getJSON(txn, flowVersionKey(ws, e.path, e.v), &f); err != nil {
				return err
			}
			out = append(out, f)
		}
		return nil
	})
	return out, err
}

// FlowHistory returns every version of a flow, newest first.
func (s *Store) FlowHistory(ctx context.Context, ws, path string) ([]store.Flow, error) {
	if err := check("flow path", path); err != nil {
		return nil, err
	}
	var out []store.Flow
	err := s.view(ctx, func(txn *badger.Txn) error {
		var l flowLatest
		found, err := getJSON(txn, key(pFlowLast, ws, path), &l)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("flow %q: %w", path, store.ErrNotFound)
		}
		return scan(ctx, txn, scope(pFlowVer, ws, path), func(item *badger.Item) error {
			var f store.Flow
			if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &f) }); err != nil {
				return err
			}
			f.Archived = l.Archived
			out = append(out, f)
			return nil
		})
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// ArchiveFlow hides (or shows again) a flow from GetFlow(…, 0) and
// ListFlows; numbered versions stay readable.
func (s *Store) ArchiveFlow(ctx context.Context, ws, path string, archived bool) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		lk := key(pFlowLast, ws, path)
		var l flowLatest
		found, err := getJSON(txn, lk, &l)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("flow %q: %w", path, store.ErrNotFound)
		}
		l.Archived = archived
		return setJSON(txn, lk, l)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// DeleteFlow removes every version of a flow.
func (s *Store) DeleteFlow(ctx context.Context, ws, path string) error {
	if err := check("flow path", path); err != nil {
		return err
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		lk := key(pFlowLast, ws, path)
		found, err := exists(txn, lk)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("flow %q: %w", path, store.ErrNotFound)
		}
		var keys [][]byte
		if err := scan(ctx, txn, scope(pFlowVer, ws, path), func(item *badger.Item) error {
			keys = append(keys, item.KeyCopy(nil))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return txn.Delete(lk)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// PutScriptVersion stores a script version by hash only; an existing hash
// is left as is. Durable.
func (s *Store) PutScriptVersion(ctx context.Context, sc store.Script) error {
	if err := check("workspace", sc.Workspace); err != nil {
		return err
	}
	if err := check("script hash", sc.Hash); err != nil {
		return err
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		vk := key(pVersion, sc.Workspace, sc.Hash)
		dup, err := exists(txn, vk)
		if err != nil || dup {
			return err
		}
		return setJSON(txn, vk, sc)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// UpdateFlowStatus writes a running flow job's progress under its own
// keys (the header and one key per module), so a step's update costs the
// size of what changed, not of the whole status. Not fsync'd: the status
// is a view of the child jobs, which are the record.
func (s *Store) UpdateFlowStatus(ctx context.Context, id, owner string, st *store.FlowStatus, modules []int) error {
	if err := check("job id", id); err != nil {
		return err
	}
	return s.update(ctx, func(txn *badger.Txn) error {
		cur, err := getJob(txn, id)
		if err != nil {
			return err
		}
		if cur.Status != store.StatusRunning || cur.LeaseOwner != owner {
			return fmt.Errorf("job %s: %s under %q, not running under %q: %w", id, cur.Status, cur.LeaseOwner, owner, store.ErrConflict)
		}
		head := *st
		head.Modules = nil
		if err := setJSON(txn, flowHeadKey(id), head); err != nil {
			return err
		}
		if modules == nil {
			modules = make([]int, len(st.Modules))
			for i := range modules {
				modules[i] = i
			}
		}
		for _, i := range modules {
			if i < 0 || i >= len(st.Modules) {
				continue
			}
			if err := setJSON(txn, flowModKey(id, i), st.Modules[i]); err != nil {
				return err
			}
		}
		return setJSON(txn, flowCountKey(id), len(st.Modules))
	})
}

func flowHeadKey(id string) []byte  { return append(scope(pFlowRun, id), 'h') }
func flowCountKey(id string) []byte { return append(scope(pFlowRun, id), 'n') }
func flowModKey(id string, i int) []byte {
	return binary.BigEndian.AppendUint32(append(scope(pFlowRun, id), 'm'), uint32(i))
}

// flowProgress assembles a running flow job's status from its keys (nil
// when there is none).
func flowProgress(txn *badger.Txn, id string) (*store.FlowStatus, error) {
	var st store.FlowStatus
	found, err := getJSON(txn, flowHeadKey(id), &st)
	if err != nil || !found {
		return nil, err
	}
	var n int
	if _, err := getJSON(txn, flowCountKey(id), &n); err != nil {
		return nil, err
	}
	st.Modules = make([]store.FlowModuleStatus, n)
	prefix := append(scope(pFlowRun, id), 'm')
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != len(prefix)+4 {
			continue
		}
		i := int(binary.BigEndian.Uint32(k[len(prefix):]))
		if i >= n {
			continue
		}
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &st.Modules[i]) }); err != nil {
			return nil, err
		}
	}
	return &st, nil
}

// dropFlowProgress deletes a flow job's progress keys.
func dropFlowProgress(txn *badger.Txn, id string) error {
	var keys [][]byte
	it := txn.NewIterator(badger.IteratorOptions{Prefix: scope(pFlowRun, id)})
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// PutCheckpoint records a job's checkpoint; durable: after an fsync.
func (s *Store) PutCheckpoint(ctx context.Context, jobID, name string, v json.RawMessage, durable bool) error {
	if err := check("job id", jobID); err != nil {
		return err
	}
	if err := check("checkpoint name", name); err != nil {
		return err
	}
	if len(v) == 0 {
		v = json.RawMessage("null")
	}
	if err := s.update(ctx, func(txn *badger.Txn) error {
		return txn.Set(key(pCheck, jobID, name), v)
	}); err != nil {
		return err
	}
	if durable {
		return s.durable()
	}
	return nil
}

// Checkpoints returns all of a job's checkpoints.
func (s *Store) Checkpoints(ctx context.Context, jobID string) (map[string]json.RawMessage, error) {
	if err := check("job id", jobID); err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	base := scope(pCheck, jobID)
	err := s.view(ctx, func(txn *badger.Txn) error {
		return scan(ctx, txn, base, func(item *badger.Item) error {
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(item.Key()[len(base):])] = v
			return nil
		})
	})
	return out, err
}
