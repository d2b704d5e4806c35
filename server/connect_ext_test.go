package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	runletv1 "github.com/runlet/runlet/gen/runlet/v1"
	"github.com/runlet/runlet/gen/runlet/v1/runletv1connect"
	"github.com/runlet/runlet/server"
)

// bearer adds "Authorization: Bearer <token>" to every call a client makes.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b != "" {
			req.Header().Set("Authorization", "Bearer "+string(b))
		}
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if b != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		}
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// h2c is an HTTP client speaking cleartext HTTP/2 only (prior knowledge),
// as gRPC clients do.
func h2c() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

// clients are the Connect API's clients for one server, token and protocol.
type clients struct {
	ws     runletv1connect.WorkspaceServiceClient
	script runletv1connect.ScriptServiceClient
	job    runletv1connect.JobServiceClient
	vars   runletv1connect.VariableServiceClient
	res    runletv1connect.ResourceServiceClient
	token  runletv1connect.TokenServiceClient
	user   runletv1connect.UserServiceClient
}

// connectClients returns clients over Connect (HTTP/1.1) with token; extra
// options pick another protocol (pass h2c() as hc for gRPC).
func (s *testServer) connectClients(token string, hc *http.Client, opts ...connect.ClientOption) clients {
	if hc == nil {
		hc = http.DefaultClient
	}
	opts = append([]connect.ClientOption{connect.WithInterceptors(bearer(token))}, opts...)
	return clients{
		ws:     runletv1connect.NewWorkspaceServiceClient(hc, s.URL, opts...),
		script: runletv1connect.NewScriptServiceClient(hc, s.URL, opts...),
		job:    runletv1connect.NewJobServiceClient(hc, s.URL, opts...),
		vars:   runletv1connect.NewVariableServiceClient(hc, s.URL, opts...),
		res:    runletv1connect.NewResourceServiceClient(hc, s.URL, opts...),
		token:  runletv1connect.NewTokenServiceClient(hc, s.URL, opts...),
		user:   runletv1connect.NewUserServiceClient(hc, s.URL, opts...),
	}
}

// wantCode fails unless err is a Connect error with code; it returns the
// field violations it carries.
func wantCode(t *testing.T, what string, err error, code connect.Code) []string {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != code {
		t.Fatalf("%s: got %v, want code %v", what, err, code)
	}
	var fields []string
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			t.Fatalf("%s: detail %s: %v", what, d.Type(), err)
		}
		if br, ok := v.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				fields = append(fields, fv.GetField())
			}
		}
	}
	return fields
}

func args(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConnectScriptsAndJobs(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	c := s.connectClients(s.Token, nil)
	ctx := context.Background()

	// Schema inference stores nothing.
	inf, err := c.script.InferSchema(ctx, connect.NewRequest(&runletv1.InferSchemaRequest{Language: "typescript", Content: greetTS}))
	if err != nil {
		t.Fatal(err)
	}
	props := inf.Msg.GetSchema().GetFields()["properties"].GetStructValue().GetFields()
	if props["name"].GetStructValue().GetFields()["type"].GetStringValue() != "string" || props["times"] == nil {
		t.Fatalf("inferred schema: %v", inf.Msg.GetSchema())
	}
	if _, err := c.script.GetScript(ctx, connect.NewRequest(&runletv1.GetScriptRequest{Path: "f/ops/greet"})); err == nil {
		t.Fatal("InferSchema stored a script")
	}

	cr, err := c.script.CreateScript(ctx, connect.NewRequest(&runletv1.CreateScriptRequest{
		Path: "f/ops/greet", Language: "typescript", Content: greetTS, Summary: "greets", Timeout: 30,
	}))
	if err != nil {
		t.Fatal(err)
	}
	h1 := cr.Msg.GetScript().GetHash()
	// The same version through REST has the same hash: one service layer.
	if h := s.push(t, "f/ops/greet", "typescript", greetTS, map[string]any{"summary": "greets", "timeout": 30}); h != h1 {
		t.Fatalf("REST push of the same version: %s, Connect: %s", h, h1)
	}
	cr, err = c.script.CreateScript(ctx, connect.NewRequest(&runletv1.CreateScriptRequest{
		Workspace: "main", Path: "f/ops/greet", ParentHash: h1, Language: "typescript", Content: strings.Replace(greetTS, "hello", "hi", 1),
	}))
	if err != nil {
		t.Fatal(err)
	}
	h2 := cr.Msg.GetScript().GetHash()
	// A stale parent hash is a concurrent change: Aborted.
	_, err = c.script.CreateScript(ctx, connect.NewRequest(&runletv1.CreateScriptRequest{
		Path: "f/ops/greet", ParentHash: h1, Language: "typescript", Content: "export function main() { return 3 }",
	}))
	wantCode(t, "stale parent", err, connect.CodeAborted)

	got, err := c.script.GetScript(ctx, connect.NewRequest(&runletv1.GetScriptRequest{Hash: h1}))
	if err != nil {
		t.Fatal(err)
	}
	if sc := got.Msg.GetScript(); sc.GetContent() != greetTS || sc.GetSummary() != "greets" || sc.GetSettings().GetTimeout() != 30 || sc.GetSchema() == nil {
		t.Fatalf("get by hash: %v", sc)
	}
	got, err = c.script.GetScript(ctx, connect.NewRequest(&runletv1.GetScriptRequest{Path: "f/ops/greet"}))
	if err != nil || got.Msg.GetScript().GetHash() != h2 {
		t.Fatalf("get by path: %v %v", got, err)
	}
	hist, err := c.script.ScriptHistory(ctx, connect.NewRequest(&runletv1.ScriptHistoryRequest{Path: "f/ops/greet"}))
	if err != nil || len(hist.Msg.GetScripts()) != 2 || hist.Msg.GetScripts()[1].GetHash() != h1 {
		t.Fatalf("history: %v %v", hist, err)
	}

	// Run and wait: the result as a JSON value.
	rw, err := c.job.RunScriptAndWait(ctx, connect.NewRequest(&runletv1.RunScriptAndWaitRequest{
		Path: "f/ops/greet", Args: args(t, map[string]any{"name": "ops", "times": 2}),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if j := rw.Msg.GetJob(); !rw.Msg.GetCompleted() || j.GetStatus() != runletv1.JobStatus_JOB_STATUS_SUCCESS ||
		j.GetResult().GetStructValue().GetFields()["greeting"].GetStringValue() != "hi ops! hi ops!" || j.GetTrigger() != "api" {
		t.Fatalf("run and wait: %v", rw.Msg)
	}
	// A job that fails is a successful call carrying the job's error.
	rw, err = c.job.RunScriptAndWait(ctx, connect.NewRequest(&runletv1.RunScriptAndWaitRequest{Hash: h1, Args: args(t, map[string]any{"name": "x", "times": -1})}))
	if err != nil {
		t.Fatal(err)
	}
	if j := rw.Msg.GetJob(); j.GetStatus() != runletv1.JobStatus_JOB_STATUS_FAILURE || j.GetError().GetName() == "" || j.GetResult() != nil {
		t.Fatalf("failed job: %v", rw.Msg)
	}

	// Async run by hash with a client-chosen id, then get and list.
	const id = "0190a5c4-6a3c-7cc1-8a4e-5b0e6f6c9a01"
	run, err := c.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{Hash: h1, JobId: id, Args: args(t, map[string]any{"name": "async"})}))
	if err != nil || run.Msg.GetJob().GetId() != id || run.Msg.GetJob().GetScriptHash() != h1 {
		t.Fatalf("run: %v %v", run, err)
	}
	_, err = c.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{Hash: h1, JobId: id, Args: args(t, map[string]any{"name": "again"})}))
	wantCode(t, "duplicate job id", err, connect.CodeAlreadyExists)
	s.waitJob(t, id)
	gj, err := c.job.GetJob(ctx, connect.NewRequest(&runletv1.GetJobRequest{Id: id}))
	if err != nil || gj.Msg.GetJob().GetResult().GetStructValue().GetFields()["greeting"].GetStringValue() != "hello async!" ||
		gj.Msg.GetJob().GetCompletedAt() == nil {
		t.Fatalf("get job: %v %v", gj, err)
	}
	ok := true
	lj, err := c.job.ListJobs(ctx, connect.NewRequest(&runletv1.ListJobsRequest{ScriptPathExact: "f/ops/greet", Success: &ok}))
	if err != nil || len(lj.Msg.GetJobs()) != 2 || !slices.ContainsFunc(lj.Msg.GetJobs(), func(j *runletv1.Job) bool { return j.GetId() == id }) {
		t.Fatalf("list successful jobs: %v %v", lj, err)
	}
	failed := false
	lj, err = c.job.ListJobs(ctx, connect.NewRequest(&runletv1.ListJobsRequest{ScriptPathStart: "f/ops/", Success: &failed, PerPage: 10}))
	if err != nil || len(lj.Msg.GetJobs()) != 1 || lj.Msg.GetJobs()[0].GetStatus() != runletv1.JobStatus_JOB_STATUS_FAILURE {
		t.Fatalf("list failed jobs: %v %v", lj, err)
	}
	_, err = c.job.ListJobs(ctx, connect.NewRequest(&runletv1.ListJobsRequest{PerPage: 5000}))
	if f := wantCode(t, "per_page", err, connect.CodeInvalidArgument); !slices.Equal(f, []string{"per_page"}) {
		t.Fatalf("per_page violations: %v", f)
	}
	_, err = c.job.CancelJob(ctx, connect.NewRequest(&runletv1.CancelJobRequest{Id: id}))
	wantCode(t, "cancel a finished job", err, connect.CodeFailedPrecondition)

	// Archive hides the path from lists and runs by path; hashes still run.
	if _, err := c.script.ArchiveScript(ctx, connect.NewRequest(&runletv1.ArchiveScriptRequest{Path: "f/ops/greet"})); err != nil {
		t.Fatal(err)
	}
	ls, err := c.script.ListScripts(ctx, connect.NewRequest(&runletv1.ListScriptsRequest{PathStart: "f/ops/"}))
	if err != nil || len(ls.Msg.GetScripts()) != 0 {
		t.Fatalf("list after archive: %v %v", ls, err)
	}
	_, err = c.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{Path: "f/ops/greet"}))
	wantCode(t, "run an archived path", err, connect.CodeNotFound)
	if r := s.do(t, "POST", "/api/w/main/jobs/run/h/"+h2, map[string]any{"name": "x"}); r.Status != http.StatusCreated {
		t.Fatalf("run an archived version by hash: %d %s", r.Status, r.Body)
	}
	if _, err := c.script.ArchiveScript(ctx, connect.NewRequest(&runletv1.ArchiveScriptRequest{Path: "f/ops/greet", Unarchive: true})); err != nil {
		t.Fatal(err)
	}
	ls, err = c.script.ListScripts(ctx, connect.NewRequest(&runletv1.ListScriptsRequest{}))
	if err != nil || len(ls.Msg.GetScripts()) != 1 || ls.Msg.GetScripts()[0].GetContent() != "" {
		t.Fatalf("list after unarchive (no content in lists): %v %v", ls, err)
	}
	if _, err := c.script.DeleteScript(ctx, connect.NewRequest(&runletv1.DeleteScriptRequest{Path: "f/ops/greet"})); err != nil {
		t.Fatal(err)
	}
	_, err = c.script.GetScript(ctx, connect.NewRequest(&runletv1.GetScriptRequest{Hash: h1}))
	wantCode(t, "get a deleted version", err, connect.CodeNotFound)
	_, err = c.script.DeleteScript(ctx, connect.NewRequest(&runletv1.DeleteScriptRequest{Path: "f/ops/greet"}))
	wantCode(t, "delete twice", err, connect.CodeNotFound)
}

func TestConnectErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{MaxBodyBytes: 64 << 10})
	c := s.connectClients(s.Token, nil)
	ctx := context.Background()
	s.push(t, "f/ops/greet", "typescript", greetTS, nil)

	for _, tc := range []struct {
		name   string
		call   func() error
		code   connect.Code
		fields []string
	}{
		{"bad path", func() error {
			_, err := c.script.CreateScript(ctx, connect.NewRequest(&runletv1.CreateScriptRequest{Path: "x/../y", Language: "typescript", Content: greetTS}))
			return err
		}, connect.CodeInvalidArgument, []string{"path"}},
		{"bad language", func() error {
			_, err := c.script.CreateScript(ctx, connect.NewRequest(&runletv1.CreateScriptRequest{Path: "f/a/b", Language: "cobol", Content: "x"}))
			return err
		}, connect.CodeInvalidArgument, []string{"language"}},
		{"does not build", func() error {
			_, err := c.script.CreateScript(ctx, connect.NewRequest(&runletv1.CreateScriptRequest{Path: "f/a/b", Language: "typescript", Content: "export function main( {"}))
			return err
		}, connect.CodeInvalidArgument, []string{"content"}},
		{"bad argument", func() error {
			_, err := c.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{Path: "f/ops/greet", Args: args(t, map[string]any{"name": "x", "times": "two"})}))
			return err
		}, connect.CodeInvalidArgument, []string{"args.times"}},
		{"bad job id", func() error {
			_, err := c.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{Path: "f/ops/greet", JobId: "nope", Args: args(t, map[string]any{"name": "x"})}))
			return err
		}, connect.CodeInvalidArgument, []string{"job_id"}},
		{"bad role", func() error {
			_, err := c.user.AddUser(ctx, connect.NewRequest(&runletv1.AddUserRequest{Name: "bob", Role: "root"}))
			return err
		}, connect.CodeInvalidArgument, []string{"role"}},
		{"negative expiry", func() error {
			_, err := c.token.CreateToken(ctx, connect.NewRequest(&runletv1.CreateTokenRequest{ExpiresIn: -1}))
			return err
		}, connect.CodeInvalidArgument, []string{"expires_in"}},
		{"negative log offset", func() error {
			st, err := c.job.StreamLogs(ctx, connect.NewRequest(&runletv1.StreamLogsRequest{Id: "0190a5c4-6a3c-7cc1-8a4e-5b0e6f6c9a01", Offset: -1}))
			if err != nil {
				return err
			}
			for st.Receive() {
			}
			return st.Err()
		}, connect.CodeInvalidArgument, []string{"offset"}},
		{"no such job", func() error {
			_, err := c.job.GetJob(ctx, connect.NewRequest(&runletv1.GetJobRequest{Id: "0190a5c4-6a3c-7cc1-8a4e-5b0e6f6c9a01"}))
			return err
		}, connect.CodeNotFound, nil},
		{"no such variable", func() error {
			_, err := c.vars.GetVariable(ctx, connect.NewRequest(&runletv1.GetVariableRequest{Path: "f/a/missing"}))
			return err
		}, connect.CodeNotFound, nil},
		{"other workspace", func() error {
			_, err := c.script.ListScripts(ctx, connect.NewRequest(&runletv1.ListScriptsRequest{Workspace: "acme"}))
			return err
		}, connect.CodePermissionDenied, nil},
		{"too large", func() error {
			_, err := c.script.CreateScript(ctx, connect.NewRequest(&runletv1.CreateScriptRequest{Path: "f/a/big", Language: "typescript", Content: strings.Repeat("x", 100<<10)}))
			return err
		}, connect.CodeResourceExhausted, nil},
		{"queue limit", func() error {
			_, err := c.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{
				Path: "f/ops/greet", Args: args(t, map[string]any{"name": "x"}), QueueLimit: 1,
				ScheduledFor: timestamppb.New(time.Now().Add(time.Hour)), // stays queued
			}))
			if err != nil {
				return err
			}
			_, err = c.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{Path: "f/ops/greet", Args: args(t, map[string]any{"name": "y"}), QueueLimit: 1}))
			return err
		}, connect.CodeResourceExhausted, nil},
	} {
		fields := wantCode(t, tc.name, tc.call(), tc.code)
		if !slices.Equal(fields, tc.fields) {
			t.Errorf("%s: field violations %v, want %v", tc.name, fields, tc.fields)
		}
	}

	// No token, an unknown token: Unauthenticated, on unary and streaming calls.
	for _, tok := range []string{"", "rl_unknown"} {
		anon := s.connectClients(tok, nil)
		_, err := anon.script.ListScripts(ctx, connect.NewRequest(&runletv1.ListScriptsRequest{}))
		wantCode(t, "token "+tok, err, connect.CodeUnauthenticated)
		st, err := anon.job.StreamLogs(ctx, connect.NewRequest(&runletv1.StreamLogsRequest{Id: "x"}))
		if err == nil {
			for st.Receive() {
			}
			err = st.Err()
		}
		wantCode(t, "stream with token "+tok, err, connect.CodeUnauthenticated)
	}
	// An operator may run but not write.
	tok, err := c.token.CreateToken(ctx, connect.NewRequest(&runletv1.CreateTokenRequest{Service: true, Role: "operator", Label: "ops"}))
	if err != nil {
		t.Fatal(err)
	}
	op := s.connectClients(tok.Msg.GetToken(), nil)
	_, err = op.script.CreateScript(ctx, connect.NewRequest(&runletv1.CreateScriptRequest{Path: "f/ops/x", Language: "typescript", Content: greetTS}))
	wantCode(t, "operator writes", err, connect.CodePermissionDenied)
	if _, err := op.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{Path: "f/ops/greet", Args: args(t, map[string]any{"name": "op"})})); err != nil {
		t.Fatalf("operator runs: %v", err)
	}
}

func TestConnectStreamLogs(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.push(t, "f/ops/slow", "typescript", `export async function main() {
  console.log("first line");
  await new Promise((r) => setTimeout(r, 1500));
  console.log("second line");
  return "done";
}`, nil)
	ctx := context.Background()
	for _, proto := range []struct {
		name string
		c    clients
	}{
		{"connect", s.connectClients(s.Token, nil)},
		{"grpc", s.connectClients(s.Token, h2c(), connect.WithGRPC())},
	} {
		t.Run(proto.name, func(t *testing.T) {
			c := proto.c
			run, err := c.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{Path: "f/ops/slow"}))
			if err != nil {
				t.Fatal(err)
			}
			id := run.Msg.GetJob().GetId()
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				j, err := c.job.GetJob(ctx, connect.NewRequest(&runletv1.GetJobRequest{Id: id}))
				if err != nil {
					t.Fatal(err)
				}
				if st := j.Msg.GetJob().GetStatus(); st == runletv1.JobStatus_JOB_STATUS_RUNNING {
					break
				} else if st != runletv1.JobStatus_JOB_STATUS_QUEUED || time.Now().After(deadline) {
					t.Fatalf("job did not start running: %v", j.Msg.GetJob())
				}
			}
			// Follow the running job: the lines arrive, the last message
			// carries the finished job, then the stream ends.
			st, err := c.job.StreamLogs(ctx, connect.NewRequest(&runletv1.StreamLogsRequest{Id: id}))
			if err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			var last *runletv1.StreamLogsResponse
			for st.Receive() {
				if last != nil && last.GetJob() != nil {
					t.Fatal("a message after the one with the finished job")
				}
				last = st.Msg()
				logs.WriteString(last.GetText())
				if int(last.GetOffset()) != logs.Len() {
					t.Fatalf("offset %d after %d bytes", last.GetOffset(), logs.Len())
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			st.Close()
			if !strings.Contains(logs.String(), "first line") || !strings.Contains(logs.String(), "second line") {
				t.Fatalf("logs: %q", logs.String())
			}
			if j := last.GetJob(); j.GetStatus() != runletv1.JobStatus_JOB_STATUS_SUCCESS || j.GetResult().GetStringValue() != "done" {
				t.Fatalf("last message's job: %v", j)
			}
			// Resuming at the end of a finished job's logs: one message, the job.
			st, err = c.job.StreamLogs(ctx, connect.NewRequest(&runletv1.StreamLogsRequest{Id: id, Offset: last.GetOffset()}))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for st.Receive() {
				n++
				if st.Msg().GetText() != "" || st.Msg().GetJob() == nil {
					t.Fatalf("resumed stream: %v", st.Msg())
				}
			}
			if st.Err() != nil || n != 1 {
				t.Fatalf("resumed stream: %d messages, %v", n, st.Err())
			}
		})
	}
}

func TestConnectProtocols(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	ctx := context.Background()
	s.push(t, "f/ops/greet", "typescript", greetTS, nil)

	// gRPC over h2c: a call, an error with its details.
	g := s.connectClients(s.Token, h2c(), connect.WithGRPC())
	rw, err := g.job.RunScriptAndWait(ctx, connect.NewRequest(&runletv1.RunScriptAndWaitRequest{Path: "f/ops/greet", Args: args(t, map[string]any{"name": "grpc"})}))
	if err != nil || rw.Msg.GetJob().GetResult().GetStructValue().GetFields()["greeting"].GetStringValue() != "hello grpc!" {
		t.Fatalf("gRPC run: %v %v", rw, err)
	}
	_, err = g.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{Path: "f/ops/greet", Args: args(t, map[string]any{"times": 1})}))
	if f := wantCode(t, "gRPC missing argument", err, connect.CodeInvalidArgument); !slices.Equal(f, []string{"args.name"}) {
		t.Fatalf("gRPC field violations: %v", f)
	}
	// gRPC-Web.
	web := s.connectClients(s.Token, nil, connect.WithGRPCWeb())
	who, err := web.user.WhoAmI(ctx, connect.NewRequest(&runletv1.WhoAmIRequest{}))
	if err != nil || who.Msg.GetUser() != "admin" || who.Msg.GetRole() != "admin" || who.Msg.GetWorkspace() != "main" {
		t.Fatalf("gRPC-Web whoami: %v %v", who, err)
	}
	// Connect GET for calls without side effects.
	get := s.connectClients(s.Token, nil, connect.WithHTTPGet())
	if _, err := get.script.ListScripts(ctx, connect.NewRequest(&runletv1.ListScriptsRequest{})); err != nil {
		t.Fatalf("Connect GET: %v", err)
	}

	// Reflection over gRPC, without a token, lists every service.
	rc := grpcreflect.NewClient(h2c(), s.URL, connect.WithGRPC())
	stream := rc.NewStream(ctx)
	names, err := stream.ListServices()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range server.ConnectServices {
		if !slices.Contains(names, protoreflect.FullName(want)) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}

	// Connect JSON as curl sends it.
	post := func(proc, token, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.URL+proc, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: not JSON: %q", proc, b)
		}
		return res.StatusCode, out
	}
	status, out := post("/runlet.v1.JobService/RunScriptAndWait", s.Token, `{"path":"f/ops/greet","args":{"name":"curl","times":2}}`)
	res, _ := json.Marshal(out["job"].(map[string]any)["result"])
	if status != 200 || out["completed"] != true || string(res) != `{"greeting":"hello curl! hello curl!"}` {
		t.Fatalf("curl run: %d %v", status, out)
	}
	status, out = post("/runlet.v1.VariableService/CreateVariable", s.Token, `{"path":"f/ops/v"}`)
	if status != 400 || out["code"] != "invalid_argument" || out["message"] != "value: required" {
		t.Fatalf("curl invalid argument: %d %v", status, out)
	}
	var types []string
	var violation map[string]any
	for _, d := range out["details"].([]any) {
		d := d.(map[string]any)
		types = append(types, d["type"].(string))
		if d["type"] == "google.rpc.BadRequest" {
			if d["value"] == "" {
				t.Fatalf("detail without a value: %v", d)
			}
			violation = d["debug"].(map[string]any)["fieldViolations"].([]any)[0].(map[string]any)
		}
	}
	if !slices.Equal(types, []string{"google.rpc.ErrorInfo", "google.rpc.BadRequest"}) || violation["field"] != "value" {
		t.Fatalf("curl error details: %v", out["details"])
	}
	if status, out = post("/runlet.v1.UserService/WhoAmI", "", `{}`); status != 401 || out["code"] != "unauthenticated" {
		t.Fatalf("curl without a token: %d %v", status, out)
	}
	if status, out = post("/runlet.v1.UserService/WhoAmI", s.Token, `{"workspace":"main"}`); status != 200 || out["user"] != "admin" {
		t.Fatalf("curl whoami: %d %v", status, out)
	}
}

func TestConnectVariablesAndResources(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	c := s.connectClients(s.Token, nil)
	ctx := context.Background()
	secret := "s3cr3t-value"
	if _, err := c.vars.CreateVariable(ctx, connect.NewRequest(&runletv1.CreateVariableRequest{Path: "f/ops/key", Value: &secret, IsSecret: true, Description: "api key"})); err != nil {
		t.Fatal(err)
	}
	_, err := c.vars.CreateVariable(ctx, connect.NewRequest(&runletv1.CreateVariableRequest{Path: "f/ops/key", Value: &secret}))
	wantCode(t, "duplicate variable", err, connect.CodeAlreadyExists)
	plain := "v1"
	if _, err := c.vars.CreateVariable(ctx, connect.NewRequest(&runletv1.CreateVariableRequest{Path: "f/ops/plain", Value: &plain})); err != nil {
		t.Fatal(err)
	}
	lv, err := c.vars.ListVariables(ctx, connect.NewRequest(&runletv1.ListVariablesRequest{PathStart: "f/ops/"}))
	if err != nil || len(lv.Msg.GetVariables()) != 2 {
		t.Fatalf("list variables: %v %v", lv, err)
	}
	for _, v := range lv.Msg.GetVariables() {
		if v.GetIsSecret() && v.GetValue() != "" {
			t.Fatalf("list shows a secret: %v", v)
		}
	}
	// Update changes only the fields that are set.
	plain = "v2"
	if _, err := c.vars.UpdateVariable(ctx, connect.NewRequest(&runletv1.UpdateVariableRequest{Path: "f/ops/plain", Value: &plain})); err != nil {
		t.Fatal(err)
	}
	gv, err := c.vars.GetVariable(ctx, connect.NewRequest(&runletv1.GetVariableRequest{Path: "f/ops/key"}))
	if err != nil || gv.Msg.GetVariable().GetValue() != secret || gv.Msg.GetVariable().GetDescription() != "api key" {
		t.Fatalf("get secret: %v %v", gv, err)
	}
	// REST sees what Connect wrote.
	if r := s.do(t, "GET", "/api/w/main/variables/get/f/ops/plain", nil); r.Status != 200 || !strings.Contains(r.Body, `"value":"v2"`) {
		t.Fatalf("REST get: %d %s", r.Status, r.Body)
	}
	_, err = c.vars.UpdateVariable(ctx, connect.NewRequest(&runletv1.UpdateVariableRequest{Path: "f/ops/none", Value: &plain}))
	wantCode(t, "update a missing variable", err, connect.CodeNotFound)

	val, _ := structpb.NewValue(map[string]any{"host": "db.internal", "port": 5432})
	if _, err := c.res.CreateResource(ctx, connect.NewRequest(&runletv1.CreateResourceRequest{Path: "f/ops/db", ResourceType: "postgresql", Value: val})); err != nil {
		t.Fatal(err)
	}
	_, err = c.res.CreateResource(ctx, connect.NewRequest(&runletv1.CreateResourceRequest{Path: "f/ops/db", ResourceType: "postgresql", Value: val}))
	wantCode(t, "duplicate resource", err, connect.CodeAlreadyExists)
	_, err = c.res.CreateResource(ctx, connect.NewRequest(&runletv1.CreateResourceRequest{Path: "f/ops/db2", Value: val}))
	if f := wantCode(t, "resource without a type", err, connect.CodeInvalidArgument); !slices.Equal(f, []string{"resource_type"}) {
		t.Fatalf("violations: %v", f)
	}
	val, _ = structpb.NewValue(map[string]any{"host": "db2.internal", "port": 5433})
	if _, err := c.res.CreateResource(ctx, connect.NewRequest(&runletv1.CreateResourceRequest{Path: "f/ops/db", ResourceType: "postgresql", Value: val, UpdateIfExists: true})); err != nil {
		t.Fatal(err)
	}
	gr, err := c.res.GetResource(ctx, connect.NewRequest(&runletv1.GetResourceRequest{Path: "f/ops/db"}))
	if err != nil || gr.Msg.GetResource().GetValue().GetStructValue().GetFields()["host"].GetStringValue() != "db2.internal" {
		t.Fatalf("get resource: %v %v", gr, err)
	}
	lr, err := c.res.ListResources(ctx, connect.NewRequest(&runletv1.ListResourcesRequest{}))
	if err != nil || len(lr.Msg.GetResources()) != 1 || lr.Msg.GetResources()[0].GetResourceType() != "postgresql" {
		t.Fatalf("list resources: %v %v", lr, err)
	}

	// A job reads both; its logs redact the secret.
	s.push(t, "f/ops/use", "typescript", `export async function main(key: string, db: object) {
  console.log("key", key);
  return (db as any).port;
}`, nil)
	rw, err := c.job.RunScriptAndWait(ctx, connect.NewRequest(&runletv1.RunScriptAndWaitRequest{Path: "f/ops/use", Args: args(t, map[string]any{"key": "$var:f/ops/key", "db": "$res:f/ops/db"})}))
	if err != nil || rw.Msg.GetJob().GetResult().GetNumberValue() != 5433 {
		t.Fatalf("run with references: %v %v", rw, err)
	}
	st, err := c.job.StreamLogs(ctx, connect.NewRequest(&runletv1.StreamLogsRequest{Id: rw.Msg.GetJob().GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	for st.Receive() {
		logs.WriteString(st.Msg().GetText())
	}
	if st.Err() != nil || strings.Contains(logs.String(), secret) || !strings.Contains(logs.String(), "key [redacted]") {
		t.Fatalf("logs: %q %v", logs.String(), st.Err())
	}

	for _, del := range []func() error{
		func() error {
			_, err := c.vars.DeleteVariable(ctx, connect.NewRequest(&runletv1.DeleteVariableRequest{Path: "f/ops/key"}))
			return err
		},
		func() error {
			_, err := c.res.DeleteResource(ctx, connect.NewRequest(&runletv1.DeleteResourceRequest{Path: "f/ops/db"}))
			return err
		},
	} {
		if err := del(); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "delete twice", del(), connect.CodeNotFound)
	}
}

func TestConnectUsersTokensWorkspaces(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	c := s.connectClients(s.Token, nil)
	ctx := context.Background()

	au, err := c.user.AddUser(ctx, connect.NewRequest(&runletv1.AddUserRequest{Name: "dev"}))
	if err != nil || au.Msg.GetUser().GetRole() != "developer" {
		t.Fatalf("add user: %v %v", au, err)
	}
	_, err = c.user.AddUser(ctx, connect.NewRequest(&runletv1.AddUserRequest{Name: "dev"}))
	wantCode(t, "add twice", err, connect.CodeAlreadyExists)
	lu, err := c.user.ListUsers(ctx, connect.NewRequest(&runletv1.ListUsersRequest{}))
	if err != nil || len(lu.Msg.GetUsers()) != 2 {
		t.Fatalf("list users: %v %v", lu, err)
	}
	sr, err := c.user.SetRole(ctx, connect.NewRequest(&runletv1.SetRoleRequest{Name: "dev", Role: "operator"}))
	if err != nil || sr.Msg.GetUser().GetRole() != "operator" {
		t.Fatalf("set role: %v %v", sr, err)
	}
	_, err = c.user.SetRole(ctx, connect.NewRequest(&runletv1.SetRoleRequest{Name: "admin", Role: "operator"}))
	wantCode(t, "demote the last admin", err, connect.CodeFailedPrecondition)

	ct, err := c.token.CreateToken(ctx, connect.NewRequest(&runletv1.CreateTokenRequest{User: "dev", Label: "dev laptop", ExpiresIn: 3600, Scopes: []string{"scripts:read"}}))
	if err != nil {
		t.Fatal(err)
	}
	info := ct.Msg.GetInfo()
	if !strings.HasPrefix(ct.Msg.GetToken(), info.GetPrefix()) || info.GetOwner() != "dev" || info.GetRole() != "operator" || info.GetExpiresAt() == nil {
		t.Fatalf("create token: %v", ct.Msg)
	}
	dev := s.connectClients(ct.Msg.GetToken(), nil)
	who, err := dev.user.WhoAmI(ctx, connect.NewRequest(&runletv1.WhoAmIRequest{}))
	if err != nil || who.Msg.GetUser() != "dev" || !slices.Equal(who.Msg.GetScopes(), []string{"scripts:read"}) {
		t.Fatalf("whoami: %v %v", who, err)
	}
	lt, err := dev.token.ListTokens(ctx, connect.NewRequest(&runletv1.ListTokensRequest{}))
	if err != nil || len(lt.Msg.GetTokens()) != 1 || lt.Msg.GetTokens()[0].GetLabel() != "dev laptop" {
		t.Fatalf("dev lists own tokens: %v %v", lt, err)
	}
	lt, err = c.token.ListTokens(ctx, connect.NewRequest(&runletv1.ListTokensRequest{}))
	if err != nil || len(lt.Msg.GetTokens()) != 2 {
		t.Fatalf("admin lists tokens: %v %v", lt, err)
	}
	_, err = dev.user.AddUser(ctx, connect.NewRequest(&runletv1.AddUserRequest{Name: "eve"}))
	wantCode(t, "operator adds a user", err, connect.CodePermissionDenied)
	rt, err := c.token.RevokeToken(ctx, connect.NewRequest(&runletv1.RevokeTokenRequest{Prefix: info.GetPrefix()}))
	if err != nil || rt.Msg.GetRevoked() != 1 {
		t.Fatalf("revoke: %v %v", rt, err)
	}
	_, err = dev.user.WhoAmI(ctx, connect.NewRequest(&runletv1.WhoAmIRequest{}))
	wantCode(t, "revoked token", err, connect.CodeUnauthenticated)
	if _, err := c.user.RemoveUser(ctx, connect.NewRequest(&runletv1.RemoveUserRequest{Name: "dev"})); err != nil {
		t.Fatal(err)
	}
	_, err = c.user.RemoveUser(ctx, connect.NewRequest(&runletv1.RemoveUserRequest{Name: "dev"}))
	wantCode(t, "remove twice", err, connect.CodeNotFound)

	// Workspaces: an admin of main creates one and gets its first token,
	// which works there and only there.
	cw, err := c.ws.CreateWorkspace(ctx, connect.NewRequest(&runletv1.CreateWorkspaceRequest{Id: "acme", Name: "Acme"}))
	if err != nil || cw.Msg.GetWorkspace().GetName() != "Acme" || cw.Msg.GetAdmin().GetRole() != "admin" || cw.Msg.GetToken() == "" {
		t.Fatalf("create workspace: %v %v", cw, err)
	}
	_, err = c.ws.CreateWorkspace(ctx, connect.NewRequest(&runletv1.CreateWorkspaceRequest{Id: "acme"}))
	wantCode(t, "create twice", err, connect.CodeAlreadyExists)
	_, err = c.ws.CreateWorkspace(ctx, connect.NewRequest(&runletv1.CreateWorkspaceRequest{Id: "Bad Name"}))
	if f := wantCode(t, "bad workspace id", err, connect.CodeInvalidArgument); !slices.Equal(f, []string{"id"}) {
		t.Fatalf("violations: %v", f)
	}
	acme := s.connectClients(cw.Msg.GetToken(), nil)
	if _, err := acme.script.CreateScript(ctx, connect.NewRequest(&runletv1.CreateScriptRequest{Workspace: "acme", Path: "f/a/greet", Language: "typescript", Content: greetTS})); err != nil {
		t.Fatal(err)
	}
	_, err = acme.script.ListScripts(ctx, connect.NewRequest(&runletv1.ListScriptsRequest{}))
	wantCode(t, "acme token in main", err, connect.CodePermissionDenied)
	lw, err := c.ws.ListWorkspaces(ctx, connect.NewRequest(&runletv1.ListWorkspacesRequest{}))
	if err != nil || len(lw.Msg.GetWorkspaces()) != 2 {
		t.Fatalf("main admin lists workspaces: %v %v", lw, err)
	}
	lw, err = acme.ws.ListWorkspaces(ctx, connect.NewRequest(&runletv1.ListWorkspacesRequest{}))
	if err != nil || len(lw.Msg.GetWorkspaces()) != 1 || lw.Msg.GetWorkspaces()[0].GetId() != "acme" {
		t.Fatalf("acme admin lists workspaces: %v %v", lw, err)
	}
	_, err = acme.ws.CreateWorkspace(ctx, connect.NewRequest(&runletv1.CreateWorkspaceRequest{Id: "other"}))
	wantCode(t, "acme admin creates a workspace", err, connect.CodePermissionDenied)
}

// The REST routes for what the Connect API added call the same service
// methods: each side sees what the other did.
func TestRESTArchiveDeleteAndWorkspaces(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	c := s.connectClients(s.Token, nil)
	ctx := context.Background()
	s.push(t, "f/ops/greet", "typescript", greetTS, nil)
	count := func() int {
		t.Helper()
		ls, err := c.script.ListScripts(ctx, connect.NewRequest(&runletv1.ListScriptsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		return len(ls.Msg.GetScripts())
	}
	if r := s.do(t, "POST", "/api/w/main/scripts/archive/p/f/ops/greet", nil); r.Status != 200 || count() != 0 {
		t.Fatalf("archive: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/scripts/archive/p/f/ops/greet", map[string]any{"archived": false}); r.Status != 200 || count() != 1 {
		t.Fatalf("unarchive: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/scripts/delete/p/f/ops/greet", nil); r.Status != 200 || count() != 0 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/scripts/delete/p/f/ops/greet", nil); r.Status != 404 {
		t.Fatalf("delete twice: %d %s", r.Status, r.Body)
	}
	r := s.do(t, "POST", "/api/workspaces/create", map[string]any{"id": "acme"})
	var cw struct {
		Token string `json:"token"`
	}
	if json.Unmarshal([]byte(r.Body), &cw); r.Status != 201 || cw.Token == "" {
		t.Fatalf("create workspace: %d %s", r.Status, r.Body)
	}
	acme := s.connectClients(cw.Token, nil)
	who, err := acme.user.WhoAmI(ctx, connect.NewRequest(&runletv1.WhoAmIRequest{Workspace: "acme"}))
	if err != nil || who.Msg.GetRole() != "admin" {
		t.Fatalf("whoami in the new workspace: %v %v", who, err)
	}
	if r := s.do(t, "GET", "/api/workspaces/list", nil); r.Status != 200 || !strings.Contains(r.Body, `"id":"acme"`) {
		t.Fatalf("list workspaces: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/workspaces/create", map[string]any{"id": "acme"}); r.Status != 409 {
		t.Fatalf("create twice: %d %s", r.Status, r.Body)
	}
}

// A log stream open at shutdown ends at once with Unavailable (the client
// resumes from its offset elsewhere) rather than holding Shutdown up.
func TestConnectStreamEndsAtShutdown(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{ShutdownGrace: 100 * time.Millisecond})
	s.push(t, "f/ops/sleeper", "typescript", `export async function main() { await new Promise((r) => setTimeout(r, 30000)); return 1; }`, nil)
	c := s.connectClients(s.Token, h2c(), connect.WithGRPC())
	ctx := context.Background()
	run, err := c.job.RunScript(ctx, connect.NewRequest(&runletv1.RunScriptRequest{Path: "f/ops/sleeper"}))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.job.StreamLogs(ctx, connect.NewRequest(&runletv1.StreamLogsRequest{Id: run.Msg.GetJob().GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		for st.Receive() {
		}
		ended <- st.Err()
	}()
	time.Sleep(200 * time.Millisecond) // the stream is open and waiting
	start := time.Now()
	go s.srv.Shutdown(ctx)
	select {
	case err := <-ended:
		wantCode(t, "stream at shutdown", err, connect.CodeUnavailable)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("the stream ended %v after Shutdown began", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end at shutdown")
	}
}
