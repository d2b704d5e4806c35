package badgerstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/internal/store/badgerstore"
)

// env is one store in a temporary directory, closed at cleanup.
type env struct {
	dir     string // Badger's directory
	keyFile string // outside dir
	logs    *syncBuffer
	s       *badgerstore.Store
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func setup(t testing.TB) *env {
	t.Helper()
	root := t.TempDir()
	e := &env{
		dir:     filepath.Join(root, "data"),
		keyFile: filepath.Join(root, "secret.key"),
		logs:    &syncBuffer{},
	}
	e.open(t)
	return e
}

func (e *env) options() badgerstore.Options {
	return badgerstore.Options{
		Dir:     e.dir,
		KeyFile: e.keyFile,
		Logger:  slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

func (e *env) open(t testing.TB) {
	t.Helper()
	s, err := badgerstore.Open(e.options())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	e.s = s
	t.Cleanup(func() { s.Close() })
}

// reopen closes the store and opens it again.
func (e *env) reopen(t testing.TB) {
	t.Helper()
	if err := e.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	e.open(t)
}

var (
	ctx   = context.Background()
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
)

func newID(t testing.TB) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// t0 is a fixed clock for job tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func job(t testing.TB, ws string) store.Job {
	return store.Job{
		ID:           newID(t),
		Workspace:    ws,
		ScriptPath:   "f/demo/hello",
		ScriptHash:   "0123456789abcdef",
		Args:         json.RawMessage(`{"n":1}`),
		Trigger:      "api",
		CreatedBy:    "alice",
		CreatedAt:    t0,
		ScheduledFor: t0,
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
