package jsbuild_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/runlet/runlet/internal/jsbuild"
	"github.com/runlet/runlet/internal/npm"
	"github.com/runlet/runlet/internal/npm/npmtest"
)

// benchRegistry publishes a graph of 31 packages: app depends on 10 libs,
// each lib on 2 of 20 utils; each package has 5 files of about 2 KiB.
func benchRegistry(b *testing.B) *npmtest.Registry {
	b.Helper()
	files := func(name string, deps []string) map[string]string {
		fs := map[string]string{}
		var imports, uses []string
		for i, d := range deps {
			imports = append(imports, fmt.Sprintf("import d%d from %q;", i, d))
			uses = append(uses, fmt.Sprintf("d%d(x)", i))
		}
		body := strings.Repeat("// "+strings.Repeat("filler ", 9)+"\n", 30)
		for i := 1; i < 5; i++ {
			fs[fmt.Sprintf("lib/part%d.js", i)] = fmt.Sprintf("%sexport const part%d = (x) => x + %d;\n", body, i, i)
		}
		fs["index.js"] = fmt.Sprintf("%s\nimport { part1 } from \"./lib/part1.js\";\nimport { part2 } from \"./lib/part2.js\";\nimport { part3 } from \"./lib/part3.js\";\nimport { part4 } from \"./lib/part4.js\";\n%s\nexport default function %s(x) { return [part1(x), part2(x), part3(x), part4(x), %s].join(\",\"); }\n",
			strings.Join(imports, "\n"), body, strings.ReplaceAll(name, "-", "_"), strings.Join(append(uses, "0"), ", "))
		return fs
	}
	var pkgs []npmtest.Package
	for u := 0; u < 20; u++ {
		name := fmt.Sprintf("util-%d", u)
		pkgs = append(pkgs, npmtest.Package{Name: name, Version: "1.0.0", Files: files(name, nil)})
	}
	appDeps := map[string]string{}
	var appImports []string
	for l := 0; l < 10; l++ {
		name := fmt.Sprintf("lib-%d", l)
		u1, u2 := fmt.Sprintf("util-%d", 2*l), fmt.Sprintf("util-%d", 2*l+1)
		pkgs = append(pkgs, npmtest.Package{Name: name, Version: "1.0.0", Dependencies: map[string]string{u1: "^1", u2: "^1"}, Files: files(name, []string{u1, u2})})
		appDeps[name] = "^1"
		appImports = append(appImports, name)
	}
	pkgs = append(pkgs, npmtest.Package{Name: "app", Version: "1.0.0", Dependencies: appDeps, Files: files("app", appImports)})
	return npmtest.New(b, pkgs...)
}

const benchScript = `import app from "app";
export function main(x: number): string { return app(x); }
`

// BenchmarkNPMBundle: building a script that imports a 31-package graph
// from a local fake registry. cold: an empty cache each time (metadata,
// tarballs, integrity, unpacking, bundling); cached: a warm cache and the
// lock (no registry request, bundling only).
func BenchmarkNPMBundle(b *testing.B) {
	reg := benchRegistry(b)
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			dir, err := os.MkdirTemp("", "npm-bench-*")
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			out, err := jsbuild.BuildWith(context.Background(), "s.ts", []byte(benchScript), jsbuild.Options{NPM: &npm.Resolver{Registry: reg.URL, CacheDir: dir}})
			if err != nil || len(out.Lock.Packages) != 31 {
				b.Fatal(err)
			}
			b.StopTimer()
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})
	b.Run("cached", func(b *testing.B) {
		res := &npm.Resolver{Registry: reg.URL, CacheDir: b.TempDir()}
		first, err := jsbuild.BuildWith(context.Background(), "s.ts", []byte(benchScript), jsbuild.Options{NPM: res})
		if err != nil {
			b.Fatal(err)
		}
		before := reg.Requests()
		for b.Loop() {
			if _, err := jsbuild.BuildWith(context.Background(), "s.ts", []byte(benchScript), jsbuild.Options{NPM: res, Lock: first.Lock}); err != nil {
				b.Fatal(err)
			}
		}
		if reg.Requests() != before {
			b.Fatal("a cached, locked build asked the registry")
		}
		b.ReportMetric(float64(len(first.Code)), "bundle-bytes")
	})
}
