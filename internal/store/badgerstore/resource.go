package badgerstore

import (
	"context"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
)

// PutResource creates or replaces a resource.
func (s *Store) PutResource(ctx context.Context, r store.Resource) error {
	if err := check("workspace", r.Workspace); err != nil {
		return err
	}
	if err := check("resource path", r.Path); err != nil {
		return err
	}
	err := s.update(ctx, func(txn *badger.Txn) error {
		return setJSON(txn, key(pResource, r.Workspace, r.Path), r)
	})
	if err != nil {
		return err
	}
	return s.durable()
}

// GetResource returns a resource.
func (s *Store) GetResource(ctx context.Context, ws, path string) (*store.Resource, error) {
	var r store.Resource
	err := s.view(ctx, func(txn *badger.Txn) error {
		found, err := getJSON(txn, key(pResource, ws, path), &r)
		if err == nil && !found {
			err = fmt.Errorf("resource %q: %w", path, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// ListResources returns the resources under prefix sorted by path.
func (s *Store) ListResources(ctx context.Context, ws, prefix string) ([]store.Resource, error) {
	if err := check("workspace", ws); err != nil {
		return nil, err
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	return list[store.Resource](ctx, s, append(scope(pResource, ws), prefix...))
}

// DeleteResource removes a resource.
func (s *Store) DeleteResource(ctx context.Context, ws, path string) error {
	return s.deleteOne(ctx, key(pResource, ws, path), "resource", path)
}
