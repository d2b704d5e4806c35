package quickjs

import "testing"

// Benchmarks of one job on an instance whose script is already loaded
// (runlet_alloc + argument copy + runlet_run + result), the engine's warm
// path; the engine's memory reset between isolated jobs is not included.

func BenchmarkFibo25(b *testing.B) {
	g := newGuest(b, `
function fibo(n) { return n < 2 ? n : fibo(n - 1) + fibo(n - 2); }
export function main(n) { return fibo(n); }`)
	doc := []byte(`{"args":[25]}`)
	b.ResetTimer()
	for b.Loop() {
		if rc, res, failure := g.runRaw(b, doc); rc != 0 || res != "75025" {
			b.Fatalf("rc %d result %s error %s", rc, res, failure)
		}
	}
}

func BenchmarkTrivial(b *testing.B) {
	g := newGuest(b, `export async function main(a, b) { return { sum: a + b }; }`)
	doc := []byte(`{"args":[1,2]}`)
	b.ResetTimer()
	for b.Loop() {
		if rc, res, failure := g.runRaw(b, doc); rc != 0 || res != `{"sum":3}` {
			b.Fatalf("rc %d result %s error %s", rc, res, failure)
		}
	}
}

// BenchmarkInstantiateLoad is the cost of a new instance with the script
// loaded (what the engine pays once per program before it snapshots).
func BenchmarkInstantiateLoad(b *testing.B) {
	runtimeForTests(b)
	b.ResetTimer()
	for b.Loop() {
		g := instantiate(b)
		if rc, failure := g.load(b, `export function main() { return 1; }`); rc != 0 {
			b.Fatal(failure)
		}
		g.mod.Close(g.ctx)
	}
}
