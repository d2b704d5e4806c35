// Command guest is a Go wasip1 reactor used by the wasmrewrite tests. Build
// it with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

var (
	calls int32 // incremented by counter
	sink  int64 // written by spin so the loop is not optimised away
)

// fibo is deliberately the naive recursion: it is call-heavy, the worst case
// for the loop checks (every Go function body is a Wasm loop).
//
//go:wasmexport fibo
func fibo(n int32) int32 {
	if n < 2 {
		return n
	}
	return fibo(n-1) + fibo(n-2)
}

//go:noinline
func step(x int64) int64 { return x*6364136223846793005 + 1442695040888963407 }

// sum is loop-heavy: n iterations of a loop with a call inside.
//
//go:wasmexport sum
func sum(n int32) int64 {
	var s int64
	for i := int32(0); i < n; i++ {
		s += step(int64(i))
	}
	return s
}

// spin never returns.
//
//go:wasmexport spin
func spin() {
	x := sink
	for {
		x = step(x)
		sink = x
	}
}

//go:wasmexport counter
func counter() int32 {
	calls++
	return calls
}

func main() {}
