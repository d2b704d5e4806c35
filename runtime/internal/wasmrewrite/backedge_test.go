package wasmrewrite

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Pieces of the hand-assembled loops below. Their functions have the
// signature (param $n i32) (result i32) and a local $i i32 (local 1), and
// call the imported env.tick($i) (function 0) once per iteration. They run
// n iterations, forever if n < 0.
var (
	tickI = []byte{0x20, 1, 0x10, 0}                                     // tick($i)
	incI  = []byte{0x20, 1, 0x41, 1, 0x6a, 0x21, 1}                      // $i++
	cont  = []byte{0x20, 0, 0x41, 0, 0x48, 0x20, 1, 0x20, 0, 0x48, 0x72} // $n < 0 | $i < $n
	stop  = cat(cont, []byte{0x45})                                      // !cont
	getI  = []byte{0x20, 1}                                              // local.get $i
	tickT = []byte{0x60, 1, 0x7f, 0}                                     // (i32) -> ()
)

// loopCase is a hand-assembled function with loops, and what rewriting it
// must give.
type loopCase struct {
	name string
	code []byte // body instructions, without locals
	// finite is f(10) with the flag 0, and ticks the number of ticks it
	// takes.
	finite, ticks int32
	loops         int
	checks        map[Placement]int
	// backEdges and forward are encodings of branches (and what follows
	// them) that must, respectively must not, follow a check in the output
	// with PlaceBackEdges.
	backEdges, forward [][]byte
	// validOnly marks code that only needs to compile.
	validOnly bool
	// tailCall marks code that needs the tail call feature.
	tailCall bool
}

var loopCases = []loopCase{{
	// loop: tick; $i++; br_if 0 (cont) end; $i
	name:   "br_if",
	code:   cat([]byte{0x03, 0x40}, tickI, incI, cont, []byte{0x0d, 0, 0x0b}, getI, []byte{0x0b}),
	finite: 10, ticks: 10, loops: 1,
	checks:    map[Placement]int{PlaceBackEdges: 1, PlaceLoopHeaders: 1},
	backEdges: [][]byte{{0x0d, 0, 0x0b}},
}, {
	// block loop: tick; $i++; br_table [1 (exit)] 0 (loop) (cont) end end; $i
	name:   "br_table_default",
	code:   cat([]byte{0x02, 0x40, 0x03, 0x40}, tickI, incI, cont, []byte{0x0e, 1, 1, 0, 0x0b, 0x0b}, getI, []byte{0x0b}),
	finite: 10, ticks: 10, loops: 1,
	checks:    map[Placement]int{PlaceBackEdges: 1, PlaceLoopHeaders: 1},
	backEdges: [][]byte{{0x0e, 1, 1, 0}},
}, {
	// block loop: tick; $i++; br_table [1 (exit) 0 (loop)] 1 (cont) end end; $i
	name:   "br_table",
	code:   cat([]byte{0x02, 0x40, 0x03, 0x40}, tickI, incI, cont, []byte{0x0e, 2, 1, 0, 1, 0x0b, 0x0b}, getI, []byte{0x0b}),
	finite: 10, ticks: 10, loops: 1,
	checks:    map[Placement]int{PlaceBackEdges: 1, PlaceLoopHeaders: 1},
	backEdges: [][]byte{{0x0e, 2, 1, 0, 1}},
}, {
	// loop block: tick; $i++; br_if 0 (!cont: forward to the block's end,
	// and out of the loop); br 1 (back to the loop) end end; $i
	name:   "nested_br_1",
	code:   cat([]byte{0x03, 0x40, 0x02, 0x40}, tickI, incI, stop, []byte{0x0d, 0, 0x0c, 1, 0x0b, 0x0b}, getI, []byte{0x0b}),
	finite: 10, ticks: 10, loops: 1,
	checks:    map[Placement]int{PlaceBackEdges: 1, PlaceLoopHeaders: 1},
	backEdges: [][]byte{{0x0c, 1}},
	forward:   [][]byte{{0x0d, 0}},
}, {
	// block $exit loop: tick; $i++;
	//   if (!cont) br 2 (forward to $exit) end
	//   br_if 2 ($i, $i == 5000: returns $i through the function's label)
	//   drop; br 0 (back to the loop) end end
	// loop (result i32) $i end (a loop nothing branches to)
	name: "forward_exits",
	code: cat([]byte{0x02, 0x40, 0x03, 0x40}, tickI, incI,
		stop, []byte{0x04, 0x40, 0x0c, 2, 0x0b},
		getI, getI, []byte{0x41, 0x88, 0x27, 0x46, 0x0d, 2, 0x1a},
		[]byte{0x0c, 0, 0x0b, 0x0b},
		[]byte{0x03, 0x7f}, getI, []byte{0x0b, 0x0b}),
	finite: 10, ticks: 10, loops: 2,
	checks:    map[Placement]int{PlaceBackEdges: 1, PlaceLoopHeaders: 2},
	backEdges: [][]byte{{0x0c, 0, 0x0b, 0x0b}},
	forward:   [][]byte{{0x0c, 2}, {0x0d, 2}},
}, {
	// i32.const 0 (sum) loop (type 1: [i32] -> [i32]):
	//   tick; $i +; $i++; br_if 0 (sum cont: passes the sum back to the loop)
	// end (returns the sum)
	name:   "br_if_with_loop_params",
	code:   cat([]byte{0x41, 0, 0x03, 1}, tickI, getI, []byte{0x6a}, incI, cont, []byte{0x0d, 0, 0x0b, 0x0b}),
	finite: 45, ticks: 10, loops: 1,
	checks:    map[Placement]int{PlaceBackEdges: 1, PlaceLoopHeaders: 1},
	backEdges: [][]byte{{0x0d, 0, 0x0b, 0x0b}},
}, {
	// loop unreachable br_if 0 br_table [0] 0 br 0 end i32.const 0: checks
	// in unreachable code, where the operand stack is polymorphic.
	name:      "unreachable_code",
	code:      []byte{0x03, 0x40, 0x00, 0x0d, 0, 0x0e, 1, 0, 0, 0x0c, 0, 0x0b, 0x41, 0, 0x0b},
	loops:     1,
	checks:    map[Placement]int{PlaceBackEdges: 3, PlaceLoopHeaders: 1},
	backEdges: [][]byte{{0x0d, 0}, {0x0e, 1, 0, 0}, {0x0c, 0}},
	validOnly: true,
}, {
	// tick($n); if (!$n) i32.const 7 return end; return_call f($n - 1):
	// repeats without a loop.
	name:   "return_call",
	code:   cat([]byte{0x20, 0, 0x10, 0, 0x20, 0, 0x45, 0x04, 0x40, 0x41, 7, 0x0f, 0x0b, 0x20, 0, 0x41, 1, 0x6b, 0x12, 1, 0x0b}),
	finite: 7, ticks: 11, loops: 0,
	checks:    map[Placement]int{PlaceBackEdges: 1, PlaceLoopHeaders: 1},
	backEdges: [][]byte{{0x12, 1, 0x0b}},
	tailCall:  true,
}}

// loopModule wraps code as function 1, exported as "f", importing env.tick
// as function 0.
func loopModule(code []byte) []byte {
	return mod(
		sec(1, vec(funcType0, funcTypeI, tickT)),
		sec(2, vec(cat(str("env"), str("tick"), []byte{0, 2}))),
		sec(3, vec([]byte{1})),
		sec(7, vec(cat(str("f"), []byte{0, 1}))),
		sec(10, vec(fn(vec([]byte{1, 0x7f}), code...))),
	)
}

// ticker is the host side of env.tick: it counts the calls and sets the
// stop flag of the calling module at call stopAt. A guest that goes on
// ticking long after that was not stopped: tick then panics, which makes
// the call fail at once instead of hanging the test.
type ticker struct {
	calls, stopAt int
}

func (tk *ticker) tick(_ context.Context, m api.Module, _ int32) {
	tk.calls++
	if tk.calls == tk.stopAt {
		m.ExportedGlobal(StopGlobalName).(api.MutableGlobal).Set(1)
	}
	if tk.stopAt > 0 && tk.calls > tk.stopAt+100 {
		panic(fmt.Sprintf("not stopped %d ticks after the stop flag was set", tk.calls-tk.stopAt))
	}
}

// TestBackEdges rewrites hand-assembled loops whose back edges are br_if,
// br_table (loop as a label and as the default), br out of a nested block
// and tail calls, next to forward branches out of loops, checks where the
// checks go, that the loops compute the same with the flag 0, and that
// they trap before their next iteration once the flag is set during an
// iteration, with both placements.
func TestBackEdges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	check := []byte{0x23, 0, 0x04, 0x40, 0x00, 0x0b} // global.get 0 if unreachable end
	for _, c := range loopCases {
		for _, p := range placements {
			t.Run(c.name+"/"+p.String(), func(t *testing.T) {
				t.Parallel()
				wasm := loopModule(c.code)
				res, err := RewriteWith(wasm, Options{Placement: p})
				if err != nil {
					t.Fatal(err)
				}
				if res.Loops != c.loops || res.ChecksInserted != c.checks[p] {
					t.Errorf("Loops = %d, ChecksInserted = %d; want %d and %d", res.Loops, res.ChecksInserted, c.loops, c.checks[p])
				}
				if p == PlaceBackEdges {
					for _, b := range c.backEdges {
						if !bytes.Contains(res.Wasm, cat(check, b)) {
							t.Errorf("no check before % x", b)
						}
					}
					for _, b := range c.forward {
						if bytes.Contains(res.Wasm, cat(check, b)) {
							t.Errorf("check before the forward branch % x", b)
						}
					}
				}

				features := api.CoreFeaturesV2
				if c.tailCall {
					features = corpusFeatures
				}
				r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(features))
				defer r.Close(ctx)
				tk := &ticker{}
				_, err = r.NewHostModuleBuilder("env").NewFunctionBuilder().WithFunc(tk.tick).Export("tick").Instantiate(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.CompileModule(ctx, wasm); err != nil {
					t.Fatalf("the input does not compile: %v", err)
				}
				m, err := r.Instantiate(ctx, res.Wasm)
				if err != nil {
					t.Fatalf("the output does not compile: %v", err)
				}
				if c.validOnly {
					return
				}
				f := m.ExportedFunction("f")
				got, err := f.Call(ctx, 10)
				if err != nil || int32(got[0]) != c.finite || tk.calls != int(c.ticks) {
					t.Fatalf("f(10) = %v, %v after %d ticks; want %d after %d", got, err, tk.calls, c.finite, c.ticks)
				}

				// Set the flag at tick 1000 of an endless loop: the guest
				// must trap before tick 1001.
				*tk = ticker{stopAt: 1000}
				_, err = f.Call(ctx, uint64(0xffffffff)) // $n = -1
				if err == nil || !strings.Contains(err.Error(), "unreachable") || tk.calls != tk.stopAt {
					t.Fatalf("f(-1) with the flag set at tick %d: err = %v after %d ticks; want an unreachable trap right away",
						tk.stopAt, err, tk.calls)
				}
			})
		}
	}
}
