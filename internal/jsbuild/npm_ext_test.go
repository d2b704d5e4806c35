package jsbuild_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/runlet/runlet/internal/jsbuild"
	"github.com/runlet/runlet/internal/npm"
	"github.com/runlet/runlet/internal/npm/npmtest"
)

// registry publishes the packages the tests below import.
func registry(t testing.TB) *npmtest.Registry {
	t.Helper()
	return npmtest.New(t,
		// CommonJS, with an ESM dependency.
		npmtest.Package{Name: "greet", Version: "1.0.0", Main: "index.js", Dependencies: map[string]string{"shout": "^1.0.0"},
			Files: map[string]string{"index.js": `const shout = require("shout");
module.exports = function greet(n) { return shout.default("hello " + n); };
`}},
		npmtest.Package{Name: "shout", Version: "1.0.0", Main: "cjs.js", Module: "esm.js",
			Files: map[string]string{"esm.js": "export default function shout(s) { return s.toUpperCase() + \"!\"; }\n", "cjs.js": "module.exports = 'CJS SHOUT';\n"}},
		// Two majors: npm:multi@1 must take the highest 1.x.
		npmtest.Package{Name: "multi", Version: "1.0.0", Files: map[string]string{"index.js": `export const v = "multi 1.0.0";`, "sub.js": `export const sub = "sub 1.0.0";`}},
		npmtest.Package{Name: "multi", Version: "1.4.0", Files: map[string]string{"index.js": `export const v = "multi 1.4.0";`, "sub.js": `export const sub = "sub 1.4.0";`}},
		npmtest.Package{Name: "multi", Version: "2.0.0", Files: map[string]string{"index.js": `export const v = "multi 2.0.0";`}},
		// Scoped.
		npmtest.Package{Name: "@acme/tool", Version: "3.1.0", Files: map[string]string{"index.js": `export const tool = "acme tool";`}},
		// Conditional exports, in an order where the wrong conditions come first.
		npmtest.Package{Name: "cond", Version: "1.0.0",
			Exports: json.RawMessage(`{".":{"node":"./node.js","browser":"./browser.js","import":"./esm.mjs","require":"./cjs.cjs","default":"./default.js"},
				"./feature":{"node":"./node.js","module":"./feature.mjs","default":"./default.js"}}`),
			Files: map[string]string{"node.js": `export const which = "cond node";`, "browser.js": `export const which = "cond browser";`,
				"esm.mjs": `export const which = "cond import";`, "cjs.cjs": `exports.which = "cond require";`, "default.js": `export const which = "cond default";`,
				"feature.mjs": `export const feature = "feature module";`}},
		// Needs Node.
		npmtest.Package{Name: "fsuser", Version: "2.0.0", Files: map[string]string{"index.js": `const fs = require("fs");
module.exports = () => fs.readFileSync("/etc/passwd", "utf8");
`}},
		npmtest.Package{Name: "wraps-fsuser", Version: "1.0.0", Dependencies: map[string]string{"fsuser": "2"},
			Files: map[string]string{"index.js": `export { default } from "fsuser";`}},
		npmtest.Package{Name: "nodeproc", Version: "1.0.0", Files: map[string]string{"index.js": `import { spawn } from "node:child_process"; export { spawn };`}},
		npmtest.Package{Name: "oldnode", Version: "1.0.0", Files: map[string]string{"index.js": `module.exports = require("_http_agent");`}},
		// Declares the npm "events" polyfill, which is then not Node's events.
		npmtest.Package{Name: "emitter-user", Version: "1.0.0", Dependencies: map[string]string{"events": "^3"},
			Files: map[string]string{"index.js": `import E from "events"; export const kind = E.kind;`}},
		npmtest.Package{Name: "events", Version: "3.3.0", Files: map[string]string{"index.js": `module.exports = { kind: "events polyfill" };`}},
		// Imports what it does not declare.
		npmtest.Package{Name: "sloppy", Version: "1.0.0", Files: map[string]string{"index.js": `import x from "undeclared"; export default x;`}},
		npmtest.Package{Name: "prober", Version: "1.0.0", Files: map[string]string{"index.js": `let x = null; try { x = require("maybe-there"); } catch (e) {} module.exports = x;`}},
		// Reaches out of its directory.
		npmtest.Package{Name: "escaper", Version: "1.0.0", Files: map[string]string{"index.js": `export { default } from "../../../../../secret.js";`}},
		// Throws, for source maps.
		npmtest.Package{Name: "thrower", Version: "1.0.0", Files: map[string]string{"index.js": `// line 1
// line 2
export function boom() {
  throw new Error("thrown in the package"); // line 4
}
`}},
	)
}

func build(t testing.TB, reg *npmtest.Registry, cache string, lock *npm.Lock, src string) (*jsbuild.Output, error) {
	t.Helper()
	return jsbuild.BuildWith(context.Background(), "f/ops/script.ts", []byte(src), jsbuild.Options{
		NPM:  &npm.Resolver{Registry: reg.URL, CacheDir: cache},
		Lock: lock,
	})
}

func TestBuildNPM(t *testing.T) {
	t.Parallel()
	reg := registry(t)
	src := `import greet from "greet";
import { v } from "npm:multi@1";
import { sub } from "npm:multi@1/sub";
import { tool } from "@acme/tool";
import { which } from "cond";
import { feature } from "cond/feature";
import { getState } from "windmill-client";

export async function main(name: string): Promise<string> {
  return [greet(name), v, sub, tool, which, feature, typeof getState].join(" | ");
}
`
	out, err := build(t, reg, t.TempDir(), nil, src)
	if err != nil {
		t.Fatal(err)
	}
	code := string(out.Code)
	for _, want := range []string{`from "windmill-client"`, `"multi 1.4.0"`, `"sub 1.4.0"`, `"acme tool"`, `"cond import"`, `"feature module"`, `.toUpperCase() + "!"`, `"hello " + n`} {
		if !strings.Contains(code, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	for _, bad := range []string{"multi 2.0.0", "multi 1.0.0", "cond node", "cond browser", "cond require", "cond default", "CJS SHOUT"} {
		if strings.Contains(code, bad) {
			t.Errorf("output holds %q", bad)
		}
	}
	if strings.Contains(code, "import ") && strings.Count(code, "import ") != 1 {
		t.Errorf("only the provided import may remain:\n%s", code)
	}
	want := map[string]string{"greet": "greet@1.0.0", "multi@1": "multi@1.4.0", "@acme/tool": "@acme/tool@3.1.0", "cond": "cond@1.0.0"}
	if out.Lock == nil || len(out.Lock.Roots) != len(want) {
		t.Fatalf("lock = %+v", out.Lock)
	}
	for k, v := range want {
		if out.Lock.Roots[k] != v {
			t.Errorf("lock root %s = %s, want %s", k, out.Lock.Roots[k], v)
		}
	}
	if out.Lock.Packages["greet@1.0.0"].Dependencies["shout"] != "shout@1.0.0" {
		t.Errorf("greet's dependencies: %+v", out.Lock.Packages["greet@1.0.0"])
	}
}

func TestBuildNPMErrors(t *testing.T) {
	t.Parallel()
	reg := registry(t)
	cache := t.TempDir()
	os.WriteFile(filepath.Join(cache, "secret.js"), []byte(`export default "secret";`), 0o644)
	tests := []struct {
		name, src string
		want      []string
		is        error
	}{
		{name: "package imports fs", src: `import f from "fsuser"; export const main = f;`,
			want: []string{`fsuser@2.0.0/index.js:1:`, `package fsuser@2.0.0 imports Node built-in module "fs"`}},
		{name: "dependency imports fs", src: `import f from "wraps-fsuser"; export const main = f;`,
			want: []string{`package fsuser@2.0.0 imports Node built-in module "fs"`}},
		{name: "package imports node:child_process", src: `import { spawn } from "nodeproc"; export const main = spawn;`,
			want: []string{`package nodeproc@1.0.0 imports Node built-in module "node:child_process"`}},
		{name: "package imports _http_agent", src: `import a from "oldnode"; export const main = a;`,
			want: []string{`package oldnode@1.0.0 imports Node built-in module "_http_agent"`}},
		{name: "script imports fs", src: "// hi\nimport { readFileSync } from \"fs\";\nexport const main = readFileSync;",
			want: []string{`f/ops/script.ts:2:30: Node built-in module "fs" is not available`, `"npm:fs"`}},
		{name: "script imports node:path", src: `import p from "node:path"; export const main = p;`,
			want: []string{`Node built-in module "node:path" is not available`}},
		{name: "unknown package", src: `import x from "no-such-package"; export const main = x;`, is: npm.ErrNotFound,
			want: []string{`f/ops/script.ts: npm: import "no-such-package": package not found in registry http://127.0.0.1:`}},
		{name: "no matching version", src: `import x from "npm:multi@^7"; export const main = x;`, is: npm.ErrNoVersion,
			want: []string{`import "npm:multi@^7"`, `no version matches "^7"`}},
		{name: "bare import with version", src: `import x from "multi@1"; export const main = x;`,
			want: []string{`f/ops/script.ts:1:15:`, `a version belongs in an npm: import`}},
		{name: "undeclared dependency", src: `import x from "sloppy"; export const main = x;`,
			want: []string{`sloppy@1.0.0/index.js:1:15: package sloppy@1.0.0 imports "undeclared", which is not among its dependencies`}},
		{name: "relative import out of the package", src: `import x from "escaper"; export const main = x;`,
			want: []string{`escaper@1.0.0/index.js:1:`, `outside the npm packages`}},
		{name: "missing subpath", src: `import x from "multi/nope"; export const main = x;`,
			want: []string{`f/ops/script.ts:1:15: Could not resolve "multi/nope" (package multi@2.0.0 has no such file or export)`}},
		{name: "not exported", src: `import x from "cond/feature.mjs"; export const main = x;`,
			want: []string{`Could not resolve "cond/feature.mjs" (package cond@1.0.0 has no such file or export)`}},
		{name: "relative import of the script", src: `import x from "./x"; export const main = x;`,
			want: []string{`Could not resolve "./x" (a script is a single file`}},
		{name: "absolute import of the script", src: `import x from "/etc/passwd"; export const main = x;`,
			want: []string{`Could not resolve "/etc/passwd"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := build(t, reg, cache, nil, tt.src)
			var e *jsbuild.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want a *jsbuild.Error", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error is not %v", tt.is)
			}
			if strings.Contains(err.Error(), cache) {
				t.Errorf("error shows the cache path:\n%s", err)
			}
		})
	}
}

func TestBuildNPMPolyfillsAndProbes(t *testing.T) {
	t.Parallel()
	reg := registry(t)
	out, err := build(t, reg, t.TempDir(), nil, `import { kind } from "emitter-user";
import probed from "prober";
export const main = () => [kind, probed];`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out.Code), `"events polyfill"`) {
		t.Errorf("the declared events package was not bundled:\n%s", out.Code)
	}
	// An undeclared require() is left for run time (it sits in a try).
	if !strings.Contains(string(out.Code), `"maybe-there"`) {
		t.Errorf("the probe is gone:\n%s", out.Code)
	}
}

func TestBuildNPMLockOffline(t *testing.T) {
	t.Parallel()
	reg := registry(t)
	cache := t.TempDir()
	src := `import greet from "greet"; export const main = () => greet("x");`
	first, err := build(t, reg, cache, nil, src)
	if err != nil {
		t.Fatal(err)
	}
	// The caller stores the lock as JSON and passes it back.
	b, _ := json.Marshal(first.Lock)
	var lock npm.Lock
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	reg.Close()
	again, err := build(t, reg, cache, &lock, src)
	if err != nil {
		t.Fatalf("build with the lock and a warm cache, registry down: %v", err)
	}
	if string(again.Code) != string(first.Code) {
		t.Fatal("the locked rebuild differs")
	}
	if _, err := build(t, reg, cache, nil, src); err == nil {
		t.Fatal("without the lock the registry is needed, and it is down")
	}
}

func TestBuildNPMWithoutImports(t *testing.T) {
	t.Parallel()
	reg := registry(t)
	out, err := build(t, reg, t.TempDir(), nil, `import { getState } from "runlet"; export const main = () => getState();`)
	if err != nil {
		t.Fatal(err)
	}
	if out.Lock != nil || reg.Requests() != 0 {
		t.Fatalf("lock %+v, %d registry requests; want none", out.Lock, reg.Requests())
	}
	if !strings.Contains(string(out.Code), `from "runlet"`) {
		t.Fatalf("code:\n%s", out.Code)
	}
}

// TestBuildWithoutResolver: Build keeps refusing npm imports.
func TestBuildWithoutResolver(t *testing.T) {
	t.Parallel()
	for _, src := range []string{`import x from "npm:lodash@4"; export const main = x;`, `import fs from "fs"; export const main = fs;`} {
		_, err := jsbuild.Build("a.js", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "npm and relative imports are not supported yet") {
			t.Fatalf("err = %v", err)
		}
	}
}

func TestBuildNPMSourceMap(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"f/ops/script.ts", "/abs/path/script.ts"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testSourceMap(t, name)
		})
	}
}

func testSourceMap(t *testing.T, filename string) {
	reg := registry(t)
	src := `import { boom } from "thrower";
import greet from "greet";

export function main(): string {
  if (greet("x") === "") {
    throw new Error("user error"); // line 6
  }
  return boom(); // line 8
}
`
	out, err := jsbuild.BuildWith(context.Background(), filename, []byte(src), jsbuild.Options{NPM: &npm.Resolver{Registry: reg.URL, CacheDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	lineOf := func(needle string) int {
		for i, l := range strings.Split(string(out.Code), "\n") {
			if strings.Contains(l, needle) {
				return i + 1
			}
		}
		t.Fatalf("no %q in:\n%s", needle, out.Code)
		return 0
	}
	userThrow, pkgThrow, userCall := lineOf(`throw new Error("user error")`), lineOf(`throw new Error("thrown in the package")`), lineOf("return boom()")
	if got := out.Map.Line(userThrow); got != 6 {
		t.Errorf("user throw maps to line %d, want 6", got)
	}
	if got := out.Map.Line(pkgThrow); got != 0 {
		t.Errorf("a package line maps to user line %d", got)
	}
	stack := "Error: thrown in the package\n    at boom (<script>:" + strconv.Itoa(pkgThrow) + ")\n    at main (<script>:" + strconv.Itoa(userCall) + ")\n    at <eval> (<script>:99999)"
	want := "Error: thrown in the package\n    at boom (thrower@1.0.0/index.js:4)\n    at main (" + filename + ":8)\n    at <eval> (<script>:99999)"
	if got := out.Map.MapStack(stack, filename); got != want {
		t.Errorf("mapped stack:\n%s\nwant:\n%s", got, want)
	}
}

// TestBuildNPMFilesStayInPackages: whatever path a package imports,
// esbuild loads only files of the locked packages; package.json "imports"
// (#internal) still work.
func TestBuildNPMFilesStayInPackages(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	secret := filepath.Join(cache, "secret.js")
	os.WriteFile(secret, []byte(`export default "secret";`), 0o644)
	reg := npmtest.New(t,
		npmtest.Package{Name: "abs", Version: "1.0.0", Files: map[string]string{"index.js": `export { default } from ` + strconv.Quote(secret) + `;`}},
		npmtest.Package{Name: "hash", Version: "1.0.0", Files: map[string]string{
			"package.json":    `{"name":"hash","version":"1.0.0","main":"index.js","imports":{"#internal":"./lib/internal.js","#out":"../../../../../secret.js"}}`,
			"index.js":        `export { v } from "#internal";`,
			"lib/internal.js": `export const v = "internal ok";`,
			"out.js":          `export { default } from "#out";`,
		}},
	)
	if _, err := build(t, reg, cache, nil, `import s from "abs"; export const main = s;`); err == nil || !strings.Contains(err.Error(), "abs@1.0.0/index.js:1:") || !strings.Contains(err.Error(), "outside the npm packages") {
		t.Fatalf("absolute import: %v", err)
	}
	out, err := build(t, reg, cache, nil, `import { v } from "hash"; export const main = v;`)
	if err != nil || !strings.Contains(string(out.Code), "internal ok") {
		t.Fatalf("#imports: %v", err)
	}
	if _, err := build(t, reg, cache, nil, `import s from "hash/out.js"; export const main = s;`); err == nil || !strings.Contains(err.Error(), `hash@1.0.0/out.js:1:25: Could not resolve "#out"`) {
		t.Fatalf("#imports out of the package: %v", err)
	}
}
