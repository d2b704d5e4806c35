package runtime

import (
	"context"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/runlet/runlet/host"
	"github.com/runlet/runlet/internal/jsbuild"
	"github.com/runlet/runlet/plugins/quickjs"
)

func jsProgram(b *testing.B) (wazero.Runtime, *program) {
	b.Helper()
	mod, err := Prepare(b.TempDir(), quickjs.Wasm)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rt := workerRuntime(b)
	wasm, _ := readFile(mod.Path)
	c, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	out, err := jsbuild.Build("s.ts", []byte(`export async function main(n: number): Promise<number> { return n * 2; }`))
	if err != nil {
		b.Fatal(err)
	}
	return rt, &program{compiled: c, limits: Limits{}.WithDefaults(), globals: mod.Globals, load: out.Code}
}

// BenchmarkJSInstanceMemory: resident memory per ready QuickJS instance
// with a script loaded, after one job each (target ≤ 4 MB).
func BenchmarkJSInstanceMemory(b *testing.B) {
	const n = 32
	rt, p := jsProgram(b)
	ctx := host.WithJob(context.Background(), &host.Job{Logs: host.NewLogs(1<<20, nil), MaxResult: 1 << 20})
	first, err := instantiate(ctx, rt, p, func(api.MutableGlobal) {}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	first.close(ctx)
	for range b.N {
		before := rssBytes(b)
		insts := make([]*instance, n)
		for i := range insts {
			if insts[i], err = instantiate(ctx, rt, p, func(api.MutableGlobal) {}, nil, nil); err != nil {
				b.Fatal(err)
			}
			if rc, err := insts[i].call(jobCtx(), []byte(`{"args":[21]}`)); err != nil || rc != 0 {
				b.Fatalf("call: %d %v", rc, err)
			}
		}
		after := rssBytes(b)
		b.ReportMetric(float64(after-before)/n/(1<<20), "RSS-MiB/instance")
		b.ReportMetric(float64(len(p.snap.image))/(1<<20), "image-MiB")
		for _, inst := range insts {
			inst.close(ctx)
		}
	}
}

// BenchmarkJSCompile: compiling the QuickJS module cold and from wazero's
// disk cache.
func BenchmarkJSCompile(b *testing.B) {
	mod, err := Prepare(b.TempDir(), quickjs.Wasm)
	if err != nil {
		b.Fatal(err)
	}
	wasm, err := readFile(mod.Path)
	if err != nil {
		b.Fatal(err)
	}
	benchCompile(b, wasm)
}

// BenchmarkStripTypeScript: esbuild turning a small TS script into the
// module the plugin loads.
func BenchmarkStripTypeScript(b *testing.B) {
	src := []byte(`import { getState, setState } from "windmill-client";
interface Row { id: number; name: string }
type Mode = "full" | "delta";
export async function main(rows: Row[], mode: Mode = "delta", limit?: number): Promise<number> {
  const prev = (await getState()) as number | undefined;
  const n = rows.filter((r) => r.id > (prev ?? 0)).slice(0, limit ?? rows.length).length;
  await setState(n);
  return mode === "full" ? rows.length : n;
}`)
	for range b.N {
		if _, err := jsbuild.Build("sync.ts", src); err != nil {
			b.Fatal(err)
		}
	}
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
