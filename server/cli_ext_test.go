package server_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIAgainstServer drives a real `runlet serve` child process with the
// real CLI: push, run sync and async, job list/get/logs, variables,
// resources, backup and restore.
func TestCLIAgainstServer(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, dir, addr)
	work := t.TempDir()
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "RUNLET_URL="+p.url, "RUNLET_TOKEN="+p.token, "RUNLET_CACHE_DIR="+cacheDir)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	must := func(args ...string) string {
		t.Helper()
		out, errs, code := cli(args...)
		if code != 0 {
			t.Fatalf("runlet %s: exit %d\nstdout %s\nstderr %s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	script := filepath.Join(work, "hello.ts")
	os.WriteFile(script, []byte(`import * as wmill from "windmill-client";
export async function main(name: string, times: number = 1) {
  if (name === "boom") throw new Error("boom requested");
  console.log("hello", name, await wmill.getVariable("f/demo/greeting"));
  return ("hello " + name + " ").repeat(times).trim();
}`), 0o644)
	os.WriteFile(filepath.Join(work, "hello.script.yaml"), []byte("summary: Says hello\ntimeout: 30\n"), 0o644)
	must("variable", "set", "f/demo/greeting", "howdy")
	if out := must("script", "push", script, "f/demo/hello"); !strings.Contains(out, "f/demo/hello") {
		t.Fatalf("push: %q", out)
	}
	if out := must("script", "list"); !strings.Contains(out, "f/demo/hello") || !strings.Contains(out, "Says hello") {
		t.Fatalf("list: %q", out)
	}
	if out := must("script", "run", "f/demo/hello", "--arg", "name=ops", "--arg", "times=2"); strings.TrimSpace(out) != `"hello ops hello ops"` {
		t.Fatalf("run: %q", out)
	}
	out, _, code := cli("script", "run", "f/demo/hello", "--arg", "name=boom")
	if code != 1 || !strings.Contains(out, "boom requested") {
		t.Fatalf("failing run: exit %d %q", code, out)
	}
	id := strings.TrimSpace(must("script", "run", "f/demo/hello", "--args", `{"name":"async"}`, "--async"))
	if len(id) != 36 {
		t.Fatalf("async id %q", id)
	}
	if out := must("job", "logs", id, "--follow"); !strings.Contains(out, "hello async howdy") {
		t.Fatalf("logs: %q", out)
	}
	if out := must("job", "get", id, "--json"); !strings.Contains(out, `"success": true`) && !strings.Contains(out, `"success":true`) {
		t.Fatalf("get: %q", out)
	}
	if out := must("job", "list"); !strings.Contains(out, id) || !strings.Contains(out, "f/demo/hello") {
		t.Fatalf("job list: %q", out)
	}
	must("resource", "set", "f/demo/db", "--type", "postgresql", "--value", `{"host":"db"}`)
	if out := must("resource", "get", "f/demo/db"); !strings.Contains(out, `"host"`) {
		t.Fatalf("resource get: %q", out)
	}
	// Rotating the secrets key keeps secrets readable.
	must("variable", "set", "f/demo/token", "tok-123", "--secret")
	must("key", "rotate")
	if out := must("variable", "get", "f/demo/token"); strings.TrimSpace(out) != "tok-123" {
		t.Fatalf("secret after key rotation: %q", out)
	}
	// Users and tokens.
	must("user", "add", "ci", "--role", "operator")
	if out := must("user", "list"); !strings.Contains(out, "ci") || !strings.Contains(out, "operator") {
		t.Fatalf("user list: %q", out)
	}
	hook := strings.TrimSpace(must("token", "create", "--service", "--scope", "jobs:run:scripts:f/demo/*", "--expires", "30d", "--label", "ci hook"))
	if !strings.HasPrefix(hook, "rl_") {
		t.Fatalf("token create printed %q", hook)
	}
	if out := must("token", "list"); !strings.Contains(out, hook[:10]) || strings.Contains(out, hook) || !strings.Contains(out, "jobs:run:scripts:f/demo/*") {
		t.Fatalf("token list: %q", out)
	}
	withHook := func(args ...string) (string, int) {
		cmd := exec.Command(binary, append(args, "--token", hook)...)
		cmd.Env = append(os.Environ(), "RUNLET_URL="+p.url, "RUNLET_CACHE_DIR="+cacheDir)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	if out, code := withHook("script", "run", "f/demo/hello", "--args", `{"name":"hook"}`, "--async"); code != 0 {
		t.Fatalf("scoped token run: %d %s", code, out)
	}
	if out, code := withHook("variable", "list"); code == 0 || !strings.Contains(out, "not allow") {
		t.Fatalf("scoped token listing variables: %d %s", code, out)
	}
	must("token", "revoke", hook[:10])
	if _, code := withHook("script", "run", "f/demo/hello", "--args", `{"name":"hook"}`, "--async"); code == 0 {
		t.Fatal("a revoked token still runs scripts")
	}
	must("user", "set-role", "ci", "developer")
	must("user", "remove", "ci")
	// Backup from the running server, restore into a fresh data dir, serve it.
	backup := filepath.Join(work, "runlet.backup")
	must("backup", backup)
	restored := t.TempDir()
	data, _ := os.ReadFile(filepath.Join(dir, "secret.key"))
	os.WriteFile(filepath.Join(restored, "secret.key"), data, 0o600)
	os.WriteFile(filepath.Join(restored, "admin.token"), []byte(p.token), 0o600)
	must("restore", backup, "--data", restored)
	if _, errs, code := cli("restore", backup, "--data", restored); code == 0 {
		t.Fatalf("restoring into a non-empty store must fail: %s", errs)
	}
	p2 := startProc(t, restored, freeAddr(t))
	cmd := exec.Command(binary, "script", "run", "f/demo/hello", "--arg", "name=again", "--url", p2.url, "--token", p.token)
	cmd.Env = append(os.Environ(), "RUNLET_CACHE_DIR="+cacheDir)
	res, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(res)) != `"hello again"` {
		t.Fatalf("restored server: %v %s", err, res)
	}
}
