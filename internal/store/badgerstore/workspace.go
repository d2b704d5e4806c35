package badgerstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
)

// CreateWorkspace stores a new workspace; ErrConflict if the id exists.
func (s *Store) CreateWorkspace(ctx context.Context, w store.Workspace) error {
	if err := check("workspace id", w.ID); err != nil {
		return err
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		k := key(pWorkspace, w.ID)
		ok, err := exists(txn, k)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("workspace %q: %w", w.ID, store.ErrConflict)
		}
		return setJSON(txn, k, w)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// GetWorkspace returns a workspace by id.
func (s *Store) GetWorkspace(ctx context.Context, id string) (*store.Workspace, error) {
	var w store.Workspace
	err := s.view(ctx, func(txn *badger.Txn) error {
		ok, err := getJSON(txn, key(pWorkspace, id), &w)
		if err == nil && !ok {
			err = fmt.Errorf("workspace %q: %w", id, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// ListWorkspaces returns every workspace, sorted by id.
func (s *Store) ListWorkspaces(ctx context.Context) ([]store.Workspace, error) {
	return list[store.Workspace](ctx, s, []byte(pWorkspace))
}

// list decodes every value under prefix.
func list[T any](ctx context.Context, s *Store, prefix []byte) ([]T, error) {
	var out []T
	err := s.view(ctx, func(txn *badger.Txn) error {
		return scan(ctx, txn, prefix, func(item *badger.Item) error {
			var v T
			if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
				return err
			}
			out = append(out, v)
			return nil
		})
	})
	return out, err
}

// PutUser creates or replaces a user.
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	if err := check("workspace", u.Workspace); err != nil {
		return err
	}
	if err := check("user name", u.Name); err != nil {
		return err
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		return setJSON(txn, key(pUser, u.Workspace, u.Name), u)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// GetUser returns a user of a workspace.
func (s *Store) GetUser(ctx context.Context, ws, name string) (*store.User, error) {
	var u store.User
	err := s.view(ctx, func(txn *badger.Txn) error {
		ok, err := getJSON(txn, key(pUser, ws, name), &u)
		if err == nil && !ok {
			err = fmt.Errorf("user %q in workspace %q: %w", name, ws, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// ListUsers returns a workspace's users sorted by name.
func (s *Store) ListUsers(ctx context.Context, ws string) ([]store.User, error) {
	if err := check("workspace", ws); err != nil {
		return nil, err
	}
	return list[store.User](ctx, s, scope(pUser, ws))
}

// DeleteUser removes a user (not their tokens).
func (s *Store) DeleteUser(ctx context.Context, ws, name string) error {
	err := s.update(ctx, func(txn *badger.Txn) error {
		k := key(pUser, ws, name)
		ok, err := exists(txn, k)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("user %q in workspace %q: %w", name, ws, store.ErrNotFound)
		}
		return txn.Delete(k)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

func tokenIndexKey(t *store.Token) []byte { return key(pTokenIdx, t.Workspace, t.Prefix, t.Hash) }

// PutToken creates or replaces a token (by hash).
func (s *Store) PutToken(ctx context.Context, t store.Token) error {
	if err := check("token hash", t.Hash); err != nil {
		return err
	}
	if err := check("workspace", t.Workspace); err != nil {
		return err
	}
	if err := checkPrefix(t.Prefix); err != nil {
		return err
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		k := key(pToken, t.Hash)
		var old store.Token
		ok, err := getJSON(txn, k, &old)
		if err != nil {
			return err
		}
		if ok {
			if err := txn.Delete(tokenIndexKey(&old)); err != nil {
				return err
			}
		}
		if err := setJSON(txn, k, t); err != nil {
			return err
		}
		return txn.Set(tokenIndexKey(&t), nil)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// GetToken returns a token by the hex SHA-256 of its text. Expiry is the
// caller's to check.
func (s *Store) GetToken(ctx context.Context, hash string) (*store.Token, error) {
	var t store.Token
	err := s.view(ctx, func(txn *badger.Txn) error {
		ok, err := getJSON(txn, key(pToken, hash), &t)
		if err == nil && !ok {
			err = fmt.Errorf("token: %w", store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// ListTokens returns a workspace's tokens sorted by prefix.
func (s *Store) ListTokens(ctx context.Context, ws string) ([]store.Token, error) {
	if err := check("workspace", ws); err != nil {
		return nil, err
	}
	var out []store.Token
	err := s.view(ctx, func(txn *badger.Txn) error {
		return s.tokenScan(ctx, txn, ws, "", func(hash string) error {
			var t store.Token
			ok, err := getJSON(txn, key(pToken, hash), &t)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, t)
			}
			return nil
		})
	})
	return out, err
}

// tokenScan calls fn with the hash of each token of ws whose prefix starts
// with prefix.
func (s *Store) tokenScan(ctx context.Context, txn *badger.Txn, ws, prefix string, fn func(hash string) error) error {
	sc := append(scope(pTokenIdx, ws), prefix...)
	var hashes []string
	it := txn.NewIterator(badger.IteratorOptions{Prefix: sc})
	for it.Rewind(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			it.Close()
			return err
		}
		k := it.Item().Key()
		hashes = append(hashes, tail(k, strings.LastIndexByte(string(k), 0)+1))
	}
	it.Close() // a read-write transaction allows one iterator at a time
	for _, h := range hashes {
		if err := fn(h); err != nil {
			return err
		}
	}
	return nil
}

// DeleteTokens removes the workspace's tokens whose prefix starts with
// prefix (every token of the workspace when prefix is empty) and returns
// how many; ErrNotFound when none matched.
func (s *Store) DeleteTokens(ctx context.Context, ws, prefix string) (int, error) {
	if err := check("workspace", ws); err != nil {
		return 0, err
	}
	if err := checkPrefix(prefix); err != nil {
		return 0, err
	}
	var n int
	err := s.update(ctx, func(txn *badger.Txn) error {
		n = 0
		return s.tokenScan(ctx, txn, ws, prefix, func(hash string) error {
			var t store.Token
			ok, err := getJSON(txn, key(pToken, hash), &t)
			if err != nil {
				return err
			}
			if ok {
				if err := txn.Delete(key(pToken, hash)); err != nil {
					return err
				}
				if err := txn.Delete(tokenIndexKey(&t)); err != nil {
					return err
				}
				n++
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, fmt.Errorf("tokens with prefix %q in workspace %q: %w", prefix, ws, store.ErrNotFound)
	}
	return n, s.durable()
}
