package badgerstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
)

// compact validates v as JSON and removes insignificant whitespace, so that
// CompareAndSetState compares values, not layouts (object key order still
// matters).
func compact(v json.RawMessage) ([]byte, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return nil, fmt.Errorf("state value is not JSON: %v: %w", err, ErrInvalid)
	}
	return b.Bytes(), nil
}

// GetState returns a state value (compact JSON); ErrNotFound on first read.
func (s *Store) GetState(ctx context.Context, ws, k string) (json.RawMessage, error) {
	var v []byte
	err := s.view(ctx, func(txn *badger.Txn) error {
		item, err := txn.Get(key(pState, ws, k))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("state %q: %w", k, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	return v, err
}

// SetState stores a state value.
func (s *Store) SetState(ctx context.Context, ws, k string, v json.RawMessage) error {
	if err := check("workspace", ws); err != nil {
		return err
	}
	if err := check("state key", k); err != nil {
		return err
	}
	b, err := compact(v)
	if err != nil {
		return err
	}
	if err := s.update(ctx, func(txn *badger.Txn) error { return txn.Set(key(pState, ws, k), b) }); err != nil {
		return err
	}
	return s.durable()
}

// CompareAndSetState sets v when the current value equals old (nil: the
// key is absent) and reports whether it did. Values are compared as
// compact JSON. A concurrent writer makes the transaction conflict; it is
// then retried against the new value.
func (s *Store) CompareAndSetState(ctx context.Context, ws, k string, old, v json.RawMessage) (bool, error) {
	if err := check("workspace", ws); err != nil {
		return false, err
	}
	if err := check("state key", k); err != nil {
		return false, err
	}
	nv, err := compact(v)
	if err != nil {
		return false, err
	}
	var want []byte
	if old != nil {
		if want, err = compact(old); err != nil {
			return false, err
		}
	}
	var swapped bool
	err = s.update(ctx, func(txn *badger.Txn) error {
		swapped = false
		sk := key(pState, ws, k)
		item, err := txn.Get(sk)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			if old != nil {
				return nil
			}
		case err != nil:
			return err
		default:
			if old == nil {
				return nil
			}
			equal := false
			if err := item.Value(func(b []byte) error { equal = bytes.Equal(b, want); return nil }); err != nil {
				return err
			}
			if !equal {
				return nil
			}
		}
		swapped = true
		return txn.Set(sk, nv)
	})
	if err != nil || !swapped {
		return false, err
	}
	return true, s.durable()
}
