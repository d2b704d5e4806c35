package badgerstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// maxChunk is the largest log chunk (one Badger value).
const maxChunk = 128 << 10

// AppendLogs appends text to a job's log. Each call adds chunks keyed by
// their starting byte offset; two concurrent appends to one job conflict
// on the next offset's key and one is retried, so appends do not
// interleave — except that text longer than a transaction may hold (half
// of Badger's limit, 15% of a memtable: 600 KiB by default) is written in
// several transactions. ErrNotFound when the job does not exist.
func (s *Store) AppendLogs(ctx context.Context, id string, text []byte) error {
	if err := check("job id", id); err != nil {
		return err
	}
	for len(text) > 0 {
		n := min(len(text), s.txnBytes())
		if err := s.appendLogs(ctx, id, text[:n]); err != nil {
			return err
		}
		text = text[n:]
	}
	return nil
}

// txnBytes is how many bytes of values one transaction should write: half
// of Badger's limit, leaving room for keys and the rest.
func (s *Store) txnBytes() int { return max(maxChunk, int(s.opts.MemTableSize*15/100/2)) }

func (s *Store) appendLogs(ctx context.Context, id string, text []byte) error {
	return s.update(ctx, func(txn *badger.Txn) error {
		if _, err := getJob(txn, id); err != nil {
			return err
		}
		off, err := logEnd(txn, id)
		if err != nil {
			return err
		}
		for rest := text; len(rest) > 0; {
			n := min(len(rest), maxChunk)
			k := logKey(id, off)
			// Read the new key so that a concurrent append writing the
			// same offset conflicts with this one.
			if taken, err := exists(txn, k); err != nil || taken {
				if err == nil {
					err = errors.New("log chunk exists at the end offset")
				}
				return err
			}
			if err := txn.Set(k, rest[:n]); err != nil {
				return err
			}
			off += uint64(n)
			rest = rest[n:]
		}
		return nil
	})
}

// logEnd is the length of a job's log: the last chunk's offset plus its
// length.
func logEnd(txn *badger.Txn, id string) (uint64, error) {
	prefix := scope(pLog, id)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
	defer it.Close()
	it.Seek(append(prefix, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
	if !it.Valid() {
		return 0, nil
	}
	item := it.Item()
	k := item.Key()
	if len(k) != len(prefix)+8 {
		return 0, fmt.Errorf("corrupt log key %q", k)
	}
	start := binary.BigEndian.Uint64(k[len(prefix):])
	var n int
	err := item.Value(func(b []byte) error { n = len(b); return nil })
	return start + uint64(n), err
}

// Logs returns a job's log from byte offset on (empty past the end).
// ErrNotFound when the job does not exist.
func (s *Store) Logs(ctx context.Context, id string, offset int) ([]byte, error) {
	if offset < 0 {
		return nil, fmt.Errorf("log offset %d: %w", offset, ErrInvalid)
	}
	var out []byte
	err := s.view(ctx, func(txn *badger.Txn) error {
		if _, err := getJob(txn, id); err != nil {
			return err
		}
		prefix := scope(pLog, id)
		// The chunk holding offset is the last one starting at or before it.
		start := logKey(id, uint64(offset))
		rit := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		rit.Seek(start)
		if rit.Valid() {
			start = rit.Item().KeyCopy(nil)
		}
		rit.Close()

		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Seek(start); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			at := binary.BigEndian.Uint64(item.Key()[len(prefix):])
			err := item.Value(func(b []byte) error {
				skip := uint64(0)
				if uint64(offset) > at {
					skip = min(uint64(offset)-at, uint64(len(b)))
				}
				out = append(out, b[skip:]...)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}
