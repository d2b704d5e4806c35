package badgerstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
)

// latest is the record at sl/<ws>\0<path>.
type latest struct {
	Hash     string `json:"hash"`
	Seq      uint64 `json:"seq"` // of Hash in the history
	Archived bool   `json:"archived,omitempty"`
}

// CreateScript stores a new version and makes it the path's latest (and
// not archived). A ParentHash that is not the current latest is
// ErrConflict; an empty ParentHash replaces the latest, whatever it is (a
// convenience for the CLI). A version whose hash exists in the workspace —
// at any path — is ErrConflict.
func (s *Store) CreateScript(ctx context.Context, sc store.Script) error {
	if err := check("workspace", sc.Workspace); err != nil {
		return err
	}
	if err := check("script path", sc.Path); err != nil {
		return err
	}
	if err := check("script hash", sc.Hash); err != nil {
		return err
	}
	sc.Archived = false
	err := s.update(ctx, func(txn *badger.Txn) error {
		lk := key(pLatest, sc.Workspace, sc.Path)
		var cur latest
		found, err := getJSON(txn, lk, &cur)
		if err != nil {
			return err
		}
		if sc.ParentHash != "" && (!found || cur.Hash != sc.ParentHash) {
			if !found {
				return fmt.Errorf("script %q: parent %s given but the path has no version: %w", sc.Path, sc.ParentHash, store.ErrConflict)
			}
			return fmt.Errorf("script %q: parent %s is not the latest version %s: %w", sc.Path, sc.ParentHash, cur.Hash, store.ErrConflict)
		}
		vk := key(pVersion, sc.Workspace, sc.Hash)
		dup, err := exists(txn, vk)
		if err != nil {
			return err
		}
		if dup {
			return fmt.Errorf("script version %s in workspace %q exists: %w", sc.Hash, sc.Workspace, store.ErrConflict)
		}
		next := latest{Hash: sc.Hash, Seq: cur.Seq + 1}
		if err := setJSON(txn, vk, sc); err != nil {
			return err
		}
		if err := txn.Set(historyKey(sc.Workspace, sc.Path, next.Seq), []byte(sc.Hash)); err != nil {
			return err
		}
		return setJSON(txn, lk, next)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// getVersion reads a version and sets Archived from its path's pointer.
func getVersion(txn *badger.Txn, ws, hash string) (*store.Script, error) {
	var sc store.Script
	found, err := getJSON(txn, key(pVersion, ws, hash), &sc)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("script version %s in workspace %q: %w", hash, ws, store.ErrNotFound)
	}
	var l latest
	if _, err := getJSON(txn, key(pLatest, ws, sc.Path), &l); err != nil {
		return nil, err
	}
	sc.Archived = l.Archived
	return &sc, nil
}

// GetScript returns the latest version of a path; ErrNotFound when the
// path is archived.
func (s *Store) GetScript(ctx context.Context, ws, path string) (*store.Script, error) {
	var sc *store.Script
	err := s.view(ctx, func(txn *badger.Txn) error {
		var l latest
		found, err := getJSON(txn, key(pLatest, ws, path), &l)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("script %q: %w", path, store.ErrNotFound)
		}
		if l.Archived {
			return fmt.Errorf("script %q is archived: %w", path, store.ErrNotFound)
		}
		sc, err = getVersion(txn, ws, l.Hash)
		return err
	})
	return sc, err
}

// GetScriptByHash returns any version, archived or superseded. Its
// Archived field is the path's.
func (s *Store) GetScriptByHash(ctx context.Context, ws, hash string) (*store.Script, error) {
	var sc *store.Script
	err := s.view(ctx, func(txn *badger.Txn) error {
		var err error
		sc, err = getVersion(txn, ws, hash)
		return err
	})
	return sc, err
}

// ListScripts returns the latest version of every path under prefix that
// is not archived, sorted by path.
func (s *Store) ListScripts(ctx context.Context, ws, prefix string) ([]store.Script, error) {
	if err := check("workspace", ws); err != nil {
		return nil, err
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	var out []store.Script
	err := s.view(ctx, func(txn *badger.Txn) error {
		var hashes []string
		err := scan(ctx, txn, append(scope(pLatest, ws), prefix...), func(item *badger.Item) error {
			var l latest
			if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &l) }); err != nil {
				return err
			}
			if !l.Archived {
				hashes = append(hashes, l.Hash)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, h := range hashes {
			sc, err := getVersion(txn, ws, h)
			if err != nil {
				return err
			}
			out = append(out, *sc)
		}
		return nil
	})
	return out, err
}

// ScriptHistory returns every version of a path, newest first (archived
// paths included).
func (s *Store) ScriptHistory(ctx context.Context, ws, path string) ([]store.Script, error) {
	var out []store.Script
	err := s.view(ctx, func(txn *badger.Txn) error {
		hashes, _, err := history(ctx, txn, ws, path)
		if err != nil {
			return err
		}
		for i := len(hashes) - 1; i >= 0; i-- {
			sc, err := getVersion(txn, ws, hashes[i])
			if err != nil {
				return err
			}
			out = append(out, *sc)
		}
		return nil
	})
	return out, err
}

// history returns a path's version hashes oldest first, with their keys;
// ErrNotFound when there is none.
func history(ctx context.Context, txn *badger.Txn, ws, path string) (hashes []string, keys [][]byte, err error) {
	if err := check("script path", path); err != nil {
		return nil, nil, err
	}
	err = scan(ctx, txn, scope(pHistory, ws, path), func(item *badger.Item) error {
		if len(item.Key()) < 8 {
			return errors.New("corrupt history key")
		}
		h, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		hashes = append(hashes, string(h))
		keys = append(keys, item.KeyCopy(nil))
		return nil
	})
	if err == nil && len(hashes) == 0 {
		err = fmt.Errorf("script %q: %w", path, store.ErrNotFound)
	}
	return hashes, keys, err
}

// ArchiveScript hides (or shows again) a path from GetScript and
// ListScripts; its versions stay readable by hash.
func (s *Store) ArchiveScript(ctx context.Context, ws, path string, archived bool) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		lk := key(pLatest, ws, path)
		var l latest
		found, err := getJSON(txn, lk, &l)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("script %q: %w", path, store.ErrNotFound)
		}
		l.Archived = archived
		return setJSON(txn, lk, l)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// DeleteScript removes every version of a path and its history.
func (s *Store) DeleteScript(ctx context.Context, ws, path string) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		hashes, keys, err := history(ctx, txn, ws, path)
		if err != nil {
			return err
		}
		for i, h := range hashes {
			if err := txn.Delete(key(pVersion, ws, h)); err != nil {
				return err
			}
			if err := txn.Delete(keys[i]); err != nil {
				return err
			}
		}
		return txn.Delete(key(pLatest, ws, path))
	})
	if err != nil {
		return err
	}
	return s.durable()
}
