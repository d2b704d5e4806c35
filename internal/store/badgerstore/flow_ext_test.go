package badgerstore_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/store"
)

func TestFlowVersions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.s
	f1 := &store.Flow{Workspace: "acme", Path: "f/etl/daily", Summary: "one", Definition: json.RawMessage(`{"value":{"modules":[]}}`),
		Steps: map[string]string{"a": "0123456789abcdef"}, CreatedBy: "alice", CreatedAt: t0}
	must(t, s.CreateFlow(ctx, f1))
	f2 := &store.Flow{Workspace: "acme", Path: "f/etl/daily", Summary: "two", Definition: json.RawMessage(`{"value":{"modules":[{"id":"a"}]}}`), CreatedBy: "bob", CreatedAt: t0}
	must(t, s.CreateFlow(ctx, f2))
	if f1.Version != 1 || f2.Version != 2 {
		t.Fatalf("versions %d, %d; want 1, 2", f1.Version, f2.Version)
	}
	must(t, s.CreateFlow(ctx, &store.Flow{Workspace: "acme", Path: "f/etl/hourly", Definition: json.RawMessage(`{}`)}))
	must(t, s.CreateFlow(ctx, &store.Flow{Workspace: "beta", Path: "f/etl/daily", Definition: json.RawMessage(`{}`)}))

	got, err := s.GetFlow(ctx, "acme", "f/etl/daily", 0)
	must(t, err)
	if got.Version != 2 || got.Summary != "two" || got.CreatedBy != "bob" {
		t.Fatalf("latest = %+v", got)
	}
	got, err = s.GetFlow(ctx, "acme", "f/etl/daily", 1)
	must(t, err)
	if got.Summary != "one" || got.Steps["a"] != "0123456789abcdef" {
		t.Fatalf("version 1 = %+v", got)
	}
	if _, err := s.GetFlow(ctx, "acme", "f/etl/daily", 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("version 3: %v, want ErrNotFound", err)
	}
	h, err := s.FlowHistory(ctx, "acme", "f/etl/daily")
	must(t, err)
	if len(h) != 2 || h[0].Version != 2 || h[1].Version != 1 {
		t.Fatalf("history = %+v", h)
	}
	list, err := s.ListFlows(ctx, "acme", "f/etl/")
	must(t, err)
	if len(list) != 2 || list[0].Path != "f/etl/daily" || list[0].Version != 2 || list[1].Path != "f/etl/hourly" {
		t.Fatalf("list = %+v", list)
	}

	must(t, s.ArchiveFlow(ctx, "acme", "f/etl/daily", true))
	if _, err := s.GetFlow(ctx, "acme", "f/etl/daily", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("archived latest: %v, want ErrNotFound", err)
	}
	if got, err := s.GetFlow(ctx, "acme", "f/etl/daily", 2); err != nil || !got.Archived {
		t.Fatalf("archived version 2 = %+v, %v; want it, archived", got, err)
	}
	if list, _ := s.ListFlows(ctx, "acme", ""); len(list) != 1 {
		t.Fatalf("list with one archived = %+v", list)
	}
	must(t, s.ArchiveFlow(ctx, "acme", "f/etl/daily", false))

	must(t, s.DeleteFlow(ctx, "acme", "f/etl/daily"))
	if _, err := s.GetFlow(ctx, "acme", "f/etl/daily", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted: %v, want ErrNotFound", err)
	}
	if err := s.DeleteFlow(ctx, "acme", "f/etl/daily"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v, want ErrNotFound", err)
	}
	if _, err := s.GetFlow(ctx, "beta", "f/etl/daily", 0); err != nil {
		t.Fatalf("the other workspace's flow: %v", err)
	}
	// A new flow at a deleted path starts at version 1 again.
	f3 := &store.Flow{Workspace: "acme", Path: "f/etl/daily", Definition: json.RawMessage(`{}`)}
	must(t, s.CreateFlow(ctx, f3))
	if f3.Version != 1 {
		t.Fatalf("re-created version %d, want 1", f3.Version)
	}
}

func TestScriptVersionWithoutPath(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.s
	sc := store.Script{Workspace: "acme", Path: "f/etl/daily/a", Hash: "00112233445566ff", Language: "go", Kind: "script", Content: []byte("package inner")}
	must(t, s.PutScriptVersion(ctx, sc))
	must(t, s.PutScriptVersion(ctx, sc)) // again: a no-op
	got, err := s.GetScriptByHash(ctx, "acme", sc.Hash)
	must(t, err)
	if string(got.Content) != "package inner" || got.Path != "f/etl/daily/a" {
		t.Fatalf("GetScriptByHash = %+v", got)
	}
	if _, err := s.GetScript(ctx, "acme", "f/etl/daily/a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetScript of a path-less version: %v, want ErrNotFound", err)
	}
}

func TestFlowStatusAndCheckpoints(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.s
	j := store.Job{ID: "0190a0b0-0000-7000-8000-000000000001", Workspace: "acme", ScriptPath: "f/etl/daily", Kind: store.JobKindFlow, Args: json.RawMessage(`{}`)}
	must(t, s.Enqueue(ctx, j, false))
	st := &store.FlowStatus{Step: 1, Modules: []store.FlowModuleStatus{{ID: "a", Status: store.FlowSuccess}, {ID: "b", Status: store.FlowRunning}}}
	if err := s.UpdateFlowStatus(ctx, j.ID, "me", st, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("status of a queued job: %v, want ErrConflict", err)
	}
	c, err := s.Claim(ctx, "me", time.Now().Add(time.Second), time.Minute)
	must(t, err)
	if c == nil || c.ID != j.ID {
		t.Fatalf("claimed %+v", c)
	}
	if err := s.UpdateFlowStatus(ctx, j.ID, "other", st, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("status by another owner: %v, want ErrConflict", err)
	}
	must(t, s.UpdateFlowStatus(ctx, j.ID, "me", st, nil))
	got, err := s.GetJob(ctx, "acme", j.ID)
	must(t, err)
	if got.Flow == nil || got.Flow.Step != 1 || got.Flow.Modules[1].Status != store.FlowRunning || got.Kind != store.JobKindFlow {
		t.Fatalf("job after status = %+v", got)
	}
	// Only the listed modules are written.
	st2 := &store.FlowStatus{Step: 2, Modules: []store.FlowModuleStatus{{ID: "a", Status: "changed-but-not-listed"}, {ID: "b", Status: store.FlowSuccess}}}
	must(t, s.UpdateFlowStatus(ctx, j.ID, "me", st2, []int{1}))
	got, err = s.GetJob(ctx, "acme", j.ID)
	must(t, err)
	if got.Flow.Step != 2 || got.Flow.Modules[0].Status != store.FlowSuccess || got.Flow.Modules[1].Status != store.FlowSuccess {
		t.Fatalf("partial update = %+v", got.Flow)
	}

	must(t, s.PutCheckpoint(ctx, j.ID, "step:fetch#0", json.RawMessage(`{"n":1}`), true))
	must(t, s.PutCheckpoint(ctx, j.ID, "task:double#0", json.RawMessage(`"id"`), false))
	must(t, s.PutCheckpoint(ctx, "0190a0b0-0000-7000-8000-000000000002", "step:other#0", json.RawMessage(`2`), false))
	cps, err := s.Checkpoints(ctx, j.ID)
	must(t, err)
	if len(cps) != 2 || string(cps["step:fetch#0"]) != `{"n":1}` || string(cps["task:double#0"]) != `"id"` {
		t.Fatalf("checkpoints = %v", cps)
	}

	// Finish keeps the final status; a purge drops the checkpoints too.
	j2 := *got
	j2.Status, j2.Result, j2.CompletedAt = store.StatusSuccess, json.RawMessage(`1`), time.Now().Add(-time.Hour)
	j2.Flow = &store.FlowStatus{Step: 2, Modules: st.Modules}
	must(t, s.Finish(ctx, j2, true))
	got, err = s.GetJob(ctx, "acme", j.ID)
	must(t, err)
	if got.Flow.Step != 2 {
		t.Fatalf("finished flow status = %+v", got.Flow)
	}
	n, err := s.PurgeJobs(ctx, time.Now())
	must(t, err)
	if n != 1 {
		t.Fatalf("purged %d, want 1", n)
	}
	if cps, _ := s.Checkpoints(ctx, j.ID); len(cps) != 0 {
		t.Fatalf("checkpoints after purge = %v", cps)
	}
}
