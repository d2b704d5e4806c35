package badgerstore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/internal/store/badgerstore"
)

// populate writes at least one record of every kind.
func populate(t testing.TB, s *badgerstore.Store) {
	t.Helper()
	must(t, s.CreateWorkspace(ctx, store.Workspace{ID: "acme", Name: "Acme", CreatedAt: t0}))
	must(t, s.PutUser(ctx, store.User{Workspace: "acme", Name: "alice", Role: store.RoleAdmin, CreatedAt: t0}))
	must(t, s.PutToken(ctx, store.Token{Hash: "h1", Prefix: "rl_1", Workspace: "acme", Owner: "alice", Role: store.RoleAdmin, CreatedAt: t0}))
	must(t, s.CreateScript(ctx, script("acme", "f/a", "a000000000000001", "")))
	must(t, s.CreateScript(ctx, script("acme", "f/a", "a000000000000002", "a000000000000001")))
	must(t, s.CreateScript(ctx, script("acme", "f/b", "b000000000000001", "")))
	must(t, s.ArchiveScript(ctx, "acme", "f/b", true))
	must(t, s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: "f/secret", Value: "s3cr3t", Secret: true, UpdatedAt: t0}))
	must(t, s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: "f/plain", Value: "p", UpdatedAt: t0}))
	must(t, s.PutResource(ctx, store.Resource{Workspace: "acme", Path: "f/db", Type: "pg", Value: json.RawMessage(`{"h":1}`), UpdatedAt: t0}))
	must(t, s.SetState(ctx, "acme", "cursor", json.RawMessage(`{"page":3}`)))
	must(t, s.CreateSchedule(ctx, schedule("acme", "f/nightly")))
	for i := range 6 {
		j := job(t, "acme")
		j.Priority = i % 2
		must(t, s.Enqueue(ctx, j, false))
	}
	run, err := s.Claim(ctx, "w", t0, time.Minute)
	must(t, err)
	must(t, s.AppendLogs(ctx, run.ID, []byte("running...\n")))
	done, err := s.Claim(ctx, "w", t0, time.Minute)
	must(t, err)
	must(t, s.AppendLogs(ctx, done.ID, []byte("done\n")))
	done.Status, done.Result, done.CompletedAt = store.StatusSuccess, json.RawMessage(`42`), t0
	must(t, s.Finish(ctx, *done, true))
}

// snapshot reads every record through the public API.
type snapshot struct {
	Workspaces []store.Workspace
	Users      []store.User
	Tokens     []store.Token
	Scripts    []store.Script
	History    map[string][]store.Script
	Archived   *store.Script
	Variables  []store.Variable
	Secret     *store.Variable
	Resources  []store.Resource
	State      json.RawMessage
	Schedules  []store.Schedule
	Jobs       []store.Job
	Running    []store.Job
	Depth      int
	Next       time.Time
	Logs       map[string]string
}

func take(t testing.TB, s *badgerstore.Store) snapshot {
	t.Helper()
	var sn snapshot
	var err error
	sn.Workspaces, err = s.ListWorkspaces(ctx)
	must(t, err)
	sn.Users, err = s.ListUsers(ctx, "acme")
	must(t, err)
	sn.Tokens, err = s.ListTokens(ctx, "acme")
	must(t, err)
	sn.Scripts, err = s.ListScripts(ctx, "acme", "")
	must(t, err)
	sn.History = map[string][]store.Script{}
	for _, p := range []string{"f/a", "f/b"} {
		sn.History[p], err = s.ScriptHistory(ctx, "acme", p)
		must(t, err)
	}
	sn.Archived, err = s.GetScriptByHash(ctx, "acme", "b000000000000001")
	must(t, err)
	sn.Variables, err = s.ListVariables(ctx, "acme", "")
	must(t, err)
	sn.Secret, err = s.GetVariable(ctx, "acme", "f/secret")
	must(t, err)
	sn.Resources, err = s.ListResources(ctx, "acme", "")
	must(t, err)
	sn.State, err = s.GetState(ctx, "acme", "cursor")
	must(t, err)
	sn.Schedules, err = s.ListSchedules(ctx, "", "")
	must(t, err)
	sn.Jobs, err = s.ListJobs(ctx, store.JobFilter{Limit: 1000})
	must(t, err)
	sn.Running, err = s.Running(ctx)
	must(t, err)
	sn.Depth, err = s.QueueDepth(ctx)
	must(t, err)
	sn.Next, err = s.NextScheduled(ctx)
	must(t, err)
	sn.Logs = map[string]string{}
	for _, j := range sn.Jobs {
		l, err := s.Logs(ctx, j.ID, 0)
		must(t, err)
		sn.Logs[j.ID] = string(l)
	}
	return sn
}

func TestBackupRestore(t *testing.T) {
	t.Parallel()
	src := setup(t)
	populate(t, src.s)
	want := take(t, src.s)
	if len(want.Jobs) != 6 || len(want.Running) != 1 || want.Depth != 4 || want.Secret.Value != "s3cr3t" {
		t.Fatalf("populate: %d jobs, %d running, depth %d", len(want.Jobs), len(want.Running), want.Depth)
	}
	var buf bytes.Buffer
	must(t, src.s.Backup(ctx, &buf))
	if bytes.Contains(buf.Bytes(), []byte("s3cr3t")) {
		t.Fatal("the backup holds a secret in plaintext")
	}
	key, err := os.ReadFile(src.keyFile)
	must(t, err)
	if bytes.Contains(buf.Bytes(), bytes.TrimSpace(bytes.Split(key, []byte("\n"))[1])) {
		t.Fatal("the backup holds the secret key")
	}

	// Restore into a new directory, with a copy of the key file.
	dst := &env{dir: filepath.Join(t.TempDir(), "data"), keyFile: filepath.Join(t.TempDir(), "secret.key"), logs: &syncBuffer{}}
	must(t, os.WriteFile(dst.keyFile, key, 0o600))
	dst.open(t)
	must(t, dst.s.Restore(ctx, bytes.NewReader(buf.Bytes())))
	if got := take(t, dst.s); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored store differs:\n got %+v\nwant %+v", got, want)
	}
	// And it stays so across a reopen (the queue depth is rebuilt, the
	// restored data was synced) and keeps working.
	dst.reopen(t)
	if got := take(t, dst.s); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored store differs after reopen:\n got %+v\nwant %+v", got, want)
	}
	must(t, dst.s.Enqueue(ctx, job(t, "acme"), true))
	if j, err := dst.s.Claim(ctx, "w2", t0, time.Minute); err != nil || j == nil || j.Priority != 1 {
		t.Fatalf("claim after restore: %+v, %v", j, err)
	}

	// A second restore is refused: the store is not empty.
	if err := dst.s.Restore(ctx, bytes.NewReader(buf.Bytes())); !errors.Is(err, badgerstore.ErrNotEmpty) {
		t.Fatalf("Restore into a non-empty store: %v, want ErrNotEmpty", err)
	}
}

// Without the key file, the restored secrets do not decrypt (the key is
// not in the backup), and Restore warns.
func TestRestoreWithoutKey(t *testing.T) {
	t.Parallel()
	src := setup(t)
	populate(t, src.s)
	var buf bytes.Buffer
	must(t, src.s.Backup(ctx, &buf))
	dst := setup(t) // its own, different key
	must(t, dst.s.Restore(ctx, &buf))
	if _, err := dst.s.GetVariable(ctx, "acme", "f/secret"); !errors.Is(err, badgerstore.ErrKey) {
		t.Fatalf("secret restored without its key: %v, want ErrKey", err)
	}
	if !strings.Contains(dst.logs.String(), "cannot be read") {
		t.Fatalf("no warning; logs: %s", dst.logs)
	}
	if v, err := dst.s.GetVariable(ctx, "acme", "f/plain"); err != nil || v.Value != "p" {
		t.Fatalf("plain variable: %+v, %v", v, err)
	}
}

// A backup of another format version is refused and leaves the store
// empty and usable.
func TestRestoreFormatVersion(t *testing.T) {
	t.Parallel()
	src := setup(t)
	must(t, src.s.CreateWorkspace(ctx, store.Workspace{ID: "acme"}))
	must(t, src.s.Close())
	setRaw(t, src.dir, "m/format", "7")
	db, err := badger.Open(badger.DefaultOptions(src.dir).WithLogger(nil))
	must(t, err)
	var buf bytes.Buffer
	_, err = db.Backup(&buf, 0)
	must(t, err)
	must(t, db.Close())

	dst := setup(t)
	if err := dst.s.Restore(ctx, &buf); !errors.Is(err, badgerstore.ErrFormat) {
		t.Fatalf("Restore of a format-7 backup: %v, want ErrFormat", err)
	}
	if ws, _ := dst.s.ListWorkspaces(ctx); len(ws) != 0 {
		t.Fatalf("refused restore left data: %+v", ws)
	}
	dst.reopen(t) // the format version is back
	must(t, dst.s.CreateWorkspace(ctx, store.Workspace{ID: "acme"}))
}

// Restore of garbage fails and leaves the store usable.
func TestRestoreGarbage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	if err := e.s.Restore(ctx, strings.NewReader("not a backup at all")); err == nil {
		t.Fatal("Restore of garbage succeeded")
	}
	e.reopen(t)
	must(t, e.s.CreateWorkspace(ctx, store.Workspace{ID: "acme"}))
}
