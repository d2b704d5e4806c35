package cli_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/runlet/runlet/internal/npm/npmtest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	binary   string
	cacheDir string
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "runlet-cli-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "runlet")
	cacheDir = filepath.Join(dir, "cache")
	build := exec.Command("go", "build", "-o", binary, "github.com/runlet/runlet/cmd/runlet")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build runlet:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// runlet runs the real binary. npm imports go to a closed port unless a
// test names its own registry: tests never reach the internet.
func runlet(t *testing.T, args ...string) result {
	t.Helper()
	return runletEnv(t, []string{"RUNLET_NPM_REGISTRY=http://127.0.0.1:9"}, args...)
}

// runletEnv runs the real binary with extra environment variables.
func runletEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(append(os.Environ(), "RUNLET_CACHE_DIR="+cacheDir), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func errorName(t *testing.T, stdout string) (string, string) {
	t.Helper()
	var d struct {
		Error struct{ Name, Message, Stack string }
	}
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("stdout is not an error document: %q", stdout)
	}
	return d.Error.Name, d.Error.Message
}

func TestRunSuccess(t *testing.T) {
	t.Parallel()
	r := runlet(t, "run", "testdata/add.go", "--arg", "a=3", "--arg", "b=0.5", "--arg", "label=x",
		"--arg", "when=2026-11-27T10:00:00Z", "--args", `{"tags":["t1"],"p":{"x":1}}`)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if want := `{"label":"x","p":{"x":1},"sum":3.5,"tags":["t1"],"year":2026}` + "\n"; r.stdout != want {
		t.Fatalf("stdout = %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "INFO  adding 3 0.5") {
		t.Fatalf("logs missing from stderr: %q", r.stderr)
	}
	if strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
		t.Fatalf("result is not one line: %q", r.stdout)
	}
}

func TestRunFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		code     int
		errName  string
		contains string
	}{
		{name: "script error", args: []string{"run", "testdata/add.go", "--arg", "a=1", "--arg", "b=1", "--arg", "label=fail", "--arg", "when=2026-01-01T00:00:00Z", "--args", `{"tags":[],"p":null}`}, code: 1, errName: "ScriptError", contains: `label \"fail\" is not allowed`},
		{name: "timeout", args: []string{"run", "testdata/spin.go", "--timeout", "1s"}, code: 1, errName: "Timeout"},
		{name: "build error", args: []string{"run", "testdata/broken.go"}, code: 1, errName: "BuildError", contains: "testdata/broken.go:4:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runlet(t, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			name, msg := errorName(t, r.stdout)
			if name != tt.errName || !strings.Contains(r.stdout, tt.contains) {
				t.Fatalf("error = %s %q, want %s containing %q", name, msg, tt.errName, tt.contains)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		contains string
	}{
		{"not an integer", []string{"run", "testdata/add.go", "--arg", "a=x"}, `parameter "a"`},
		{"missing parameter", []string{"run", "testdata/add.go", "--arg", "a=1"}, `"b"`},
		{"unknown parameter", []string{"run", "testdata/add.go", "--arg", "zzz=1"}, `unknown parameter "zzz"`},
		{"bad memory", []string{"run", "testdata/add.go", "--memory", "lots"}, "--memory"},
		{"memory too small", []string{"run", "testdata/add.go", "--memory", "1MiB"}, "max_memory"},
		{"bad args json", []string{"run", "testdata/add.go", "--args", "[1]"}, "--args"},
		{"no file", []string{"run"}, "usage"},
		{"missing file", []string{"run", "testdata/nope.go"}, "no such file"},
		{"unknown language", []string{"run", "testdata/x.rb"}, "unsupported language"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"bad flag", []string{"run", "testdata/add.go", "--nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runlet(t, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.contains) {
				t.Fatalf("exit %d, stderr %q; want exit 2 mentioning %q", r.code, r.stderr, tt.contains)
			}
		})
	}
}

func TestSchemaGolden(t *testing.T) {
	t.Parallel()
	r := runlet(t, "schema", "testdata/add.go")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden := "testdata/add.schema.golden"
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
		t.Fatalf("schema differs from %s:\n%s", golden, r.stdout)
	}
}

func TestWholeNumberForIntegerParameter(t *testing.T) {
	t.Parallel()
	r := runlet(t, "run", "testdata/add.go", "--args", `{"a":3.0,"b":1,"label":"x","when":"2026-01-01T00:00:00Z","tags":[],"p":null}`)
	if r.code != 0 || !strings.Contains(r.stdout, `"sum":4`) {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

func TestRunTypeScript(t *testing.T) {
	t.Parallel()
	r := runlet(t, "run", "testdata/hello.ts", "--arg", "name=ops", "--arg", "times=2", "--arg", `tone={"x":1}`)
	if r.code != 0 || r.stdout != `{"text":"[object Object] hello ops x2"}`+"\n" {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "INFO  greeting ops 2") {
		t.Fatalf("console.log missing from stderr: %q", r.stderr)
	}
	// Defaults apply to trailing absent arguments.
	r = runlet(t, "run", "testdata/hello.ts", "--arg", "name=x")
	if r.code != 0 || r.stdout != `{"text":"plain hello x x1"}`+"\n" {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	// A thrown error comes back with the user's line.
	r = runlet(t, "run", "testdata/hello.ts", "--arg", "name=boom")
	var d struct {
		Error struct{ Name, Message, Stack string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 1 {
		t.Fatalf("exit %d stdout %q", r.code, r.stdout)
	}
	if d.Error.Name != "ScriptError" || d.Error.Message != "no booms allowed" || !strings.Contains(d.Error.Stack, "testdata/hello.ts:10") {
		t.Fatalf("error = %+v", d.Error)
	}
	// An infinite JS loop is stopped at its deadline.
	r = runlet(t, "run", "testdata/spin.js", "--timeout", "1s")
	if name, _ := errorName(t, r.stdout); r.code != 1 || name != "Timeout" {
		t.Fatalf("spin.js: exit %d stdout %q", r.code, r.stdout)
	}
	// npm imports come from the registry (a fake one on 127.0.0.1); a
	// package that needs a Node built-in is refused at build time, naming
	// the module.
	reg := npmtest.New(t,
		npmtest.Package{Name: "left-pad", Version: "1.3.0", Files: map[string]string{
			"index.js": `module.exports = function leftPad(s, n) { s = String(s); while (s.length < n) s = " " + s; return s; };`}},
		npmtest.Package{Name: "reads-files", Version: "1.0.0", Files: map[string]string{
			"index.js": `import fs from "fs"; export default function () { return fs.readFileSync("/etc/passwd"); }`}},
	)
	env := []string{"RUNLET_NPM_REGISTRY=" + reg.URL}
	r = runletEnv(t, env, "run", "testdata/npm.js")
	if r.code != 0 || strings.TrimSpace(r.stdout) != `"    x"` {
		t.Fatalf("npm.js: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runletEnv(t, env, "run", "testdata/npm_builtin.js")
	if name, msg := errorName(t, r.stdout); r.code != 1 || name != "BuildError" || !strings.Contains(msg, `"fs"`) || !strings.Contains(msg, "reads-files") {
		t.Fatalf("npm_builtin.js: exit %d stdout %q", r.code, r.stdout)
	}
}
