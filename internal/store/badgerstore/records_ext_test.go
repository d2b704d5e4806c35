package badgerstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/internal/store/badgerstore"
)

func TestWorkspaces(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.s
	w := store.Workspace{ID: "acme", Name: "Acme", CreatedAt: t0}
	must(t, s.CreateWorkspace(ctx, w))
	if err := s.CreateWorkspace(ctx, w); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate CreateWorkspace: %v, want ErrConflict", err)
	}
	must(t, s.CreateWorkspace(ctx, store.Workspace{ID: "admins", Name: "Admins", CreatedAt: t0}))
	got, err := s.GetWorkspace(ctx, "acme")
	must(t, err)
	if !reflect.DeepEqual(*got, w) {
		t.Fatalf("GetWorkspace = %+v, want %+v", *got, w)
	}
	if _, err := s.GetWorkspace(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetWorkspace(nope): %v, want ErrNotFound", err)
	}
	all, err := s.ListWorkspaces(ctx)
	must(t, err)
	if len(all) != 2 || all[0].ID != "acme" || all[1].ID != "admins" {
		t.Fatalf("ListWorkspaces = %+v", all)
	}
	for _, bad := range []string{"", "a\x00b"} {
		if err := s.CreateWorkspace(ctx, store.Workspace{ID: bad}); !errors.Is(err, badgerstore.ErrInvalid) {
			t.Errorf("CreateWorkspace(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	u := store.User{Workspace: "acme", Name: "bob", Role: store.RoleDeveloper, CreatedAt: t0}
	must(t, s.PutUser(ctx, u))
	must(t, s.PutUser(ctx, store.User{Workspace: "acme", Name: "alice", Role: store.RoleAdmin, CreatedAt: t0}))
	must(t, s.PutUser(ctx, store.User{Workspace: "acme2", Name: "carol", Role: store.RoleAdmin, CreatedAt: t0}))
	u.Role = store.RoleOperator
	must(t, s.PutUser(ctx, u)) // replace
	got, err := s.GetUser(ctx, "acme", "bob")
	must(t, err)
	if !reflect.DeepEqual(*got, u) {
		t.Fatalf("GetUser = %+v, want %+v", *got, u)
	}
	list, err := s.ListUsers(ctx, "acme")
	must(t, err)
	if len(list) != 2 || list[0].Name != "alice" || list[1].Name != "bob" {
		t.Fatalf("ListUsers = %+v (workspace acme2 must not leak in)", list)
	}
	must(t, s.DeleteUser(ctx, "acme", "bob"))
	if _, err := s.GetUser(ctx, "acme", "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetUser after delete: %v", err)
	}
	if err := s.DeleteUser(ctx, "acme", "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteUser twice: %v", err)
	}
	if err := s.PutUser(ctx, store.User{Workspace: "acme"}); !errors.Is(err, badgerstore.ErrInvalid) {
		t.Fatalf("PutUser without name: %v", err)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	tok := func(hash, ws, prefix string) store.Token {
		return store.Token{Hash: hash, Prefix: prefix, Workspace: ws, Owner: "alice", Role: store.RoleAdmin,
			Scopes: []string{"jobs:run"}, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
	}
	must(t, s.PutToken(ctx, tok("h1", "acme", "rl_abc1")))
	must(t, s.PutToken(ctx, tok("h2", "acme", "rl_abc2")))
	must(t, s.PutToken(ctx, tok("h3", "acme", "rl_xyz1")))
	must(t, s.PutToken(ctx, tok("h4", "other", "rl_abc9")))
	got, err := s.GetToken(ctx, "h2")
	must(t, err)
	if want := tok("h2", "acme", "rl_abc2"); !reflect.DeepEqual(*got, want) {
		t.Fatalf("GetToken = %+v, want %+v", *got, want)
	}
	if _, err := s.GetToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetToken(nope): %v", err)
	}
	list, err := s.ListTokens(ctx, "acme")
	must(t, err)
	if len(list) != 3 || list[0].Prefix != "rl_abc1" || list[2].Prefix != "rl_xyz1" {
		t.Fatalf("ListTokens = %+v", list)
	}

	// Replacing a token with another prefix moves its index entry.
	must(t, s.PutToken(ctx, tok("h3", "acme", "rl_abc3")))
	n, err := s.DeleteTokens(ctx, "acme", "rl_abc")
	must(t, err)
	if n != 3 {
		t.Fatalf("DeleteTokens(rl_abc) = %d, want 3", n)
	}
	if _, err := s.DeleteTokens(ctx, "acme", "rl_xyz"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteTokens of a moved prefix: %v, want ErrNotFound", err)
	}
	if list, _ := s.ListTokens(ctx, "acme"); len(list) != 0 {
		t.Fatalf("tokens left: %+v", list)
	}
	for _, h := range []string{"h1", "h2", "h3"} {
		if _, err := s.GetToken(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetToken(%s) after delete: %v", h, err)
		}
	}
	if _, err := s.GetToken(ctx, "h4"); err != nil {
		t.Fatalf("other workspace's token was deleted: %v", err)
	}
	if _, err := s.DeleteTokens(ctx, "acme", "rl_"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteTokens with no match: %v, want ErrNotFound", err)
	}
}

func script(ws, path, hash, parent string) store.Script {
	return store.Script{
		Workspace: ws, Path: path, Hash: hash, ParentHash: parent,
		Language: "go", Kind: "script", Content: []byte("package main // " + hash),
		Summary: "s " + hash, Schema: json.RawMessage(`{"type":"object"}`),
		Settings:  store.ScriptSettings{Timeout: time.Minute, AllowedHosts: []string{"example.com"}, Env: map[string]string{"A": "1"}},
		CreatedBy: "alice", CreatedAt: t0,
	}
}

func hashes(list []store.Script) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Hash)
	}
	return out
}

func TestScriptVersions(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	const ws, p = "acme", "f/demo/hello"

	v1 := script(ws, p, "aaaa000000000001", "")
	must(t, s.CreateScript(ctx, v1))
	v1.Content[0] = 'X' // the store keeps its own copy
	got, err := s.GetScript(ctx, ws, p)
	must(t, err)
	v1.Content[0] = 'p'
	if !reflect.DeepEqual(*got, v1) {
		t.Fatalf("GetScript = %+v\nwant %+v", *got, v1)
	}

	must(t, s.CreateScript(ctx, script(ws, p, "aaaa000000000002", v1.Hash)))
	// A stale parent is a conflict.
	if err := s.CreateScript(ctx, script(ws, p, "aaaa000000000003", v1.Hash)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale parent: %v, want ErrConflict", err)
	}
	// No parent replaces the latest.
	must(t, s.CreateScript(ctx, script(ws, p, "aaaa000000000003", "")))
	// The same hash again (at any path) is a conflict.
	if err := s.CreateScript(ctx, script(ws, "f/demo/other", "aaaa000000000003", "")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate hash: %v, want ErrConflict", err)
	}
	// A parent on a path without versions is a conflict.
	if err := s.CreateScript(ctx, script(ws, "f/demo/new", "bbbb000000000001", "aaaa000000000003")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("parent on a new path: %v, want ErrConflict", err)
	}
	if err := s.CreateScript(ctx, script(ws, "", "cccc000000000001", "")); !errors.Is(err, badgerstore.ErrInvalid) {
		t.Fatalf("empty path: %v, want ErrInvalid", err)
	}

	got, err = s.GetScript(ctx, ws, p)
	must(t, err)
	if got.Hash != "aaaa000000000003" {
		t.Fatalf("latest = %s", got.Hash)
	}
	hist, err := s.ScriptHistory(ctx, ws, p)
	must(t, err)
	if want := []string{"aaaa000000000003", "aaaa000000000002", "aaaa000000000001"}; !reflect.DeepEqual(hashes(hist), want) {
		t.Fatalf("history = %v, want %v", hashes(hist), want)
	}
	old, err := s.GetScriptByHash(ctx, ws, "aaaa000000000001")
	must(t, err)
	if !reflect.DeepEqual(*old, v1) {
		t.Fatalf("GetScriptByHash(v1) = %+v", *old)
	}
	if _, err := s.GetScriptByHash(ctx, "other", "aaaa000000000001"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("hash in another workspace: %v", err)
	}
	if _, err := s.GetScript(ctx, ws, "f/demo/none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetScript(none): %v", err)
	}
	if _, err := s.ScriptHistory(ctx, ws, "f/demo/none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ScriptHistory(none): %v", err)
	}
}

func TestScriptListArchiveDelete(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	const ws = "acme"
	must(t, s.CreateScript(ctx, script(ws, "f/a/one", "1000000000000001", "")))
	must(t, s.CreateScript(ctx, script(ws, "f/a/one", "1000000000000002", "1000000000000001")))
	must(t, s.CreateScript(ctx, script(ws, "f/a/two", "2000000000000001", "")))
	must(t, s.CreateScript(ctx, script(ws, "f/b/three", "3000000000000001", "")))
	must(t, s.CreateScript(ctx, script("other", "f/a/zzz", "9000000000000001", "")))

	list, err := s.ListScripts(ctx, ws, "")
	must(t, err)
	// Sorted by path: f/a/one, f/a/two, f/b/three; the other workspace's script is not there.
	if want := []string{"1000000000000002", "2000000000000001", "3000000000000001"}; !reflect.DeepEqual(hashes(list), want) {
		t.Fatalf("ListScripts = %v, want %v", hashes(list), want)
	}
	list, err = s.ListScripts(ctx, ws, "f/a/")
	must(t, err)
	if want := []string{"1000000000000002", "2000000000000001"}; !reflect.DeepEqual(hashes(list), want) {
		t.Fatalf("ListScripts(f/a/) = %v, want %v", hashes(list), want)
	}

	must(t, s.ArchiveScript(ctx, ws, "f/a/one", true))
	if _, err := s.GetScript(ctx, ws, "f/a/one"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetScript(archived): %v, want ErrNotFound", err)
	}
	list, _ = s.ListScripts(ctx, ws, "f/a/")
	if want := []string{"2000000000000001"}; !reflect.DeepEqual(hashes(list), want) {
		t.Fatalf("ListScripts after archive = %v", hashes(list))
	}
	byHash, err := s.GetScriptByHash(ctx, ws, "1000000000000001")
	must(t, err)
	if !byHash.Archived {
		t.Fatalf("GetScriptByHash of an archived path: Archived = false")
	}
	if hist, err := s.ScriptHistory(ctx, ws, "f/a/one"); err != nil || len(hist) != 2 || !hist[0].Archived {
		t.Fatalf("history of an archived path: %v, %v", hashes(hist), err)
	}
	must(t, s.ArchiveScript(ctx, ws, "f/a/one", false))
	if got, err := s.GetScript(ctx, ws, "f/a/one"); err != nil || got.Archived || got.Hash != "1000000000000002" {
		t.Fatalf("GetScript after unarchive: %+v, %v", got, err)
	}
	// A new version of an archived path is visible again.
	must(t, s.ArchiveScript(ctx, ws, "f/a/two", true))
	must(t, s.CreateScript(ctx, script(ws, "f/a/two", "2000000000000002", "2000000000000001")))
	if got, err := s.GetScript(ctx, ws, "f/a/two"); err != nil || got.Archived {
		t.Fatalf("new version of an archived path: %+v, %v", got, err)
	}
	if err := s.ArchiveScript(ctx, ws, "f/none", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ArchiveScript(none): %v", err)
	}

	must(t, s.DeleteScript(ctx, ws, "f/a/one"))
	for _, h := range []string{"1000000000000001", "1000000000000002"} {
		if _, err := s.GetScriptByHash(ctx, ws, h); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("version %s after DeleteScript: %v", h, err)
		}
	}
	if _, err := s.ScriptHistory(ctx, ws, "f/a/one"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("history after delete: %v", err)
	}
	if err := s.DeleteScript(ctx, ws, "f/a/one"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteScript twice: %v", err)
	}
	// The path starts afresh, and a deleted hash may come back.
	must(t, s.CreateScript(ctx, script(ws, "f/a/one", "1000000000000001", "")))
	if hist, _ := s.ScriptHistory(ctx, ws, "f/a/one"); len(hist) != 1 {
		t.Fatalf("history after re-create: %v", hashes(hist))
	}
	if _, err := s.GetScript(ctx, "other", "f/a/zzz"); err != nil {
		t.Fatalf("other workspace: %v", err)
	}
}

// Concurrent updates with the same parent: exactly one wins.
func TestScriptParentRace(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	must(t, s.CreateScript(ctx, script("acme", "f/x", "0000000000000000", "")))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.CreateScript(ctx, script("acme", "f/x", fmt.Sprintf("%016x", i+1), "0000000000000000"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != 7 {
		t.Fatalf("wins=%d conflicts=%d, want 1 and 7", wins, conflicts)
	}
	if hist, _ := s.ScriptHistory(ctx, "acme", "f/x"); len(hist) != 2 {
		t.Fatalf("history has %d versions, want 2", len(hist))
	}
}

func TestVariables(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	plain := store.Variable{Workspace: "acme", Path: "f/cfg/url", Value: "https://example.com", Description: "d", UpdatedAt: t0}
	secret := store.Variable{Workspace: "acme", Path: "f/cfg/token", Value: "hunter2", Secret: true, UpdatedAt: t0}
	must(t, s.PutVariable(ctx, plain))
	must(t, s.PutVariable(ctx, secret))
	must(t, s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: "u/bob/x", Value: "1", UpdatedAt: t0}))
	for _, want := range []store.Variable{plain, secret} {
		got, err := s.GetVariable(ctx, "acme", want.Path)
		must(t, err)
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("GetVariable = %+v, want %+v", *got, want)
		}
	}
	list, err := s.ListVariables(ctx, "acme", "f/")
	must(t, err)
	if len(list) != 2 || list[0].Path != "f/cfg/token" || list[1].Path != "f/cfg/url" {
		t.Fatalf("ListVariables = %+v", list)
	}
	if list[0].Value != "" || !list[0].Secret {
		t.Fatalf("a listed secret shows its value: %+v", list[0])
	}
	if list[1].Value != plain.Value {
		t.Fatalf("a listed plain variable lost its value: %+v", list[1])
	}
	// Secret → plain and back.
	secret.Value, secret.Secret = "now public", false
	must(t, s.PutVariable(ctx, secret))
	if got, _ := s.GetVariable(ctx, "acme", secret.Path); got.Value != "now public" || got.Secret {
		t.Fatalf("after un-secreting: %+v", got)
	}
	must(t, s.DeleteVariable(ctx, "acme", plain.Path))
	if _, err := s.GetVariable(ctx, "acme", plain.Path); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetVariable after delete: %v", err)
	}
	if err := s.DeleteVariable(ctx, "acme", plain.Path); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteVariable twice: %v", err)
	}
}

func TestResources(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	r := store.Resource{Workspace: "acme", Path: "f/db/main", Type: "postgresql", Value: json.RawMessage(`{"host":"db","port":5432}`), UpdatedAt: t0}
	must(t, s.PutResource(ctx, r))
	must(t, s.PutResource(ctx, store.Resource{Workspace: "acme", Path: "f/api/x", Type: "http", Value: json.RawMessage(`{}`), UpdatedAt: t0}))
	got, err := s.GetResource(ctx, "acme", r.Path)
	must(t, err)
	if !reflect.DeepEqual(*got, r) {
		t.Fatalf("GetResource = %+v, want %+v", *got, r)
	}
	list, err := s.ListResources(ctx, "acme", "f/db")
	must(t, err)
	if len(list) != 1 || list[0].Path != r.Path {
		t.Fatalf("ListResources = %+v", list)
	}
	must(t, s.DeleteResource(ctx, "acme", r.Path))
	if _, err := s.GetResource(ctx, "acme", r.Path); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.DeleteResource(ctx, "acme", r.Path); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestState(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	if _, err := s.GetState(ctx, "acme", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("first GetState: %v, want ErrNotFound", err)
	}
	ok, err := s.CompareAndSetState(ctx, "acme", "k", nil, json.RawMessage(`{"n": 1}`))
	if err != nil || !ok {
		t.Fatalf("CAS(absent→1) = %v, %v", ok, err)
	}
	if ok, _ := s.CompareAndSetState(ctx, "acme", "k", nil, json.RawMessage(`2`)); ok {
		t.Fatal("CAS(absent→2) succeeded on a present key")
	}
	if ok, _ := s.CompareAndSetState(ctx, "acme", "k", json.RawMessage(`{"n":2}`), json.RawMessage(`2`)); ok {
		t.Fatal("CAS with a wrong old value succeeded")
	}
	// Whitespace does not matter.
	if ok, err := s.CompareAndSetState(ctx, "acme", "k", json.RawMessage("{ \"n\" :1 }\n"), json.RawMessage(`[1, 2]`)); err != nil || !ok {
		t.Fatalf("CAS(1→[1,2]) = %v, %v", ok, err)
	}
	got, err := s.GetState(ctx, "acme", "k")
	must(t, err)
	if string(got) != `[1,2]` {
		t.Fatalf("GetState = %s", got)
	}
	must(t, s.SetState(ctx, "acme", "k", json.RawMessage(`"x"`)))
	if got, _ := s.GetState(ctx, "acme", "k"); string(got) != `"x"` {
		t.Fatalf("after SetState: %s", got)
	}
	if _, err := s.GetState(ctx, "other", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("state leaks across workspaces: %v", err)
	}
	if err := s.SetState(ctx, "acme", "k", json.RawMessage(`{bad`)); !errors.Is(err, badgerstore.ErrInvalid) {
		t.Fatalf("SetState(invalid JSON): %v", err)
	}
}

// Concurrent read-modify-write counters through CompareAndSetState lose
// no increment.
func TestStateCASConcurrent(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	must(t, s.SetState(ctx, "acme", "n", json.RawMessage(`0`)))
	const workers, each = 8, 15
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				cur, err := s.GetState(ctx, "acme", "n")
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				_ = json.Unmarshal(cur, &n)
				ok, err := s.CompareAndSetState(ctx, "acme", "n", cur, json.RawMessage(fmt.Sprint(n+1)))
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					i++
				}
			}
		}()
	}
	wg.Wait()
	got, _ := s.GetState(ctx, "acme", "n")
	if string(got) != fmt.Sprint(workers*each) {
		t.Fatalf("counter = %s, want %d", got, workers*each)
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	s := setup(t).s
	c, cancel := context.WithCancel(ctx)
	cancel()
	calls := map[string]error{
		"CreateWorkspace": s.CreateWorkspace(c, store.Workspace{ID: "x"}),
		"PutVariable":     s.PutVariable(c, store.Variable{Workspace: "x", Path: "p"}),
		"Enqueue":         s.Enqueue(c, job(t, "x"), true),
	}
	_, calls["ListJobs"] = s.ListJobs(c, store.JobFilter{})
	_, calls["Claim"] = s.Claim(c, "w", t0, time.Minute)
	_, calls["GetScript"] = s.GetScript(c, "x", "p")
	calls["Backup"] = s.Backup(c, &syncBuffer{})
	for name, err := range calls {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v", name, err)
		}
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	e := setup(t)
	must(t, e.s.Close())
	must(t, e.s.Close()) // idempotent
	if _, err := e.s.GetWorkspace(ctx, "x"); !errors.Is(err, badgerstore.ErrClosed) {
		t.Fatalf("GetWorkspace after Close: %v", err)
	}
	if err := e.s.Enqueue(ctx, job(t, "x"), true); !errors.Is(err, badgerstore.ErrClosed) {
		t.Fatalf("Enqueue after Close: %v", err)
	}
}

// Values near and above Badger's limits (value threshold 1 MiB,
// transaction 15% of a memtable) are stored, read back and survive a
// backup and restore.
func TestLargeValues(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.s
	big := func(n int, c byte) []byte { return bytes.Repeat([]byte{c}, n) }
	for i, n := range []int{700 << 10, 3 << 20} {
		sc := script("acme", fmt.Sprintf("f/big%d", i), fmt.Sprintf("%016x", n), "")
		sc.Content = big(n, 'c')
		must(t, s.CreateScript(ctx, sc))
	}
	j := job(t, "acme")
	j.Args = json.RawMessage(`"` + string(big(2<<20, 'a')) + `"`)
	must(t, s.Enqueue(ctx, j, true))
	c, err := s.Claim(ctx, "w", t0, time.Minute)
	must(t, err)
	logs := big(5<<20, 'l')
	must(t, s.AppendLogs(ctx, j.ID, logs))
	c.Status, c.Result = store.StatusSuccess, json.RawMessage(`"`+string(big(2<<20, 'r'))+`"`)
	must(t, s.Finish(ctx, *c, true))
	for i := range 3 {
		must(t, s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: fmt.Sprint("f/v", i), Value: string(big(400<<10, 's')), Secret: true}))
	}
	must(t, s.RotateKey(ctx))

	check := func(s *badgerstore.Store) {
		t.Helper()
		for i, n := range []int{700 << 10, 3 << 20} {
			sc, err := s.GetScript(ctx, "acme", fmt.Sprintf("f/big%d", i))
			must(t, err)
			if len(sc.Content) != n {
				t.Fatalf("script %d: %d bytes, want %d", i, len(sc.Content), n)
			}
		}
		got, err := s.GetJob(ctx, "acme", j.ID)
		must(t, err)
		if len(got.Args) != 2<<20+2 || len(got.Result) != 2<<20+2 {
			t.Fatalf("job args %d, result %d bytes", len(got.Args), len(got.Result))
		}
		l, err := s.Logs(ctx, j.ID, 0)
		must(t, err)
		if !bytes.Equal(l, logs) {
			t.Fatalf("logs: %d bytes, want %d", len(l), len(logs))
		}
		v, err := s.GetVariable(ctx, "acme", "f/v2")
		must(t, err)
		if len(v.Value) != 400<<10 {
			t.Fatalf("secret: %d bytes", len(v.Value))
		}
	}
	check(s)
	var buf bytes.Buffer
	must(t, s.Backup(ctx, &buf))
	dst := setup(t)
	must(t, dst.s.Close())
	must(t, os.Remove(dst.keyFile))
	key, err := os.ReadFile(e.keyFile)
	must(t, err)
	must(t, os.WriteFile(dst.keyFile, key, 0o600))
	dst.open(t)
	must(t, dst.s.Restore(ctx, &buf))
	check(dst.s)
}
