package badgerstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
)

// FormatVersion is the on-disk format this package writes and reads. Open
// refuses a store with another version.
const FormatVersion = 1

// Options configure Open.
type Options struct {
	// Dir is Badger's directory, created when missing. Required unless
	// InMemory.
	Dir string
	// KeyFile holds the keys that encrypt secret variables (see the package
	// documentation). It must lie outside Dir. Created (0600, one random
	// key) when missing — unless the store already holds secrets, in which
	// case Open fails rather than make them unreadable. Required unless
	// InMemory; with InMemory and no KeyFile a random key lives in memory.
	KeyFile string
	// Logger receives Badger's warnings and errors and the store's own.
	// Default: slog.Default().
	Logger *slog.Logger
	// InMemory keeps everything in memory (tests); Dir must be empty.
	// Default: false.
	InMemory bool
	// MemTableSize is the size of each of Badger's two memtables; a
	// transaction may write at most 15% of it, and values up to
	// min(1 MiB, 15% - 64 KiB) stay in the LSM tree (larger ones go to the
	// value log). Default: 8 MiB.
	MemTableSize int64
	// BlockCacheSize caches decompressed table blocks. Default: 16 MiB.
	BlockCacheSize int64
	// IndexCacheSize bounds the memory of table indexes and bloom filters.
	// Default: 8 MiB.
	IndexCacheSize int64
	// GCInterval is how often the value log is garbage-collected; negative
	// disables it. Default: 10 minutes.
	GCInterval time.Duration
	// Now is the clock for the times the store fills in (a Job's
	// CompletedAt when Finish gets none). Default: time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 8 << 20
	}
	if o.BlockCacheSize == 0 {
		o.BlockCacheSize = 16 << 20
	}
	if o.IndexCacheSize == 0 {
		o.IndexCacheSize = 8 << 20
	}
	if o.GCInterval == 0 {
		o.GCInterval = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func (o *Options) validate() error {
	var errs []error
	switch {
	case o.InMemory && o.Dir != "":
		errs = append(errs, errors.New("with InMemory, Dir must be empty"))
	case !o.InMemory && o.Dir == "":
		errs = append(errs, errors.New("no Dir: Dir is required unless InMemory"))
	}
	if !o.InMemory && o.KeyFile == "" {
		errs = append(errs, errors.New("no KeyFile: KeyFile is required unless InMemory"))
	}
	if o.Dir != "" && o.KeyFile != "" {
		dir, err1 := filepath.Abs(o.Dir)
		kf, err2 := filepath.Abs(o.KeyFile)
		if err1 == nil && err2 == nil {
			if rel, err := filepath.Rel(dir, kf); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				errs = append(errs, fmt.Errorf("KeyFile %s must lie outside Dir %s", o.KeyFile, o.Dir))
			}
		}
	}
	if o.MemTableSize < 4<<20 {
		errs = append(errs, errors.New("MemTableSize must be at least 4 MiB"))
	}
	if o.BlockCacheSize < 0 || o.IndexCacheSize < 0 {
		errs = append(errs, errors.New("cache sizes must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("badgerstore options: %w", err)
	}
	return nil
}

// Store is the Badger implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	db    *badger.DB
	opts  Options
	log   *slog.Logger
	group *groupSync

	keyMu    sync.RWMutex // guards keys; held for reading across a secret's seal and commit
	keys     *keyring
	rotateMu sync.Mutex // one RotateKey at a time

	claimMu sync.Mutex   // serialises Claim (the rest relies on transactions)
	queue   *memQueue    // mirror of jq/, rebuilt at Open
	depth   atomic.Int64 // queued jobs, rebuilt at Open

	closeOnce sync.Once
	closeErr  error
	stop      chan struct{}
	wg        sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open opens (or creates) the store in opts.Dir.
func Open(opts Options) (*Store, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	bo := badger.DefaultOptions(opts.Dir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(false).
		WithLogger(badgerLogger{opts.Logger}).
		WithMemTableSize(opts.MemTableSize).
		// One value at the threshold plus small keys must fit in a
		// transaction (15% of a memtable).
		WithValueThreshold(min(1<<20, opts.MemTableSize*15/100-64<<10)).
		WithNumMemtables(2).
		WithBaseTableSize(1 << 20).
		WithBaseLevelSize(4 << 20).
		WithNumLevelZeroTables(4).
		WithNumLevelZeroTablesStall(8).
		WithBlockCacheSize(opts.BlockCacheSize).
		WithIndexCacheSize(opts.IndexCacheSize).
		WithNumCompactors(2).
		WithValueLogFileSize(128 << 20).
		WithMetricsEnabled(false).
		WithNumGoroutines(2)
	if opts.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("open badger %s: %w", opts.Dir, err)
	}
	s := &Store{db: db, opts: opts, log: opts.Logger, queue: newMemQueue(), stop: make(chan struct{})}
	s.group = newGroupSync(db.Sync)
	if err := s.init(); err != nil {
		s.group.close()
		db.Close()
		return nil, err
	}
	if !opts.InMemory && opts.GCInterval > 0 {
		s.wg.Add(1)
		go s.gcLoop()
	}
	return s, nil
}

// init checks or writes the format version, loads the keys and counts the
// queue.
func (s *Store) init() error {
	created, err := s.checkFormat()
	if err != nil {
		return err
	}
	if err := s.loadKeys(created); err != nil {
		return err
	}
	if err := s.loadQueue(); err != nil {
		return err
	}
	return s.group.wait()
}

// checkFormat writes the format version into an empty database and checks
// it otherwise. It reports whether the database was empty.
func (s *Store) checkFormat() (created bool, err error) {
	err = s.db.Update(func(txn *badger.Txn) error {
		created = false
		item, err := txn.Get([]byte(pFormat))
		if errors.Is(err, badger.ErrKeyNotFound) {
			if !emptyTxn(txn) {
				return fmt.Errorf("%s holds data without a runlet format version: %w", s.where(), ErrFormat)
			}
			created = true
			return txn.Set([]byte(pFormat), []byte(strconv.Itoa(FormatVersion)))
		}
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		return checkVersion(string(v), s.where())
	})
	return created, err
}

func checkVersion(v, where string) error {
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return fmt.Errorf("%s: format version %q: %w", where, v, ErrFormat)
	case n > FormatVersion:
		return fmt.Errorf("%s has format version %d, newer than this runlet (%d); upgrade runlet: %w", where, n, FormatVersion, ErrFormat)
	case n != FormatVersion:
		return fmt.Errorf("%s has unknown format version %d (want %d): %w", where, n, FormatVersion, ErrFormat)
	}
	return nil
}

func (s *Store) where() string {
	if s.opts.InMemory {
		return "in-memory store"
	}
	return "store " + s.opts.Dir
}

// emptyTxn reports whether the database holds no key but the format
// version.
func emptyTxn(txn *badger.Txn) bool {
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if string(it.Item().Key()) != pFormat {
			return false
		}
	}
	return true
}

// loadKeys reads the key file, creating it when missing and the store
// holds no secret.
func (s *Store) loadKeys(created bool) error {
	if s.opts.KeyFile == "" { // InMemory only (validate)
		k, err := randomKey()
		if err != nil {
			return err
		}
		s.keys, err = newKeyring([][keyLen]byte{k})
		return err
	}
	keys, err := readKeyFile(s.opts.KeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		if !created {
			n, _, err := s.secretKeyIDs()
			if err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("key file %s is missing but %s holds %d secret variables; restore the key file: %w", s.opts.KeyFile, s.where(), n, ErrKey)
			}
		}
		k, err := randomKey()
		if err != nil {
			return err
		}
		keys = [][keyLen]byte{k}
		if err := writeKeyFile(s.opts.KeyFile, keys); err != nil {
			return fmt.Errorf("create key file: %w", err)
		}
		s.log.Info("created secret key file", "path", s.opts.KeyFile)
	} else if err != nil {
		return fmt.Errorf("read key file: %w", err)
	} else if fi, err := os.Stat(s.opts.KeyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		s.log.Warn("the secret key file is readable by others; chmod 600 it", "path", s.opts.KeyFile, "mode", fi.Mode().Perm().String())
	}
	if s.keys, err = newKeyring(keys); err != nil {
		return err
	}
	return s.checkSecretKeys()
}

// checkSecretKeys warns when secrets use keys the key file lacks.
func (s *Store) checkSecretKeys() error {
	_, ids, err := s.secretKeyIDs()
	if err != nil {
		return err
	}
	unknown := 0
	for id, n := range ids {
		if !s.keys.has(id) {
			unknown += n
		}
	}
	if unknown > 0 {
		s.log.Warn("secret variables are encrypted with keys missing from the key file; they cannot be read", "count", unknown, "key_file", s.opts.KeyFile)
	}
	return nil
}

// loadQueue rebuilds the queue's memory mirror and depth counter from jq/.
func (s *Store) loadQueue() error {
	s.queue.reset()
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pQueue)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			prio, sched, id, ok := parseQueueKey(it.Item().Key())
			if !ok {
				return fmt.Errorf("corrupt queue key %q", it.Item().Key())
			}
			s.queue.push(unPrioKey(prio), sched, id)
			n++
		}
		return nil
	})
	s.depth.Store(int64(n))
	return err
}

func (s *Store) gcLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		for i := 0; i < 16; i++ { // each round rewrites at most one file
			if err := s.db.RunValueLogGC(0.5); err != nil {
				if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
					s.log.Warn("badger value log GC", "err", err)
				}
				break
			}
		}
	}
}

// Close stops the background work and closes Badger (which flushes and
// syncs). It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.group.close()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// maxAttempts bounds retries of a transaction that keeps conflicting.
const maxAttempts = 200

// update runs fn in a read-write transaction and retries it on a Badger
// conflict. fn must only touch the transaction and its own locals.
func (s *Store) update(ctx context.Context, fn func(txn *badger.Txn) error) error {
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.db.Update(fn)
		if !errors.Is(err, badger.ErrConflict) {
			return dbErr(err)
		}
		if attempt == maxAttempts {
			return fmt.Errorf("transaction retried %d times: %w", attempt, err)
		}
		time.Sleep(time.Duration(rand.Int64N(int64(attempt)*int64(20*time.Microsecond) + 1)))
	}
}

func (s *Store) view(ctx context.Context, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return dbErr(s.db.View(fn))
}

// alive checks ctx and that the store is open, for methods that answer
// from memory.
func (s *Store) alive(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.db.IsClosed() {
		return ErrClosed
	}
	return nil
}

// durable waits for an fsync covering what the caller committed.
func (s *Store) durable() error {
	if err := s.group.wait(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

func dbErr(err error) error {
	if errors.Is(err, badger.ErrDBClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// getJSON decodes the value at k into v; found is false when k is absent.
func getJSON(txn *badger.Txn, k []byte, v any) (found bool, err error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}

func setJSON(txn *badger.Txn, k []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(k, b)
}

// exists reports whether k is present (and records the read for conflict
// detection).
func exists(txn *badger.Txn, k []byte) (bool, error) {
	_, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// scan calls fn for every key with prefix (values decoded lazily by fn).
func scan(ctx context.Context, txn *badger.Txn, prefix []byte, fn func(item *badger.Item) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(it.Item()); err != nil {
			return err
		}
	}
	return nil
}

// badgerLogger passes Badger's warnings and errors to slog and drops the
// rest.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
}

func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
}
func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
