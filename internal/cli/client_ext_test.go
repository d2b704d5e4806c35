package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/client/clienttest"
)

// The client commands run as the real binary against a fake API server
// (package clienttest) on 127.0.0.1.

const testToken = "cli-t0ken"

// runletIn runs the binary in dir with stdin, without any RUNLET_URL,
// RUNLET_TOKEN or RUNLET_WORKSPACE from the test's environment, plus env.
func runletIn(t *testing.T, dir, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RUNLET_URL=") && !strings.HasPrefix(kv, "RUNLET_TOKEN=") && !strings.HasPrefix(kv, "RUNLET_WORKSPACE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, "RUNLET_CACHE_DIR="+cacheDir), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("runlet %v: still running after 60 s", args)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// fake starts a fake server wanting testToken and returns it with a
// function that runs the binary against it (with --url and --token).
func fake(t *testing.T, run func(string, json.RawMessage) clienttest.Outcome) (*clienttest.Server, func(args ...string) result) {
	t.Helper()
	srv := clienttest.New(t, clienttest.Config{Token: testToken, Run: run})
	dir := t.TempDir()
	return srv, func(args ...string) result {
		t.Helper()
		return runletIn(t, dir, "", nil, append(args, "--url", srv.URL, "--token", testToken)...)
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func lastRequest(t *testing.T, srv *clienttest.Server, infix string) clienttest.Request {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if strings.Contains(reqs[i].Path, infix) {
			return reqs[i]
		}
	}
	t.Fatalf("no request to ...%s", infix)
	return clienttest.Request{}
}

func wantExit(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var hashLine = regexp.MustCompile(`^pushed (\S+) ([0-9a-f]{16})\n$`)

func TestScriptPush(t *testing.T) {
	t.Parallel()
	srv, cli := fake(t, nil)
	src := "export function main(name: string) { return name }\n"
	dir := writeFiles(t, map[string]string{
		"hello.ts": src,
		"hello.script.yaml": `summary: from yaml
description: |
  Says hello.
kind: trigger
timeout: 30
memory: 64MiB
allowed_hosts: [a.example.com, b.example.com]
warm: true
retries: 2
`,
	})
	file := filepath.Join(dir, "hello.ts")
	// Flags win over the YAML: summary, memory, hosts and warm here.
	r := cli("script", "push", file, "f/x/hello", "--summary", "from flags", "--memory", "128MiB", "--allow-host", "c.example.com", "--warm=false")
	wantExit(t, r, 0)
	m := hashLine.FindStringSubmatch(r.stdout)
	if m == nil || m[1] != "f/x/hello" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	hash := m[2]
	pushed := srv.Pushed("f/x/hello")
	want := `{"allowed_hosts":["c.example.com"],"content":` + asJSON(src) + `,"description":"Says hello.\n","kind":"trigger","language":"typescript",` +
		`"max_memory":134217728,"path":"f/x/hello","retry":{"constant":{"attempts":2,"seconds":1}},"summary":"from flags","timeout":30}`
	if len(pushed) != 1 || asJSON(pushed[0]) != want {
		t.Fatalf("pushed %s\nwant    %s", asJSON(pushed), want)
	}
	req := lastRequest(t, srv, "/scripts/create")
	if req.Method != http.MethodPost || req.Header.Get("Authorization") != "Bearer "+testToken {
		t.Fatalf("request = %+v", req)
	}

	// A second push names the first version as its parent; the options may
	// come before the command words too.
	r = runletIn(t, dir, "", nil, "--url", srv.URL, "--token="+testToken, "script", "push", "hello.ts", "f/x/hello", "--timeout", "2m")
	wantExit(t, r, 0)
	pushed = srv.Pushed("f/x/hello")
	if len(pushed) != 2 || pushed[1]["parent_hash"] != hash || pushed[1]["timeout"] != float64(120) || pushed[1]["summary"] != "from yaml" || pushed[1]["warm"] != true {
		t.Fatalf("second push = %s", asJSON(pushed))
	}

	// A .wasm plugin goes as base64, with its schema.
	wasm := "\x00asm\x01\x00\x00\x00\xff"
	schema := `{"type":"object","properties":{"n":{"type":"integer"},"s":{"type":"string"}},"required":["n"]}`
	wdir := writeFiles(t, map[string]string{"plugin.wasm": wasm, "plugin.schema.json": schema})
	r = cli("script", "push", filepath.Join(wdir, "plugin.wasm"), "f/x/plugin")
	wantExit(t, r, 0)
	p := srv.Pushed("f/x/plugin")[0]
	b, _ := base64.StdEncoding.DecodeString(p["content_base64"].(string))
	var wantSchema any
	json.Unmarshal([]byte(schema), &wantSchema)
	if string(b) != wasm || p["content"] != "" || p["language"] != "wasm" || asJSON(p["schema"]) != asJSON(wantSchema) || p["kind"] != "script" {
		t.Fatalf("wasm push = %s", asJSON(p))
	}

	// script list and show.
	r = cli("script", "list")
	wantExit(t, r, 0)
	if !strings.HasPrefix(r.stdout, "PATH ") || !strings.Contains(r.stdout, "f/x/hello") || !strings.Contains(r.stdout, "f/x/plugin") || !strings.Contains(r.stdout, "trigger") {
		t.Fatalf("script list:\n%s", r.stdout)
	}
	r = cli("script", "list", "--json", "--prefix", "f/x/p")
	wantExit(t, r, 0)
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || list[0]["path"] != "f/x/plugin" {
		t.Fatalf("script list --json: %v\n%s", err, r.stdout)
	}
	r = cli("script", "show", "f/x/hello")
	wantExit(t, r, 0)
	for _, s := range []string{"timeout:", "2m0s", "memory:", "64MiB", "retry:", "2 attempts, 1s apart", "\n" + src} {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("script show lacks %q:\n%s", s, r.stdout)
		}
	}
}

func TestScriptPushUsageErrors(t *testing.T) {
	t.Parallel()
	_, cli := fake(t, nil)
	dir := writeFiles(t, map[string]string{
		"a.go":               "package main\n",
		"b.go":               "package main\n",
		"b.script.yaml":      "summry: typo\n",
		"c.go":               "package main\n",
		"c.script.yaml":      "timeout: 30s\n",
		"x.rb":               "puts 1\n",
		"w.wasm":             "\x00asm",
		"w.schema.json":      `{"type":"array"}`,
		"nohost.go":          "package main\n",
		"nohost.script.yaml": "allowed_hosts: [\"http://x\"]\n",
	})
	tests := []struct {
		name     string
		args     []string
		contains string
	}{
		{"no path", []string{"script", "push", "a.go"}, "usage: runlet script push FILE PATH"},
		{"missing file", []string{"script", "push", "nope.go", "f/x"}, "no such file"},
		{"unknown language", []string{"script", "push", "x.rb", "f/x"}, `unsupported language "rb"`},
		{"bad memory", []string{"script", "push", "a.go", "f/x", "--memory", "lots"}, "memory"},
		{"memory too small", []string{"script", "push", "a.go", "f/x", "--memory", "1MiB"}, "max_memory"},
		{"bad timeout", []string{"script", "push", "a.go", "f/x", "--timeout", "1.5s"}, "whole number of seconds"},
		{"bad kind", []string{"script", "push", "a.go", "f/x", "--kind", "flow"}, `kind "flow"`},
		{"yaml typo", []string{"script", "push", "b.go", "f/x"}, `unknown field "summry"`},
		{"yaml timeout not seconds", []string{"script", "push", "c.go", "f/x"}, "c.script.yaml"},
		{"yaml bad host", []string{"script", "push", "nohost.go", "f/x"}, "allowed_hosts"},
		{"wasm schema not an object", []string{"script", "push", "w.wasm", "f/x"}, `must have type "object"`},
		{"unknown flag", []string{"script", "push", "a.go", "f/x", "--nope"}, "flag provided but not defined"},
		{"unknown subcommand", []string{"script", "frob"}, `unknown command "script frob"`},
		{"bad url", []string{"script", "list", "--url", "127.0.0.1:8000"}, "--url"},
		{"run args not an object", []string{"script", "run", "f/x", "--args", "[1]"}, "--args"},
		{"resource without type", []string{"resource", "set", "f/r", "--value", "{}"}, "--type is required"},
		{"resource value and file", []string{"resource", "set", "f/r", "--type", "t", "--value", "{}", "--file", "a.go"}, "exactly one"},
		{"resource bad JSON", []string{"resource", "set", "f/r", "--type", "t", "--value", "{"}, "not valid JSON"},
		{"job list bad limit", []string{"job", "list", "--limit", "0"}, "--limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runletIn(t, dir, "", []string{"RUNLET_URL=http://127.0.0.1:9"}, append(tt.args, "--token", "x")...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.contains) {
				t.Fatalf("exit %d, stderr %q; want exit 2 mentioning %q", r.code, r.stderr, tt.contains)
			}
		})
	}
	r := cli("script", "help")
	if r.code != 0 || !strings.Contains(r.stdout, "runlet script push FILE PATH") {
		t.Fatalf("script help: exit %d\n%s", r.code, r.stdout)
	}
}

func TestScriptRun(t *testing.T) {
	t.Parallel()
	srv, cli := fake(t, func(path string, args json.RawMessage) clienttest.Outcome {
		switch path {
		case "f/fail":
			return clienttest.Outcome{Error: &clienttest.JobError{Name: "ScriptError", Message: "boom", Stack: "at main (f/fail.ts:2)"}}
		case "f/slow":
			return clienttest.Outcome{Result: json.RawMessage(`{"late": true}`), Polls: 2}
		case "f/slowfail":
			return clienttest.Outcome{Error: &clienttest.JobError{Name: "Timeout", Message: "exceeded 1s"}, Polls: 2}
		}
		return clienttest.Outcome{} // the args come back as the result
	})
	for _, p := range []string{"f/ok", "f/fail", "f/slow", "f/slowfail"} {
		srv.AddScript(p, "typescript", "export function main() {}")
	}

	r := cli("script", "run", "f/ok", "--args", `{"a": 1, "big": 12345678901234567890}`)
	wantExit(t, r, 0)
	if r.stdout != `{"a":1,"big":12345678901234567890}`+"\n" || r.stderr != "" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	if req := lastRequest(t, srv, "/run_wait_result/p/f/ok"); req.Method != http.MethodPost {
		t.Fatalf("request = %+v", req)
	}

	r = cli("script", "run", "f/fail")
	wantExit(t, r, 1)
	if name, msg := errorName(t, r.stdout); name != "ScriptError" || msg != "boom" || !strings.Contains(r.stdout, "f/fail.ts:2") {
		t.Fatalf("stdout = %q", r.stdout)
	}

	// Still running at the server's wait limit (202): the CLI polls.
	r = cli("script", "run", "f/slow")
	wantExit(t, r, 0)
	if r.stdout != `{"late":true}`+"\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	r = cli("script", "run", "f/slowfail")
	wantExit(t, r, 1)
	if name, _ := errorName(t, r.stdout); name != "Timeout" {
		t.Fatalf("stdout = %q", r.stdout)
	}

	// --async prints the job id.
	r = cli("script", "run", "f/ok", "--async", "--arg", "x=1")
	wantExit(t, r, 0)
	id := strings.TrimSpace(r.stdout)
	if !regexp.MustCompile(`^[0-9a-f-]{36}\n$`).MatchString(r.stdout) {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if req := lastRequest(t, srv, "/jobs/run/p/f/ok"); string(req.Body) != `{"x":1}` {
		t.Fatalf("async body = %s", req.Body)
	}
	r = cli("job", "get", id)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "status:") || !strings.Contains(r.stdout, "success") || !strings.Contains(r.stdout, `result:         {"x":1}`) {
		t.Fatalf("job get:\n%s", r.stdout)
	}

	// --arg values are typed by the script's schema.
	dir := writeFiles(t, map[string]string{"p.wasm": "\x00asm",
		"p.schema.json": `{"type":"object","properties":{"n":{"type":"integer"},"s":{"type":"string"},"o":{"type":"object"}}}`})
	wantExit(t, cli("script", "push", filepath.Join(dir, "p.wasm"), "f/p"), 0)
	r = cli("script", "run", "f/p", "--arg", "n=3", "--arg", "s=4", "--arg", `o={"k":[1]}`, "--args", `{"n":1}`)
	wantExit(t, r, 0)
	if req := lastRequest(t, srv, "/run_wait_result/p/f/p"); string(req.Body) != `{"n":3,"o":{"k":[1]},"s":"4"}` {
		t.Fatalf("body = %s", req.Body)
	}
	r = cli("script", "run", "f/p", "--arg", "n=x")
	if r.code != 2 || !strings.Contains(r.stderr, `parameter "n"`) {
		t.Fatalf("bad --arg: exit %d stderr %q", r.code, r.stderr)
	}
	r = cli("script", "run", "f/p", "--arg", "zzz=1")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown parameter "zzz"`) {
		t.Fatalf("unknown --arg: exit %d stderr %q", r.code, r.stderr)
	}

	// Server errors: one line, exit 1.
	r = cli("script", "run", "f/none")
	if r.code != 1 || r.stderr != "runlet: script not found: f/none\n" || r.stdout != "" {
		t.Fatalf("missing script: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = cli("script", "show", "f/none", "--workspace", "other")
	if r.code != 1 || r.stderr != "runlet: workspace \"other\" not found\n" {
		t.Fatalf("other workspace: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestJobCommands(t *testing.T) {
	t.Parallel()
	srv, cli := fake(t, func(path string, _ json.RawMessage) clienttest.Outcome {
		if path == "f/forever" {
			return clienttest.Outcome{Polls: 1 << 30}
		}
		return clienttest.Outcome{Polls: 3, Logs: []string{"INFO  one", "INFO  two", "WARN  three"}}
	})
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	d := int64(1500)
	srv.AddJob(clienttest.Job{ID: "0190a000-0000-7000-8000-aaaaaaaaaaaa", ScriptPath: "f/report", ScriptHash: "0123456789abcdef", Trigger: "schedule",
		SchedulePath: "f/nightly", Args: json.RawMessage(`{"day":"mon"}`), CreatedBy: "scheduler", CreatedAt: at, StartedAt: &at, CompletedAt: &at,
		DurationMS: &d, Success: true})
	srv.AddJob(clienttest.Job{ID: "0190a000-0000-7000-8000-bbbbbbbbbbbb", Type: "CompletedJob", Status: "failure", ScriptPath: "f/sync",
		Trigger: "api", Args: json.RawMessage(`{"text":"a\tvery long argument that goes on and on and on, well past sixty characters"}`),
		CreatedBy: "admin", CreatedAt: at.Add(time.Minute), StartedAt: &at, CompletedAt: &at, DurationMS: &d})
	srv.AddJob(clienttest.Job{ID: "0190a000-0000-7000-8000-cccccccccccc", Type: "QueuedJob", Status: "queued", ScriptPath: "f/report",
		Trigger: "webhook", Args: json.RawMessage(`{}`), CreatedBy: "admin", CreatedAt: at.Add(2 * time.Minute)})

	r := cli("job", "list")
	wantExit(t, r, 0)
	golden := "testdata/job_list.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Fatalf("job list differs from %s:\n%s", golden, r.stdout)
	}

	r = cli("job", "list", "--json", "--path", "f/report", "--limit", "1")
	wantExit(t, r, 0)
	if req := lastRequest(t, srv, "/jobs/list"); req.Query != "per_page=1&script_path_exact=f%2Freport" {
		t.Fatalf("query = %q", req.Query)
	}
	var jobs []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &jobs); err != nil || len(jobs) != 1 {
		t.Fatalf("job list --json: %v\n%s", err, r.stdout)
	}
	if j := jobs[0]; j["id"] != "0190a000-0000-7000-8000-cccccccccccc" || j["script_path"] != "f/report" || j["trigger"] != "webhook" || j["status"] != "queued" {
		t.Fatalf("job = %v", j)
	}
	r = cli("job", "list", "--json", "--path", "f/none")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("empty list: exit %d %q", r.code, r.stdout)
	}

	// logs --follow prints each line once and stops when the job completes.
	srv.AddScript("f/logs", "go", "package main")
	r = cli("script", "run", "f/logs", "--async")
	wantExit(t, r, 0)
	id := strings.TrimSpace(r.stdout)
	r = cli("job", "logs", id, "--follow")
	wantExit(t, r, 0)
	if r.stdout != "INFO  one\nINFO  two\nWARN  three\n" {
		t.Fatalf("logs --follow = %q", r.stdout)
	}
	r = cli("job", "logs", id)
	if r.code != 0 || r.stdout != "INFO  one\nINFO  two\nWARN  three\n" {
		t.Fatalf("logs = %q", r.stdout)
	}

	srv.AddScript("f/forever", "go", "package main")
	r = cli("script", "run", "f/forever", "--async")
	wantExit(t, r, 0)
	id = strings.TrimSpace(r.stdout)
	r = cli("job", "cancel", id, "--reason", "enough")
	if r.code != 0 || r.stdout != "canceled "+id+"\n" {
		t.Fatalf("cancel: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if req := lastRequest(t, srv, "/cancel/"+id); string(req.Body) != `{"reason":"enough"}` {
		t.Fatalf("cancel body = %s", req.Body)
	}
	r = cli("job", "get", id, "--json")
	var j map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j["status"] != "canceled" || j["canceled_reason"] != "enough" {
		t.Fatalf("job get --json: %v %s", err, r.stdout)
	}
	r = cli("job", "cancel", id)
	if r.code != 1 || !strings.Contains(r.stderr, "already completed") {
		t.Fatalf("second cancel: exit %d %q", r.code, r.stderr)
	}
	r = cli("job", "get", "nope")
	if r.code != 1 || r.stderr != "runlet: job not found: nope\n" {
		t.Fatalf("missing job: exit %d %q", r.code, r.stderr)
	}
}

func TestVariablesAndResources(t *testing.T) {
	t.Parallel()
	srv, cli := fake(t, nil)
	r := cli("variable", "set", "u/admin/key", "s3cret", "--secret", "--description", "API key")
	if r.code != 0 || r.stdout != "created variable u/admin/key\n" {
		t.Fatalf("set: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = cli("variable", "set", "u/admin/key", "n3w")
	if r.code != 0 || r.stdout != "updated variable u/admin/key\n" {
		t.Fatalf("second set: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// The update changed the value only: still secret, same description.
	if req := lastRequest(t, srv, "/variables/update/u/admin/key"); string(req.Body) != `{"value":"n3w"}` {
		t.Fatalf("update body = %s", req.Body)
	}
	if v, _ := srv.Variable("u/admin/key"); v != (clienttest.Variable{Path: "u/admin/key", Value: "n3w", IsSecret: true, Description: "API key"}) {
		t.Fatalf("variable = %+v", v)
	}
	r = runletIn(t, t.TempDir(), "from stdin\n", nil, "variable", "set", "f/x/plain", "-", "--url", srv.URL, "--token", testToken)
	wantExit(t, r, 0)
	r = cli("variable", "get", "f/x/plain")
	if r.code != 0 || r.stdout != "from stdin\n" {
		t.Fatalf("get: exit %d %q", r.code, r.stdout)
	}
	r = cli("variable", "list")
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "(secret)") || strings.Contains(r.stdout, "n3w") || !strings.Contains(r.stdout, "from stdin") {
		t.Fatalf("variable list:\n%s", r.stdout)
	}
	r = cli("variable", "list", "--json")
	var vars []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &vars); err != nil || len(vars) != 2 {
		t.Fatalf("variable list --json: %v %s", err, r.stdout)
	}

	dir := writeFiles(t, map[string]string{"db.json": `{"host": "db", "port": 5432}`})
	r = cli("resource", "set", "f/db/main", "--type", "postgresql", "--file", filepath.Join(dir, "db.json"), "--description", "main db")
	if r.code != 0 || r.stdout != "set resource f/db/main\n" {
		t.Fatalf("resource set: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if req := lastRequest(t, srv, "/resources/create"); req.Query != "update_if_exists=true" ||
		string(req.Body) != `{"path":"f/db/main","resource_type":"postgresql","value":{"host":"db","port":5432},"description":"main db"}` {
		t.Fatalf("resource request = %q %s", req.Query, req.Body)
	}
	wantExit(t, cli("resource", "set", "f/db/main", "--type", "postgresql", "--value", `{"host":"db2"}`), 0)
	r = cli("resource", "get", "f/db/main")
	if r.code != 0 || r.stdout != "{\n  \"host\": \"db2\"\n}\n" {
		t.Fatalf("resource get: exit %d %q", r.code, r.stdout)
	}
	r = cli("resource", "list")
	if r.code != 0 || !regexp.MustCompile(`(?m)^f/db/main\s+postgresql\s+-$`).MatchString(r.stdout) {
		t.Fatalf("resource list: exit %d\n%s", r.code, r.stdout)
	}
}

func TestTokenSources(t *testing.T) {
	t.Parallel()
	srv := clienttest.New(t, clienttest.Config{Token: "from-file"})
	withFile := writeFiles(t, map[string]string{"runlet-data/admin.token": "from-file\n"})

	// No --token, no RUNLET_TOKEN: ./runlet-data/admin.token, read in the
	// working directory.
	r := runletIn(t, withFile, "", []string{"RUNLET_URL=" + srv.URL}, "variable", "list")
	wantExit(t, r, 0)
	if req := lastRequest(t, srv, "/variables/list"); req.Header.Get("Authorization") != "Bearer from-file" {
		t.Fatalf("Authorization = %q", req.Header.Get("Authorization"))
	}
	// RUNLET_TOKEN wins over the file, --token over both.
	r = runletIn(t, withFile, "", []string{"RUNLET_URL=" + srv.URL, "RUNLET_TOKEN=from-env"}, "variable", "list")
	if r.code != 1 || r.stderr != "runlet: missing or invalid token\n" {
		t.Fatalf("RUNLET_TOKEN: exit %d %q", r.code, r.stderr)
	}
	r = runletIn(t, withFile, "", []string{"RUNLET_URL=" + srv.URL, "RUNLET_TOKEN=from-env"}, "variable", "list", "--token", "from-file")
	wantExit(t, r, 0)
	// No token anywhere: the error says where one comes from.
	r = runletIn(t, t.TempDir(), "", []string{"RUNLET_URL=" + srv.URL}, "variable", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "no token") || !strings.Contains(r.stderr, "runlet-data/admin.token") {
		t.Fatalf("no token: exit %d %q", r.code, r.stderr)
	}
	if req := lastRequest(t, srv, "/variables/list"); req.Header.Get("Authorization") != "" {
		t.Fatalf("Authorization = %q", req.Header.Get("Authorization"))
	}
	// RUNLET_WORKSPACE picks the workspace.
	r = runletIn(t, withFile, "", []string{"RUNLET_URL=" + srv.URL, "RUNLET_WORKSPACE=team"}, "variable", "list")
	if r.code != 1 || lastRequest(t, srv, "/variables/list").Path != "/api/w/team/variables/list" {
		t.Fatalf("RUNLET_WORKSPACE: exit %d %q", r.code, r.stderr)
	}
	// A server that is not there: one line naming it.
	r = runletIn(t, withFile, "", nil, "job", "list", "--url", "http://127.0.0.1:9")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "runlet: cannot reach the runlet server at http://127.0.0.1:9") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("closed port: exit %d %q", r.code, r.stderr)
	}
}
