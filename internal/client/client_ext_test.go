package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/client"
	"github.com/runlet/runlet/internal/client/clienttest"
)

const token = "t0ken"

// setup starts a fake server and returns it with a client for it that
// polls every millisecond, and a context that ends with the test (or after
// 20 s, so that no loop outlives a broken test).
func setup(t *testing.T, run func(string, json.RawMessage) clienttest.Outcome) (*clienttest.Server, *client.Client, context.Context) {
	t.Helper()
	srv := clienttest.New(t, clienttest.Config{Token: token, Run: run})
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("fake server at %s, want 127.0.0.1", srv.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return srv, client.New(srv.URL+"/", token, "main").WithPollInterval(time.Millisecond), ctx
}

// last returns the last request whose path ends with suffix.
func last(t *testing.T, srv *clienttest.Server, suffix string) clienttest.Request {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if strings.HasSuffix(reqs[i].Path, suffix) {
			return reqs[i]
		}
	}
	t.Fatalf("no request to ...%s among %d", suffix, len(reqs))
	return clienttest.Request{}
}

func count(srv *clienttest.Server, infix string) int {
	n := 0
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, infix) {
			n++
		}
	}
	return n
}

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("not JSON: %q", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("JSON = %s, want %s", gb, wb)
	}
}

func TestScripts(t *testing.T) {
	t.Parallel()
	srv, c, ctx := setup(t, nil)
	hash, err := c.CreateScript(ctx, client.NewScript{
		Path: "f/my folder/add", Content: "package main", Language: "go", Summary: "adds", Kind: client.KindScript,
		Timeout: 30, MaxMemory: 64 << 20, AllowedHosts: []string{"api.example.com"}, Warm: true,
		Retry: &client.Retry{Constant: &client.ConstantRetry{Attempts: 3, Seconds: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(hash) {
		t.Fatalf("hash = %q", hash)
	}
	r := last(t, srv, "/scripts/create")
	if r.Method != http.MethodPost || r.Path != "/api/w/main/scripts/create" {
		t.Fatalf("request = %s %s", r.Method, r.Path)
	}
	if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", r.Header)
	}
	jsonEqual(t, r.Body, `{"path":"f/my folder/add","content":"package main","language":"go","summary":"adds","description":"","kind":"script",
		"timeout":30,"max_memory":67108864,"allowed_hosts":["api.example.com"],"warm":true,"retry":{"constant":{"attempts":3,"seconds":1}}}`)

	srv.AddScript("g/other", "typescript", "export function main() {}")
	list, err := c.ListScripts(ctx, "f/")
	if err != nil {
		t.Fatal(err)
	}
	if r := last(t, srv, "/scripts/list"); r.Query != "path_start=f%2F" {
		t.Fatalf("query = %q", r.Query)
	}
	if len(list) != 1 || list[0].Path != "f/my folder/add" || list[0].Hash != hash || list[0].Language != "go" || list[0].Kind != "script" || list[0].CreatedBy != "admin" || list[0].CreatedAt.IsZero() {
		t.Fatalf("list = %+v", list)
	}

	s, err := c.GetScript(ctx, "f/my folder/add")
	if err != nil {
		t.Fatal(err)
	}
	if r := last(t, srv, "/add"); r.Path != "/api/w/main/scripts/get/p/f/my folder/add" {
		t.Fatalf("path = %q", r.Path)
	}
	want := client.ScriptSettings{Timeout: 30 * time.Second, MaxMemory: 64 << 20, AllowedHosts: []string{"api.example.com"}, Warm: true,
		Retry: &client.Retry{Constant: &client.ConstantRetry{Attempts: 3, Seconds: 1}}}
	got, _ := json.Marshal(s.Settings)
	wantb, _ := json.Marshal(want)
	if s.Hash != hash || s.Content != "package main" || s.Summary != "adds" || !bytes.Equal(got, wantb) {
		t.Fatalf("script = %+v\nsettings %s", s, got)
	}

	// A second version needs the first as its parent.
	_, err = c.CreateScript(ctx, client.NewScript{Path: "f/my folder/add", Content: "package main // 2", Language: "go"})
	if !errors.Is(err, client.ErrConflict) {
		t.Fatalf("push without parent: %v", err)
	}
	hash2, err := c.CreateScript(ctx, client.NewScript{Path: "f/my folder/add", Content: "package main // 2", Language: "go", ParentHash: hash})
	if err != nil || hash2 == hash {
		t.Fatalf("push with parent: %q, %v", hash2, err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	srv, c, ctx := setup(t, nil)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + closed.Addr().String()
	closed.Close()

	tests := []struct {
		name     string
		fail     func()
		call     func() error
		sentinel error
		apiErr   *client.APIError
	}{
		{name: "bad token", call: func() error {
			_, err := client.New(srv.URL, "wrong", "main").ListScripts(ctx, "")
			return err
		}, sentinel: client.ErrUnauthorized, apiErr: &client.APIError{Status: 401, Code: "unauthorized", Message: "missing or invalid token"}},
		{name: "no token", call: func() error {
			_, err := client.New(srv.URL, "", "main").ListScripts(ctx, "")
			return err
		}, sentinel: client.ErrUnauthorized},
		{name: "unknown workspace", call: func() error {
			_, err := client.New(srv.URL, token, "nope").ListScripts(ctx, "")
			return err
		}, sentinel: client.ErrNotFound, apiErr: &client.APIError{Status: 404, Code: "not_found", Message: `workspace "nope" not found`}},
		{name: "missing script", call: func() error {
			_, err := c.GetScript(ctx, "f/none")
			return err
		}, sentinel: client.ErrNotFound, apiErr: &client.APIError{Status: 404, Code: "not_found", Message: "script not found: f/none"}},
		{name: "bad request with field", fail: func() {
			srv.FailNext(400, `{"error":{"code":"invalid","message":"path: must start with u/ or f/","field":"path"}}`)
		}, call: func() error {
			_, err := c.CreateScript(ctx, client.NewScript{Path: "x", Language: "go"})
			return err
		}, sentinel: client.ErrBadRequest, apiErr: &client.APIError{Status: 400, Code: "invalid", Message: "path: must start with u/ or f/", Field: "path"}},
		{name: "forbidden", fail: func() { srv.FailNext(403, `{"error":{"code":"forbidden","message":"not yours"}}`) },
			call: func() error { _, err := c.ListVariables(ctx); return err }, sentinel: client.ErrForbidden},
		{name: "too large", fail: func() { srv.FailNext(413, `{"error":{"code":"too_large","message":"content exceeds 10 MiB"}}`) },
			call: func() error { _, err := c.CreateScript(ctx, client.NewScript{}); return err }, sentinel: client.ErrTooLarge,
			apiErr: &client.APIError{Status: 413, Code: "too_large", Message: "content exceeds 10 MiB"}},
		{name: "rate limited, not JSON", fail: func() { srv.FailNext(429, "<html>slow\n down</html>") },
			call: func() error { _, err := c.ListJobs(ctx, client.JobFilter{}); return err }, sentinel: client.ErrRateLimited,
			apiErr: &client.APIError{Status: 429, Message: "HTTP 429 Too Many Requests: <html>slow down</html>"}},
		{name: "internal error", fail: func() { srv.FailNext(500, `{"error":{"code":"internal","message":"disk full"}}`) },
			call:   func() error { _, err := c.GetJob(ctx, "x"); return err },
			apiErr: &client.APIError{Status: 500, Code: "internal", Message: "disk full"}},
		{name: "internal error on run_wait_result is not a job failure",
			fail: func() { srv.FailNext(500, `{"error":{"code":"internal","message":"disk full"}}`) },
			call: func() error {
				_, _, err := c.RunScriptWaitResult(ctx, "f/x", nil)
				return err
			},
			apiErr: &client.APIError{Status: 500, Code: "internal", Message: "disk full"}},
	}
	// FailNext applies to whichever request comes next, so these run in order.
	for _, tt := range tests {
		if tt.fail != nil {
			tt.fail()
		}
		err := tt.call()
		if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
			t.Errorf("%s: error %v is not %v", tt.name, err, tt.sentinel)
		}
		var ae *client.APIError
		if !errors.As(err, &ae) {
			t.Errorf("%s: error %T %v is not an *APIError", tt.name, err, err)
			continue
		}
		if tt.apiErr != nil && (ae.Status != tt.apiErr.Status || ae.Code != tt.apiErr.Code || ae.Message != tt.apiErr.Message || ae.Field != tt.apiErr.Field) {
			t.Errorf("%s: got %+v, want %+v", tt.name, ae, tt.apiErr)
		}
		if tt.apiErr != nil && ae.Error() != tt.apiErr.Message {
			t.Errorf("%s: Error() = %q", tt.name, ae.Error())
		}
	}

	_, err = client.New(deadURL, token, "main").ListScripts(ctx, "")
	var te *client.TransportError
	if !errors.As(err, &te) || te.URL != deadURL || !strings.Contains(err.Error(), "cannot reach the runlet server at "+deadURL) {
		t.Fatalf("closed port: %T %v", err, err)
	}
}

func TestRunWait(t *testing.T) {
	t.Parallel()
	outcomes := map[string]clienttest.Outcome{
		"f/ok":       {Result: json.RawMessage(`{"sum":3}`)},
		"f/fail":     {Error: &clienttest.JobError{Name: "ScriptError", Message: "boom", Stack: "at main (f/fail.ts:3)"}},
		"f/slow":     {Result: json.RawMessage(`"late"`), Polls: 3},
		"f/slowfail": {Error: &clienttest.JobError{Name: "Timeout", Message: "exceeded 1s"}, Polls: 2},
	}
	srv, c, ctx := setup(t, func(path string, _ json.RawMessage) clienttest.Outcome { return outcomes[path] })
	for p := range outcomes {
		srv.AddScript(p, "typescript", "export function main() {}")
	}

	res, pending, err := c.RunScriptWaitResult(ctx, "f/ok", json.RawMessage(`{"a":1}`))
	if err != nil || pending != "" || string(res) != `{"sum":3}` {
		t.Fatalf("f/ok: %s %q %v", res, pending, err)
	}
	r := last(t, srv, "/f/ok")
	if r.Method != http.MethodPost || r.Path != "/api/w/main/jobs/run_wait_result/p/f/ok" || string(r.Body) != `{"a":1}` || r.Header.Get("Authorization") != "Bearer "+token {
		t.Fatalf("request = %+v", r)
	}

	_, _, err = c.RunScriptWaitResult(ctx, "f/fail", nil)
	var je *client.JobError
	if !errors.As(err, &je) || je.Name != "ScriptError" || je.Message != "boom" || je.Stack != "at main (f/fail.ts:3)" {
		t.Fatalf("f/fail: %T %v", err, err)
	}
	if string(last(t, srv, "/f/fail").Body) != "{}" {
		t.Fatal("nil args are not sent as {}")
	}

	// Still running at the wait limit: 202 with the id, then polling.
	res, pending, err = c.RunScriptWaitResult(ctx, "f/slow", nil)
	if err != nil || res != nil || pending == "" {
		t.Fatalf("f/slow: %s %q %v", res, pending, err)
	}
	res, err = c.WaitJob(ctx, pending)
	if err != nil || string(res) != `"late"` {
		t.Fatalf("WaitJob: %s %v", res, err)
	}
	if n := count(srv, "/getupdate/"+pending); n != 3 {
		t.Fatalf("%d getupdate polls, want 3", n)
	}
	if r := last(t, srv, "/getupdate/"+pending); r.Method != http.MethodGet || !strings.HasPrefix(r.Query, "log_offset=") {
		t.Fatalf("poll = %+v", r)
	}
	if r := last(t, srv, "/get_result/"+pending); r.Path != "/api/w/main/jobs_u/completed/get_result/"+pending {
		t.Fatalf("result request = %+v", r)
	}

	// The same through RunScriptWait, ending in a failure.
	_, err = c.RunScriptWait(ctx, "f/slowfail", nil)
	if !errors.As(err, &je) || je.Name != "Timeout" || je.Message != "exceeded 1s" || je.JobID == "" {
		t.Fatalf("f/slowfail: %T %+v", err, err)
	}
	res, err = c.RunScriptWait(ctx, "f/ok", nil)
	if err != nil || string(res) != `{"sum":3}` {
		t.Fatalf("RunScriptWait f/ok: %s %v", res, err)
	}

	// A job that does not exist ends the wait with ErrNotFound.
	if _, err := c.WaitJob(ctx, "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("WaitJob(nope) = %v", err)
	}
}

func TestAsyncRunCancelAndLogs(t *testing.T) {
	t.Parallel()
	srv, c, ctx := setup(t, func(path string, _ json.RawMessage) clienttest.Outcome {
		if path == "f/forever" {
			return clienttest.Outcome{Polls: 1 << 30, Logs: []string{"started"}}
		}
		return clienttest.Outcome{Polls: 3, Logs: []string{"one", "two", "three", "four"}}
	})
	srv.AddScript("f/logs", "go", "package main")
	srv.AddScript("f/forever", "go", "package main")

	id, err := c.RunScript(ctx, "f/logs", json.RawMessage(`{"n":2}`))
	if err != nil || id == "" {
		t.Fatalf("RunScript: %q %v", id, err)
	}
	if r := last(t, srv, "/f/logs"); r.Method != http.MethodPost || r.Path != "/api/w/main/jobs/run/p/f/logs" || string(r.Body) != `{"n":2}` {
		t.Fatalf("request = %+v", r)
	}
	if _, err := c.CompletedResult(ctx, id); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("result before completion: %v", err)
	}
	var out bytes.Buffer
	if err := c.FollowLogs(ctx, id, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "one\ntwo\nthree\nfour\n" {
		t.Fatalf("followed logs = %q", out.String())
	}
	// Offsets advance: the polls asked for 0, then past each new chunk.
	var offsets []string
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "/getupdate/") {
			offsets = append(offsets, r.Query)
		}
	}
	if strings.Join(offsets, " ") != "log_offset=0 log_offset=4 log_offset=8" {
		t.Fatalf("poll offsets = %v", offsets)
	}
	logs, err := c.JobLogs(ctx, id)
	if err != nil || logs != "one\ntwo\nthree\nfour\n" {
		t.Fatalf("JobLogs = %q, %v", logs, err)
	}
	job, err := c.GetJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if job.ID != id || job.Type != "CompletedJob" || job.State() != client.StatusSuccess || !job.Done() || !job.Success || job.ScriptPath != "f/logs" ||
		job.Trigger != "api" || string(job.Args) != `{"n":2}` || job.CompletedAt.IsZero() || string(job.Result) != `{"n":2}` {
		t.Fatalf("job = %+v", job)
	}

	// Cancel a job that would run forever; waiting on it ends.
	id, err = c.RunScript(ctx, "f/forever", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CancelJob(ctx, id, "enough"); err != nil {
		t.Fatal(err)
	}
	if r := last(t, srv, "/cancel/"+id); r.Method != http.MethodPost || string(r.Body) != `{"reason":"enough"}` {
		t.Fatalf("cancel request = %+v", r)
	}
	_, err = c.WaitJob(ctx, id)
	var je *client.JobError
	if !errors.As(err, &je) || je.Name != "Canceled" || !strings.Contains(je.Message, "enough") || je.JobID != id {
		t.Fatalf("WaitJob(canceled) = %v", err)
	}
	job, err = c.GetJob(ctx, id)
	if err != nil || job.State() != client.StatusCanceled || !job.Canceled || job.CanceledReason != "enough" {
		t.Fatalf("canceled job = %+v, %v", job, err)
	}
	if err := c.CancelJob(ctx, id, ""); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("second cancel: %v", err)
	}

	// Following a running job's logs stops when the context ends.
	id, err = c.RunScript(ctx, "f/forever", nil)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	out.Reset()
	if err := c.FollowLogs(short, id, &out); !errors.Is(err, context.DeadlineExceeded) || out.String() != "started\n" {
		t.Fatalf("FollowLogs until deadline: %v, %q", err, out.String())
	}

	list, err := c.ListJobs(ctx, client.JobFilter{ScriptPath: "f/forever", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if r := last(t, srv, "/jobs/list"); r.Query != "per_page=5&script_path_exact=f%2Fforever" {
		t.Fatalf("list query = %q", r.Query)
	}
	if len(list) != 2 || list[0].ID != id || list[0].State() != client.StatusRunning || list[1].State() != client.StatusCanceled {
		t.Fatalf("list = %+v", list)
	}
}

func TestJobListFields(t *testing.T) {
	t.Parallel()
	srv, c, ctx := setup(t, nil)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	d := int64(1500)
	srv.AddJob(clienttest.Job{ID: "j1", ScriptPath: "f/report", Trigger: "schedule", SchedulePath: "f/nightly", Args: json.RawMessage(`{"day":"mon"}`),
		CreatedAt: at, CompletedAt: &at, DurationMS: &d, Success: true, Attempt: 2, ParentJob: "j0", CreatedBy: "scheduler"})
	list, err := c.ListJobs(ctx, client.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if r := last(t, srv, "/jobs/list"); r.Query != "" {
		t.Fatalf("query = %q", r.Query)
	}
	j := list[0]
	if len(list) != 1 || j.ID != "j1" || j.Trigger != "schedule" || j.SchedulePath != "f/nightly" || string(j.Args) != `{"day":"mon"}` ||
		!j.CreatedAt.Equal(at) || j.DurationMS != 1500 || j.Attempt != 2 || j.ParentJob != "j0" || j.CreatedBy != "scheduler" || j.State() != "success" {
		t.Fatalf("job = %+v", j)
	}
}

func TestJobState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		job  client.Job
		want string
	}{
		{"status wins", client.Job{Status: "running", Type: "CompletedJob"}, "running"},
		{"queued", client.Job{Type: "QueuedJob"}, "queued"},
		{"running", client.Job{Type: "QueuedJob", Running: true}, "running"},
		{"success", client.Job{Type: "CompletedJob", Success: true}, "success"},
		{"failure", client.Job{Type: "CompletedJob"}, "failure"},
		{"canceled", client.Job{Type: "CompletedJob", Canceled: true}, "canceled"},
	}
	for _, tt := range tests {
		if got := tt.job.State(); got != tt.want {
			t.Errorf("%s: State() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestVariablesAndResources(t *testing.T) {
	t.Parallel()
	srv, c, ctx := setup(t, nil)
	if err := c.CreateVariable(ctx, client.Variable{Path: "u/admin/key", Value: "s3cret", IsSecret: true, Description: "API key"}); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, last(t, srv, "/variables/create").Body, `{"path":"u/admin/key","value":"s3cret","is_secret":true,"description":"API key"}`)
	if err := c.CreateVariable(ctx, client.Variable{Path: "u/admin/key"}); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("second create: %v", err)
	}
	v2 := "n3w"
	if err := c.UpdateVariable(ctx, "u/admin/key", client.VariableUpdate{Value: &v2}); err != nil {
		t.Fatal(err)
	}
	r := last(t, srv, "/variables/update/u/admin/key")
	if r.Method != http.MethodPost || string(r.Body) != `{"value":"n3w"}` {
		t.Fatalf("update = %+v", r)
	}
	v, err := c.GetVariable(ctx, "u/admin/key")
	if err != nil || *v != (client.Variable{Path: "u/admin/key", Value: "n3w", IsSecret: true, Description: "API key"}) {
		t.Fatalf("GetVariable = %+v, %v", v, err)
	}
	if err := c.UpdateVariable(ctx, "u/none", client.VariableUpdate{Value: &v2}); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	if err := c.CreateVariable(ctx, client.Variable{Path: "f/x/plain", Value: "visible"}); err != nil {
		t.Fatal(err)
	}
	vars, err := c.ListVariables(ctx)
	if err != nil || len(vars) != 2 || vars[0].Path != "f/x/plain" || vars[0].Value != "visible" || vars[1].Value != "" || !vars[1].IsSecret {
		t.Fatalf("ListVariables = %+v, %v", vars, err)
	}

	res := client.Resource{Path: "f/db/main", ResourceType: "postgresql", Value: json.RawMessage(`{"host":"db","port":5432}`), Description: "main db"}
	if err := c.SetResource(ctx, res); err != nil {
		t.Fatal(err)
	}
	r = last(t, srv, "/resources/create")
	if r.Query != "update_if_exists=true" {
		t.Fatalf("query = %q", r.Query)
	}
	jsonEqual(t, r.Body, `{"path":"f/db/main","resource_type":"postgresql","value":{"host":"db","port":5432},"description":"main db"}`)
	res.Value = json.RawMessage(`{"host":"db2"}`)
	if err := c.SetResource(ctx, res); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetResource(ctx, "f/db/main")
	if err != nil || got.ResourceType != "postgresql" || string(got.Value) != `{"host":"db2"}` || got.Description != "main db" {
		t.Fatalf("GetResource = %+v, %v", got, err)
	}
	list, err := c.ListResources(ctx)
	if err != nil || len(list) != 1 || list[0].Path != "f/db/main" {
		t.Fatalf("ListResources = %+v, %v", list, err)
	}
	if _, err := c.GetResource(ctx, "f/none"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("GetResource(missing) = %v", err)
	}
}
