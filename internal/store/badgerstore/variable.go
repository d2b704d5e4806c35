package badgerstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
)

// variable is the stored form of a store.Variable: a secret's value is
// only in Sealed.
type variable struct {
	Workspace   string    `json:"workspace"`
	Path        string    `json:"path"`
	Value       string    `json:"value,omitempty"` // non-secret only
	Sealed      []byte    `json:"sealed,omitempty"`
	Secret      bool      `json:"is_secret"`
	Description string    `json:"description,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func variableAAD(ws, path string) []byte {
	return []byte("runlet/variable\x00" + ws + "\x00" + path)
}

func (s *Store) sealVariable(v store.Variable, keys *keyring) (variable, error) {
	rec := variable{Workspace: v.Workspace, Path: v.Path, Secret: v.Secret, Description: v.Description, UpdatedAt: v.UpdatedAt}
	if !v.Secret {
		rec.Value = v.Value
		return rec, nil
	}
	ct, err := keys.seal([]byte(v.Value), variableAAD(v.Workspace, v.Path))
	if err != nil {
		return rec, fmt.Errorf("encrypt variable %q: %w", v.Path, err)
	}
	rec.Sealed = ct
	return rec, nil
}

// PutVariable creates or replaces a variable, encrypting a secret's value.
func (s *Store) PutVariable(ctx context.Context, v store.Variable) error {
	if err := check("workspace", v.Workspace); err != nil {
		return err
	}
	if err := check("variable path", v.Path); err != nil {
		return err
	}
	// Hold the keys across seal and commit so that RotateKey, which swaps
	// them under the write lock, sees this secret when it re-encrypts.
	s.keyMu.RLock()
	rec, err := s.sealVariable(v, s.keys)
	if err == nil {
		err = s.update(ctx, func(txn *badger.Txn) error {
			return setJSON(txn, key(pVariable, v.Workspace, v.Path), rec)
		})
	}
	s.keyMu.RUnlock()
	if err != nil {
		return err
	}
	return s.durable()
}

// GetVariable returns a variable with its secret value decrypted.
func (s *Store) GetVariable(ctx context.Context, ws, path string) (*store.Variable, error) {
	var rec variable
	err := s.view(ctx, func(txn *badger.Txn) error {
		found, err := getJSON(txn, key(pVariable, ws, path), &rec)
		if err == nil && !found {
			err = fmt.Errorf("variable %q: %w", path, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	v := rec.public()
	if rec.Secret {
		s.keyMu.RLock()
		pt, err := s.keys.open(rec.Sealed, variableAAD(ws, path))
		s.keyMu.RUnlock()
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", path, err)
		}
		v.Value = string(pt)
	}
	return &v, nil
}

// public is the record without its value for a secret.
func (rec *variable) public() store.Variable {
	return store.Variable{Workspace: rec.Workspace, Path: rec.Path, Value: rec.Value, Secret: rec.Secret, Description: rec.Description, UpdatedAt: rec.UpdatedAt}
}

// ListVariables returns the variables under prefix sorted by path; secret
// values are "" (never decrypted in a list).
func (s *Store) ListVariables(ctx context.Context, ws, prefix string) ([]store.Variable, error) {
	if err := check("workspace", ws); err != nil {
		return nil, err
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	var out []store.Variable
	err := s.view(ctx, func(txn *badger.Txn) error {
		return scan(ctx, txn, append(scope(pVariable, ws), prefix...), func(item *badger.Item) error {
			var rec variable
			if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &rec) }); err != nil {
				return err
			}
			out = append(out, rec.public())
			return nil
		})
	})
	return out, err
}

// DeleteVariable removes a variable.
func (s *Store) DeleteVariable(ctx context.Context, ws, path string) error {
	return s.deleteOne(ctx, key(pVariable, ws, path), "variable", path)
}

// deleteOne deletes k durably; ErrNotFound when absent.
func (s *Store) deleteOne(ctx context.Context, k []byte, what, name string) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		ok, err := exists(txn, k)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s %q: %w", what, name, store.ErrNotFound)
		}
		return txn.Delete(k)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// secretKeyIDs counts the secret variables and how many use each key.
func (s *Store) secretKeyIDs() (n int, ids map[uint32]int, err error) {
	ids = map[uint32]int{}
	err = s.db.View(func(txn *badger.Txn) error {
		return scan(context.Background(), txn, []byte(pVariable), func(item *badger.Item) error {
			var rec variable
			if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &rec) }); err != nil {
				return err
			}
			if !rec.Secret {
				return nil
			}
			n++
			id, err := sealedKeyID(rec.Sealed)
			if err == nil {
				ids[id]++
			}
			return nil
		})
	})
	return n, ids, err
}

// rotateBatch is how many secrets RotateKey re-encrypts per transaction
// (at most; also bounded by Store.txnBytes).
const rotateBatch = 256

// RotateKey makes a new key current and re-encrypts every secret under it.
//
// First the key file is rewritten atomically with the new key on the
// first line and the previous keys after it; then the secrets are
// re-encrypted in batches and synced. A crash in between leaves some
// secrets under an older key, which the file still holds, so nothing
// becomes unreadable; running RotateKey again finishes the job (with yet
// another key). Older keys stay in the file because older backups need
// them: remove their lines by hand when no backup needs them.
func (s *Store) RotateKey(ctx context.Context) error {
	if s.opts.KeyFile == "" {
		return fmt.Errorf("rotate key: in-memory store without a key file: %w", ErrKey)
	}
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}

	k, err := randomKey()
	if err != nil {
		return err
	}
	s.keyMu.Lock() // waits for secrets being written under the old key
	keys := append([][keyLen]byte{k}, s.keys.keys...)
	ring, err := newKeyring(keys)
	if err == nil {
		err = writeKeyFile(s.opts.KeyFile, keys)
	}
	if err == nil {
		s.keys = ring
	}
	s.keyMu.Unlock()
	if err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	s.log.Info("rotated secret key; re-encrypting secrets", "key_file", s.opts.KeyFile, "keys", len(keys))

	// Re-encrypt. Keys are visited in order; each batch starts after the
	// last key of the previous one.
	start := []byte(pVariable)
	for {
		var last []byte
		done := false
		err := s.update(ctx, func(txn *badger.Txn) error {
			last, done = nil, false
			var todo []variable
			size := 0
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pVariable), PrefetchValues: true})
			it.Seek(start)
			for ; it.Valid(); it.Next() {
				item := it.Item()
				vs := int(item.ValueSize())
				if len(todo) == rotateBatch || len(todo) > 0 && size+vs > s.txnBytes() {
					break
				}
				last = item.KeyCopy(last[:0])
				var rec variable
				if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &rec) }); err != nil {
					it.Close()
					return err
				}
				if rec.Secret {
					if id, err := sealedKeyID(rec.Sealed); err != nil || id != ring.current() {
						todo = append(todo, rec)
						size += vs
					}
				}
			}
			done = !it.Valid()
			it.Close()
			for _, rec := range todo {
				pt, err := ring.open(rec.Sealed, variableAAD(rec.Workspace, rec.Path))
				if err != nil {
					s.log.Warn("rotate key: secret cannot be decrypted; left as is", "workspace", rec.Workspace, "path", rec.Path, "err", err)
					continue
				}
				if rec.Sealed, err = ring.seal(pt, variableAAD(rec.Workspace, rec.Path)); err != nil {
					return err
				}
				if err := setJSON(txn, key(pVariable, rec.Workspace, rec.Path), rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("rotate key: re-encrypt: %w", err)
		}
		if done || last == nil {
			break
		}
		start = append(last, 0) // the next key after last
	}
	return s.durable()
}
