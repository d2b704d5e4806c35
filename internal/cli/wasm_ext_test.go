package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	pluginOnce sync.Once
	pluginWasm []byte
	pluginErr  error
)

// plugin builds the runtime's Extism test plugin (written against the
// Extism ABI by hand) once and copies it into a new directory as
// plugin.wasm, with schema (if not empty) as plugin.schema.json.
func plugin(t *testing.T, schema string) string {
	t.Helper()
	pluginOnce.Do(func() {
		out := filepath.Join(cacheDir, "extism-plugin.wasm")
		build := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "../../runtime/testdata/extism")
		build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := build.CombinedOutput(); err != nil {
			pluginErr = fmt.Errorf("%v\n%s", err, b)
			return
		}
		pluginWasm, pluginErr = os.ReadFile(out)
	})
	if pluginErr != nil {
		t.Fatalf("build the Extism test plugin: %v", pluginErr)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plugin.wasm"), pluginWasm, 0o644); err != nil {
		t.Fatal(err)
	}
	if schema != "" {
		b, err := os.ReadFile(schema)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "plugin.schema.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "plugin.wasm")
}

func TestRunExtismPlugin(t *testing.T) {
	t.Parallel()
	wasm := plugin(t, "testdata/plugin.schema.json")
	r := runlet(t, "run", wasm, "--args", `{"name":"ops","times":2}`)
	if want := `{"args":{"name":"ops","times":2},"greeting":"hello ops"}` + "\n"; r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d\nstdout: %q, want %q\nstderr: %s", r.code, r.stdout, want, r.stderr)
	}
	// --args is checked against FILE.schema.json like a script's inferred schema.
	r = runlet(t, "run", wasm, "--args", `{"times":1}`)
	if r.code != 2 || !strings.Contains(r.stderr, `"name"`) {
		t.Fatalf("missing name: exit %d, stderr %q", r.code, r.stderr)
	}
	// Another export, its logs on stderr.
	r = runlet(t, "run", wasm, "--entry", "log", "--arg", "name=x")
	if r.code != 0 || r.stdout != `"logged"`+"\n" || !strings.Contains(r.stderr, "WARN  a warn line") {
		t.Fatalf("log: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = runlet(t, "run", wasm, "--entry", "fail", "--arg", "name=ops")
	if name, msg := errorName(t, r.stdout); r.code != 1 || name != "ScriptError" || msg != "no ops allowed" {
		t.Fatalf("fail: exit %d stdout %q", r.code, r.stdout)
	}
	r = runlet(t, "run", wasm, "--entry", "spin", "--arg", "name=x", "--timeout", "1s")
	if name, _ := errorName(t, r.stdout); r.code != 1 || name != "Timeout" {
		t.Fatalf("spin: exit %d stdout %q", r.code, r.stdout)
	}
	// Without a schema the arguments are an open object.
	bare := plugin(t, "")
	r = runlet(t, "run", bare, "--arg", "anything=[1]", "--arg", "name=x")
	if want := `{"args":{"anything":[1],"name":"x"},"greeting":"hello x"}` + "\n"; r.code != 0 || r.stdout != want {
		t.Fatalf("no schema: exit %d\nstdout: %q, want %q\nstderr: %s", r.code, r.stdout, want, r.stderr)
	}
	r = runlet(t, "run", "testdata/add.go", "--entry", "x")
	if r.code != 2 || !strings.Contains(r.stderr, "--entry") {
		t.Fatalf("--entry on a Go script: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestSchemaExtismPlugin(t *testing.T) {
	t.Parallel()
	r := runlet(t, "schema", plugin(t, "testdata/plugin.schema.json"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden := "testdata/plugin.schema.golden"
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
	r = runlet(t, "schema", plugin(t, ""))
	if want := "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n  \"type\": \"object\"\n}\n"; r.code != 0 || r.stdout != want {
		t.Fatalf("no schema file: exit %d stdout %q", r.code, r.stdout)
	}
}
