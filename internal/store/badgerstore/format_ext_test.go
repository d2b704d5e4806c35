package badgerstore_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store/badgerstore"
)

// setRaw writes one key with Badger directly (the store must be closed).
func setRaw(t testing.TB, dir, k, v string) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	must(t, err)
	defer db.Close()
	must(t, db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(k), []byte(v)) }))
}

func TestFormatVersion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, version, msg string
	}{
		{"newer", "2", "newer than this runlet"},
		{"garbage", "x1", `format version "x1"`},
		{"older", "0", "unknown format version 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			must(t, e.s.Close())
			setRaw(t, e.dir, "m/format", c.version)
			_, err := badgerstore.Open(e.options())
			if !errors.Is(err, badgerstore.ErrFormat) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Open of format %q: %v, want ErrFormat mentioning %q", c.version, err, c.msg)
			}
		})
	}
	t.Run("current", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		e.reopen(t) // the version written at creation is accepted
	})
}

// A Badger directory that holds other data is not taken over.
func TestForeignBadgerDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	setRaw(t, dir, "someone/else", "x")
	_, err := badgerstore.Open(badgerstore.Options{Dir: dir, KeyFile: filepath.Join(root, "k"), Logger: quiet})
	if !errors.Is(err, badgerstore.ErrFormat) {
		t.Fatalf("Open of a foreign Badger dir: %v, want ErrFormat", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	cases := []struct {
		name string
		o    badgerstore.Options
		msg  string
	}{
		{"no dir", badgerstore.Options{KeyFile: filepath.Join(root, "k")}, "Dir is required"},
		{"no key file", badgerstore.Options{Dir: filepath.Join(root, "d")}, "KeyFile is required"},
		{"key inside dir", badgerstore.Options{Dir: filepath.Join(root, "d"), KeyFile: filepath.Join(root, "d", "k")}, "outside Dir"},
		{"in memory with dir", badgerstore.Options{InMemory: true, Dir: filepath.Join(root, "d")}, "Dir must be empty"},
		{"tiny memtable", badgerstore.Options{InMemory: true, MemTableSize: 1000}, "MemTableSize"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := badgerstore.Open(c.o)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Open(%+v): %v, want %q", c.o, err, c.msg)
			}
		})
	}
	// A key file next to the directory (a sibling with a common prefix) is fine.
	s, err := badgerstore.Open(badgerstore.Options{Dir: filepath.Join(root, "d"), KeyFile: filepath.Join(root, "d.key"), Logger: quiet})
	must(t, err)
	must(t, s.Close())
}
