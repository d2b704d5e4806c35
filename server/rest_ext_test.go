package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/server"
)

const greetTS = `export async function main(name: string, times: number = 1) {
  console.log("greeting", name);
  return { greeting: ("hello " + name + "! ").repeat(times).trim() };
}`

func TestScriptVersions(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	h1 := s.push(t, "f/ops/greet", "typescript", greetTS, map[string]any{"summary": "greets"})
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(h1) {
		t.Fatalf("hash %q is not 16 hex characters", h1)
	}
	if again := s.push(t, "f/ops/greet", "typescript", greetTS, map[string]any{"summary": "greets"}); again != h1 {
		t.Fatalf("pushing the same version gave %s, want %s", again, h1)
	}
	h2 := s.push(t, "f/ops/greet", "bun", strings.Replace(greetTS, "hello", "hi", 1), nil)
	if h2 == h1 {
		t.Fatal("a changed script kept its hash")
	}
	// A setting that affects execution changes the hash too.
	if h3 := s.push(t, "f/ops/greet", "typescript", strings.Replace(greetTS, "hello", "hi", 1), map[string]any{"timeout": 5}); h3 == h2 {
		t.Fatal("a changed timeout kept the hash")
	}
	r := s.do(t, "GET", "/api/w/main/scripts/history/p/f/ops/greet", nil)
	var hist []map[string]any
	json.Unmarshal([]byte(r.Body), &hist)
	if r.Status != 200 || len(hist) != 3 || hist[2]["hash"] != h1 {
		t.Fatalf("history: %d %s", r.Status, r.Body)
	}
	// Run by path runs the latest; by hash the pinned version.
	r = s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/ops/greet", map[string]any{"name": "ops"})
	if r.Status != 200 || r.Body != `{"greeting":"hi ops!"}` {
		t.Fatalf("latest: %d %s", r.Status, r.Body)
	}
	r = s.do(t, "POST", "/api/w/main/jobs/run_wait_result/h/"+h1, map[string]any{"name": "ops", "times": 2})
	if r.Status != 200 || r.Body != `{"greeting":"hello ops! hello ops!"}` {
		t.Fatalf("by hash: %d %s", r.Status, r.Body)
	}
	r = s.do(t, "GET", "/api/w/main/scripts/get/h/"+h1, nil)
	if r.Status != 200 || !strings.Contains(r.Body, `"summary":"greets"`) || !strings.Contains(r.Body, "hello ") {
		t.Fatalf("get by hash: %d %s", r.Status, r.Body)
	}
	// Bad paths and languages are refused naming the field.
	for _, bad := range []map[string]any{
		{"path": "f/../x", "language": "typescript", "content": greetTS},
		{"path": "x/y/z", "language": "typescript", "content": greetTS},
		{"path": "f/ops/a b", "language": "typescript", "content": greetTS},
		{"path": "f/ops/x", "language": "cobol", "content": greetTS},
		{"path": "f/ops/x", "language": "typescript", "content": "export function main( {"},
	} {
		r := s.do(t, "POST", "/api/w/main/scripts/create", bad)
		if r.Status != 400 || errorOf(t, r.Body)["field"] == nil {
			t.Fatalf("%v: %d %s", bad, r.Status, r.Body)
		}
	}
}

func TestRunEndpoints(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.push(t, "f/ops/greet", "typescript", greetTS, nil)
	// Sync POST and GET with a base64url payload.
	r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/ops/greet", map[string]any{"name": "a"})
	if r.Status != 200 || r.Body != `{"greeting":"hello a!"}` {
		t.Fatalf("sync POST: %d %s", r.Status, r.Body)
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"name":"b","times":2}`))
	r = s.do(t, "GET", "/api/w/main/jobs/run_wait_result/p/f/ops/greet?payload="+payload, nil)
	if r.Status != 200 || r.Body != `{"greeting":"hello b! hello b!"}` {
		t.Fatalf("sync GET: %d %s", r.Status, r.Body)
	}
	// Async: 201 with the id as text, then the job endpoints.
	r = s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/greet", map[string]any{"name": "c"})
	if r.Status != 201 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("async: %d %s", r.Status, r.Body)
	}
	id := r.Body
	j := s.waitJob(t, id)
	if j["success"] != true || j["script_path"] != "f/ops/greet" || j["trigger"] != "webhook" {
		t.Fatalf("job: %v", j)
	}
	r = s.do(t, "GET", "/api/w/main/jobs_u/completed/get_result/"+id, nil)
	if r.Status != 200 || strings.TrimSpace(r.Body) != `{"greeting":"hello c!"}` {
		t.Fatalf("get_result: %d %s", r.Status, r.Body)
	}
	r = s.do(t, "GET", "/api/w/main/jobs_u/get_logs/"+id, nil)
	if r.Status != 200 || !strings.Contains(r.Body, "INFO  greeting c") {
		t.Fatalf("logs: %d %q", r.Status, r.Body)
	}
	r = s.do(t, "GET", "/api/w/main/jobs_u/getupdate/"+id+"?log_offset=0", nil)
	var up map[string]any
	json.Unmarshal([]byte(r.Body), &up)
	if up["completed"] != true || !strings.Contains(up["new_logs"].(string), "greeting c") || up["log_offset"].(float64) == 0 {
		t.Fatalf("getupdate: %s", r.Body)
	}
	// A job scheduled later: queued; its result is 404 until complete.
	r = s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/greet?scheduled_in_secs=3600", map[string]any{"name": "later"})
	later := r.Body
	if r := s.do(t, "GET", "/api/w/main/jobs_u/completed/get_result/"+later, nil); r.Status != 404 {
		t.Fatalf("get_result of a queued job: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "GET", "/api/w/main/jobs_u/completed/get/"+later, nil); r.Status != 404 {
		t.Fatalf("completed/get of a queued job: %d", r.Status)
	}
	r = s.do(t, "GET", "/api/w/main/jobs_u/completed/get_result_maybe/"+later, nil)
	if r.Status != 200 || !strings.Contains(r.Body, `"completed":false`) {
		t.Fatalf("get_result_maybe: %d %s", r.Status, r.Body)
	}
	// Cancel it.
	if r := s.do(t, "POST", "/api/w/main/jobs_u/queue/cancel/"+later, map[string]any{"reason": "not needed"}); r.Status != 200 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	if j := s.waitJob(t, later); j["canceled"] != true || j["canceled_reason"] != "not needed" {
		t.Fatalf("canceled job: %v", j)
	}
	// Client-chosen id; a duplicate is 409.
	const jid = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	if r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/greet?job_id="+jid, map[string]any{"name": "d"}); r.Status != 201 || r.Body != jid {
		t.Fatalf("job_id: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/greet?job_id="+jid, map[string]any{"name": "d"}); r.Status != 409 {
		t.Fatalf("duplicate job_id: %d %s", r.Status, r.Body)
	}
	// HEAD on a run URL answers 200.
	if r := s.do(t, "HEAD", "/api/w/main/jobs/run/p/f/ops/greet", nil); r.Status != 200 {
		t.Fatalf("HEAD: %d", r.Status)
	}
	// The list shows path, trigger and args.
	r = s.do(t, "GET", "/api/w/main/jobs/list?script_path_exact=f/ops/greet", nil)
	var list []map[string]any
	json.Unmarshal([]byte(r.Body), &list)
	if r.Status != 200 || len(list) < 4 || list[0]["script_path"] != "f/ops/greet" || list[0]["args"] == nil {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{MaxBodyBytes: 1024})
	s.push(t, "f/ops/greet", "typescript", greetTS, nil)
	s.push(t, "f/ops/boom", "typescript", `export function main() {
  throw new Error("no booms allowed");
}`, nil)
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		hdr    []string
		status int
		code   string
		field  string
	}{
		{"no token", "POST", "/api/w/main/jobs/run/p/f/ops/greet", map[string]any{"name": "x"}, []string{"Authorization", ""}, 401, "unauthenticated", ""},
		{"unknown token", "POST", "/api/w/main/jobs/run/p/f/ops/greet", map[string]any{"name": "x"}, []string{"Authorization", "Bearer rl_nope"}, 401, "unauthenticated", ""},
		{"other workspace", "POST", "/api/w/other/jobs/run/p/f/ops/greet", map[string]any{"name": "x"}, nil, 403, "permission_denied", ""},
		{"unknown path", "POST", "/api/w/main/jobs/run/p/f/ops/nope", map[string]any{}, nil, 404, "not_found", ""},
		{"missing arg", "POST", "/api/w/main/jobs/run/p/f/ops/greet", map[string]any{}, nil, 400, "invalid_argument", "name"},
		{"wrong type", "POST", "/api/w/main/jobs/run/p/f/ops/greet", map[string]any{"name": "x", "times": "many"}, nil, 400, "invalid_argument", "times"},
		{"bad json", "POST", "/api/w/main/jobs/run/p/f/ops/greet", "{nope", nil, 400, "invalid_argument", "body"},
		{"too large", "POST", "/api/w/main/jobs/run/p/f/ops/greet", map[string]any{"name": strings.Repeat("x", 2048)}, nil, 413, "too_large", ""},
		{"bad job id", "POST", "/api/w/main/jobs/run/p/f/ops/greet?job_id=nope", map[string]any{"name": "x"}, nil, 400, "invalid_argument", "job_id"},
	}
	for _, c := range cases {
		r := s.do(t, c.method, c.path, c.body, c.hdr...)
		if r.Status != c.status {
			t.Fatalf("%s: status %d %s, want %d", c.name, r.Status, r.Body, c.status)
		}
		e := errorOf(t, r.Body)
		if e["code"] != c.code || (c.field != "" && e["field"] != c.field) || e["message"] == "" {
			t.Fatalf("%s: error %v, want code %s field %q", c.name, e, c.code, c.field)
		}
	}
	// Token as ?token= and as cookie.
	tok := s.Token
	if r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/greet?token="+tok, map[string]any{"name": "q"}, "Authorization", ""); r.Status != 201 {
		t.Fatalf("?token=: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/ops/greet", map[string]any{"name": "c"}, "Authorization", "", "Cookie", "token="+tok); r.Status != 201 {
		t.Fatalf("cookie: %d %s", r.Status, r.Body)
	}
	// A failing script: 500 with name, message and stack at the user's line.
	r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/ops/boom", map[string]any{})
	e := errorOf(t, r.Body)
	if r.Status != 500 || e["name"] != "ScriptError" || !strings.Contains(e["message"].(string), "no booms allowed") || !strings.Contains(e["stack"].(string), "f/ops/boom.ts:2") {
		t.Fatalf("failure: %d %s", r.Status, r.Body)
	}
}

func TestWebhookArgs(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.push(t, "f/hooks/echo", "typescript", `export function main(n?: number, flag?: boolean, body?: number[], raw_string?: string, x_sign?: string, q?: number) {
  return { n, flag, body, raw_string, x_sign, q };
}`, nil)
	// Form-encoded values are coerced by the schema; undeclared ones ignored.
	r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/hooks/echo", "n=3&flag=true&junk=1", "Content-Type", "application/x-www-form-urlencoded")
	if r.Status != 200 || !strings.Contains(r.Body, `"n":3,"flag":true`) {
		t.Fatalf("form: %d %s", r.Status, r.Body)
	}
	// Non-object JSON is wrapped as body; raw, include_header, include_query.
	r = s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/hooks/echo?raw=true&include_header=X-Sign&include_query=q&q=7", `[1,2]`, "X-Sign", "sig123")
	if r.Status != 200 || !strings.Contains(r.Body, `"body":[1,2],"raw_string":"[1,2]","x_sign":"sig123","q":7`) {
		t.Fatalf("wrapped: %d %s", r.Status, r.Body)
	}
	// wrap_body wraps an object too.
	s.push(t, "f/hooks/wrap", "typescript", `export function main(body: { n: number }) { return body.n; }`, nil)
	r = s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/hooks/wrap?wrap_body=true", `{"n":5}`)
	if r.Status != 200 || r.Body != "5" {
		t.Fatalf("wrap_body: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/hooks/wrap", `{"n":5}`); r.Status != 400 || errorOf(t, r.Body)["field"] != "body" {
		t.Fatalf("without wrap_body: %d %s", r.Status, r.Body)
	}
	// windmill_status_code / content type / headers shape the response.
	s.push(t, "f/hooks/teapot", "typescript", `export function main() {
  return { windmill_status_code: 418, windmill_content_type: "text/plain", windmill_headers: { "X-Brew": "earl grey" }, result: "I am a teapot" };
}`, nil)
	r = s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/hooks/teapot", `{}`)
	if r.Status != 418 || r.Body != "I am a teapot" || r.Header.Get("X-Brew") != "earl grey" || r.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("teapot: %d %q %v", r.Status, r.Body, r.Header)
	}
}

func TestWaitLimitAnswers202(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{WaitLimit: 200 * time.Millisecond})
	s.push(t, "f/ops/slow", "typescript", `export async function main() {
  await new Promise((r) => setTimeout(r, 1500));
  return "done";
}`, nil)
	r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/ops/slow", `{}`)
	var d map[string]string
	json.Unmarshal([]byte(r.Body), &d)
	if r.Status != http.StatusAccepted || d["id"] == "" {
		t.Fatalf("want 202 with the id: %d %s", r.Status, r.Body)
	}
	if j := s.waitJob(t, d["id"]); j["result"] != "done" {
		t.Fatalf("the job did not go on: %v", j)
	}
}
