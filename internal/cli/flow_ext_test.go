package cli_test

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The flow commands run as the real binary against a real `runlet serve`
// child process: what they print depends on the server's parser and
// orchestrator.

// serve starts `runlet serve` on a free port with data in a temp dir and
// returns the environment that points the CLI at it.
func serve(t *testing.T) []string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(binary, "serve", "--data", dir, "--addr", addr, "--workers", "2", "--grace", "2s")
	cmd.Env = append(os.Environ(), "RUNLET_CACHE_DIR="+cacheDir, "RUNLET_NPM_REGISTRY=http://127.0.0.1:9")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	url := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; {
		if res, err := http.Get(url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return []string{"RUNLET_URL=" + url, "RUNLET_TOKEN=" + strings.TrimSpace(string(tok))}
}

const doubleFlowJSON = `{
  "summary": "doubles n",
  "value": {"modules": [{"id": "a", "value": {"type": "rawscript", "language": "typescript",
    "content": "export function main(x: number) { return x * 2 }",
    "input_transforms": {"x": {"type": "javascript", "expr": "flow_input.n"}}}}]},
  "schema": {"type": "object", "properties": {"n": {"type": "number"}}}
}`

// squaresFlowYAML: 1..n, squared in a loop, then a branch on n. The
// unknown field colour is a warning.
const squaresFlowYAML = `summary: squares 1..n
value:
  modules:
    - id: a
      value:
        type: rawscript
        language: typescript
        content: "export function main(n: number) { return Array.from({ length: n }, (_, i) => i + 1) }"
        input_transforms:
          n: {type: javascript, expr: flow_input.n}
    - id: loop
      value:
        type: forloopflow
        iterator: {type: javascript, expr: results.a}
        modules:
          - id: sq
            value:
              type: rawscript
              language: typescript
              content: "export function main(x: number) { return x * x }"
              input_transforms:
                x: {type: javascript, expr: flow_input.iter.value}
    - id: br
      colour: blue
      value:
        type: branchone
        branches:
          - expr: flow_input.n > 2
            modules:
              - id: big
                value: {type: identity}
        default:
          - id: small
            value: {type: identity}
schema:
  type: object
  properties:
    n: {type: number}
`

const boomFlowJSON = `{"summary": "fails", "value": {"modules": [{"id": "a", "value": {"type": "rawscript", "language": "typescript",
  "content": "export function main() { throw new Error(\"boom requested\") }"}}]}}`

func TestFlowCommands(t *testing.T) {
	t.Parallel()
	env := serve(t)
	work := writeFiles(t, map[string]string{
		"double.json":  doubleFlowJSON,
		"double2.json": strings.Replace(doubleFlowJSON, `"doubles n"`, `"doubles n, again"`, 1),
		"squares.yaml": squaresFlowYAML,
		"boom.json":    boomFlowJSON,
		"bad.json":     strings.Replace(doubleFlowJSON, `"language": "typescript"`, `"language": "cobol"`, 1),
		"bad.yaml":     strings.Replace(squaresFlowYAML, "        iterator: {type: javascript, expr: results.a}\n", "", 1),
		"broken.yaml":  "value: [\n",
		"empty.json":   "",
	})
	cli := func(args ...string) result {
		t.Helper()
		return runletIn(t, work, "", env, args...)
	}
	must := func(args ...string) result {
		t.Helper()
		r := cli(args...)
		wantExit(t, r, 0)
		return r
	}

	// Push: JSON, a new version, YAML with a warning.
	if r := must("flow", "push", "double.json", "f/flows/double"); r.stdout != "pushed f/flows/double version 1\n" || r.stderr != "" {
		t.Fatalf("push: %q %q", r.stdout, r.stderr)
	}
	if r := must("flow", "push", "double2.json", "f/flows/double"); r.stdout != "pushed f/flows/double version 2\n" {
		t.Fatalf("push a new version: %q", r.stdout)
	}
	r := must("flow", "push", "squares.yaml", "f/flows/squares")
	if r.stdout != "pushed f/flows/squares version 1\n" || r.stderr != "warning: module \"br\": unknown field \"colour\" (ignored)\n" {
		t.Fatalf("push YAML: %q %q", r.stdout, r.stderr)
	}
	if r := must("flow", "push", "squares.yaml", "f/flows/squares"); r.stdout != "pushed f/flows/squares version 1\n" {
		t.Fatalf("push unchanged: %q", r.stdout)
	}
	must("flow", "push", "boom.json", "f/flows/boom")

	// Run: the result, typed --arg, --args, a failure, --async.
	if r := must("flow", "run", "f/flows/double", "--arg", "n=21"); r.stdout != "42\n" {
		t.Fatalf("run: %q", r.stdout)
	}
	if r := must("flow", "run", "f/flows/squares", "--args", `{"n":3}`); r.stdout != "[1,4,9]\n" {
		t.Fatalf("run squares: %q", r.stdout)
	}
	r = cli("flow", "run", "f/flows/boom")
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, "boom requested") {
		t.Fatalf("failing run: %q %q", r.stdout, r.stderr)
	}
	r = cli("flow", "run", "f/flows/double", "--arg", "n=many")
	wantExit(t, r, 2)
	id := strings.TrimSpace(must("flow", "run", "f/flows/squares", "--arg", "n=2", "--async").stdout)
	if len(id) != 36 {
		t.Fatalf("async id %q", id)
	}

	// Status: each module's type, status, job and iterations.
	var status string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status = must("flow", "status", id).stdout
		if strings.Contains(status, "status:  success") || time.Now().After(deadline) {
			break
		}
	}
	for _, re := range []string{
		`(?m)^job:     ` + id + `$`,
		`(?m)^status:  success$`,
		`(?m)^MODULE +TYPE +STATUS +JOB +ITERATIONS$`,
		`(?m)^a +rawscript +success +[0-9a-f-]{36} +-$`,
		`(?m)^loop +forloopflow +success +2 jobs +2$`,
		`(?m)^br +branchone +success +- +-$`,
	} {
		if !regexp.MustCompile(re).MatchString(status) {
			t.Fatalf("status does not match %s:\n%s", re, status)
		}
	}

	// Show: details and the module tree.
	r = must("flow", "show", "f/flows/squares")
	got := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`).ReplaceAllString(r.stdout, "TIME")
	golden := "testdata/flow_show.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("flow show differs from %s:\n%s", golden, got)
	}
	if r := must("flow", "show", "f/flows/double", "--version", "1"); !strings.Contains(r.stdout, "summary:  doubles n\n") || !strings.Contains(r.stdout, "  a  rawscript (typescript)\n") {
		t.Fatalf("show version 1:\n%s", r.stdout)
	}

	// List and history.
	r = must("flow", "list", "f/flows/")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[0], "PATH") ||
		!regexp.MustCompile(`^f/flows/double +2 `).MatchString(lines[2]) || !strings.Contains(lines[3], "squares 1..n") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	if r := must("flow", "list", "f/none/"); strings.TrimSpace(r.stdout) != "PATH  VERSION  EDITED  BY  SUMMARY" {
		t.Fatalf("empty list: %q", r.stdout)
	}
	r = must("flow", "history", "f/flows/double")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 ||
		!regexp.MustCompile(`^2 .* admin +doubles n, again$`).MatchString(lines[1]) || !regexp.MustCompile(`^1 .* admin +doubles n$`).MatchString(lines[2]) {
		t.Fatalf("history:\n%s", r.stdout)
	}

	// Invalid documents: usage errors naming the module and the field.
	for _, tt := range []struct{ file, want string }{
		{"bad.json", `module "a": value.language`},
		{"bad.yaml", `module "loop": value.iterator`},
		{"broken.yaml", "invalid YAML"},
		{"empty.json", "empty file"},
		{"missing.json", "no such file"},
	} {
		r := cli("flow", "push", tt.file, "f/flows/bad")
		wantExit(t, r, 2)
		if !strings.HasPrefix(r.stderr, "runlet flow push: ") || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
			t.Fatalf("push %s: stderr %q, want %q", tt.file, r.stderr, tt.want)
		}
	}
	r = cli("flow", "push", "double.json", "nowhere")
	wantExit(t, r, 2)
	r = cli("flow", "push", "double.json")
	wantExit(t, r, 2)

	// Unknown paths and jobs.
	for _, args := range [][]string{
		{"flow", "run", "f/flows/nope"},
		{"flow", "run", "f/flows/nope", "--async"},
		{"flow", "run", "f/flows/nope", "--arg", "n=1"},
		{"flow", "show", "f/flows/nope"},
		{"flow", "history", "f/flows/nope"},
		{"flow", "delete", "f/flows/nope"},
	} {
		r := cli(args...)
		wantExit(t, r, 1)
		if r.stderr != "runlet: no flow at \"f/flows/nope\"\n" {
			t.Fatalf("%v: stderr %q", args, r.stderr)
		}
	}
	r = cli("flow", "status", "0190a000-0000-7000-8000-000000000000")
	wantExit(t, r, 1)
	if !strings.Contains(r.stderr, "0190a000-0000-7000-8000-000000000000") {
		t.Fatalf("status of an unknown job: %q", r.stderr)
	}

	// Delete.
	if r := must("flow", "delete", "f/flows/double"); r.stdout != "deleted flow f/flows/double\n" {
		t.Fatalf("delete: %q", r.stdout)
	}
	wantExit(t, cli("flow", "show", "f/flows/double"), 1)
}
