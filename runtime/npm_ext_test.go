package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/runlet/runlet/internal/jsbuild"
	"github.com/runlet/runlet/internal/npm"
	"github.com/runlet/runlet/internal/npm/npmtest"
	"github.com/runlet/runlet/plugins/quickjs"
	"github.com/runlet/runlet/runtime"
)

// TestNPMPackagesRunInQuickJS: a script importing npm packages (CommonJS
// requiring a scoped package with conditional exports, an "npm:" import
// with a range) is bundled from a fake registry and runs
// in the QuickJS plugin; an error thrown inside a package maps back to the
// package's file, one thrown by the script to the script's line.
func TestNPMPackagesRunInQuickJS(t *testing.T) {
	t.Parallel()
	reg := npmtest.New(t,
		npmtest.Package{Name: "left-pad", Version: "1.3.0", Main: "index.js", Dependencies: map[string]string{"@fmt/repeat": "^2"},
			Files: map[string]string{"index.js": `"use strict";
const { repeat } = require("@fmt/repeat");
module.exports = function leftPad(s, n, ch) {
  s = String(s);
  if (n < 0) throw new RangeError("negative width");
  return repeat(ch === undefined ? " " : String(ch), Math.max(0, n - s.length)) + s;
};
`}},
		npmtest.Package{Name: "@fmt/repeat", Version: "2.1.0",
			Exports: map[string]any{".": map[string]string{"import": "./esm.js", "default": "./cjs.js"}},
			Files: map[string]string{
				"esm.js": "export function repeat(s, n) { let out = \"\"; for (let i = 0; i < n; i++) out += s; return out; }\n",
				// left-pad's require() takes the "default" (CommonJS) condition.
				"cjs.js": "exports.repeat = (s, n) => s.repeat(n);\n",
			}},
		npmtest.Package{Name: "@fmt/repeat", Version: "3.0.0", Files: map[string]string{"index.js": "export const repeat = null;"}},
		npmtest.Package{Name: "stats", Version: "1.0.0", Files: map[string]string{"index.js": "export const sum = (xs) => xs.reduce((a, b) => a + b, 0);"}},
		npmtest.Package{Name: "stats", Version: "1.2.0", Files: map[string]string{"index.js": "export const sum = (xs) => xs.reduce((a, b) => a + b, 0);\nexport const mean = (xs) => sum(xs) / xs.length;"}},
		npmtest.Package{Name: "stats", Version: "2.0.0", Files: map[string]string{"index.js": "export const mean = () => { throw new Error('v2'); };"}},
	)
	src := `import leftPad from "left-pad";
import { mean } from "npm:stats@^1.1";

export function main(xs: number[], width: number): string {
  if (xs.length === 0) {
    throw new Error("no numbers");
  }
  return leftPad(mean(xs).toFixed(1), width, "0");
}
`
	out, err := jsbuild.BuildWith(context.Background(), "f/ops/pad.ts", []byte(src), jsbuild.Options{
		NPM: &npm.Resolver{Registry: reg.URL, CacheDir: t.TempDir()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Lock.Roots["stats@^1.1"] != "stats@1.2.0" || out.Lock.Packages["left-pad@1.3.0"].Dependencies["@fmt/repeat"] != "@fmt/repeat@2.1.0" {
		t.Fatalf("lock: %+v", out.Lock)
	}
	jsOnce.Do(func() { jsMod, jsErr = runtime.Prepare(cacheDir+"/modules", quickjs.Wasm) })
	if jsErr != nil {
		t.Fatal(jsErr)
	}
	e, _ := shared(t)
	run := func(args string) (*runtime.Result, error) {
		return e.Run(context.Background(), runtime.Job{Module: jsMod, Load: out.Code, Args: []byte(args)})
	}
	res, err := run(`{"args":[[1,2,4],8]}`)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Output) != `"000002.3"` {
		t.Fatalf("output = %s, want \"000002.3\"", res.Output)
	}

	// Errors point at the script's line, or at the package's file.
	tests := []struct{ args, msg, at string }{
		{`{"args":[[],3]}`, "no numbers", "f/ops/pad.ts:6"},
		{`{"args":[[1],-1]}`, "negative width", "left-pad@1.3.0/index.js:5"},
	}
	for _, tt := range tests {
		_, err := run(tt.args)
		var se *runtime.ScriptError
		if !errors.As(err, &se) || !strings.Contains(se.Message, tt.msg) {
			t.Fatalf("%s: err = %v, want a ScriptError %q", tt.args, err, tt.msg)
		}
		if mapped := out.Map.MapStack(se.Stack, "f/ops/pad.ts"); !strings.Contains(mapped, tt.at) {
			t.Fatalf("%s: mapped stack lacks %s:\n%s\n(raw:\n%s)", tt.args, tt.at, mapped, se.Stack)
		}
	}
}
