package wasmrewrite

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Helpers to assemble modules by hand.

func leb(v uint64) []byte { return appendULEB(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// vec encodes a vector: the item count followed by the items.
func vec(items ...[]byte) []byte { return cat(leb(uint64(len(items))), cat(items...)) }

func str(s string) []byte { return cat(leb(uint64(len(s))), []byte(s)) }

// sec encodes a section.
func sec(id byte, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat([]byte{id}, leb(uint64(len(p))), p)
}

// fn encodes a code section entry: size, locals and instructions.
func fn(locals []byte, code ...byte) []byte {
	b := cat(locals, code)
	return cat(leb(uint64(len(b))), b)
}

func mod(sections ...[]byte) []byte { return cat(wasmHeader, cat(sections...)) }

var (
	noLocals  = vec()
	funcType0 = []byte{0x60, 0, 0}             // () -> ()
	funcTypeI = []byte{0x60, 1, 0x7f, 1, 0x7f} // (i32) -> (i32)
)

// spinModule exports "spin", an infinite loop, and "add1". It is the
// smallest interesting module and a fuzz seed.
func spinModule() []byte {
	return mod(
		sec(1, vec(funcType0, funcTypeI)),
		sec(3, vec([]byte{0}, []byte{1})),
		sec(7, vec(cat(str("spin"), []byte{0, 0}), cat(str("add1"), []byte{0, 1}))),
		sec(10, vec(
			fn(noLocals, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b), // loop br 0 end end
			fn(noLocals, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b), // local.get 0 i32.const 1 i32.add end
		)),
	)
}

// sectionIDs lists the section ids of a module in order.
func sectionIDs(t *testing.T, wasm []byte) []byte {
	t.Helper()
	secs, err := splitSections(wasm)
	if err != nil {
		t.Fatal(err)
	}
	var ids []byte
	for _, s := range secs {
		ids = append(ids, s.id)
	}
	return ids
}

// newRuntime returns a wazero runtime with the default configuration that
// is closed when t ends.
func newRuntime(t testing.TB) wazero.Runtime {
	r := wazero.NewRuntime(context.Background())
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// instantiate instantiates wasm in a new runtime.
func instantiate(t *testing.T, wasm []byte) api.Module {
	t.Helper()
	m, err := newRuntime(t).Instantiate(context.Background(), wasm)
	if err != nil {
		t.Fatalf("instantiating: %v", err)
	}
	return m
}

// TestCreatesSections rewrites a module without global and export sections
// but with a start, data count and data section and custom sections, and
// checks where the new sections go.
func TestCreatesSections(t *testing.T) {
	t.Parallel()
	wasm := mod(
		sec(0, str("first"), []byte("custom")),
		sec(1, vec(funcType0)),
		sec(3, vec([]byte{0})),
		sec(5, vec([]byte{0x00, 1})), // memory, min 1 page
		sec(8, []byte{0}),            // start: function 0
		sec(12, []byte{1}),           // data count
		sec(10, vec(fn(noLocals,
			0x41, 0, 0x41, 0, 0x41, 4, 0xfc, 8, 0, 0, // memory.init 0 0
			0xfc, 9, 0, // data.drop 0
			0x03, 0x40, 0x0b, // loop end
			0x0b))),
		sec(11, vec(cat([]byte{1}, str("abcd")))), // passive data segment
		sec(0, str("last"), []byte("custom")),
	)
	instantiate(t, wasm)

	res, err := Rewrite(wasm)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 1, 3, 5, 6, 7, 8, 12, 10, 11, 0}
	if got := sectionIDs(t, res.Wasm); !slices.Equal(got, want) {
		t.Fatalf("section ids = %v, want %v", got, want)
	}
	// The loop has no back edge: no check.
	if res.Loops != 1 || res.ChecksInserted != 0 || len(res.Globals) != 0 {
		t.Errorf("Loops = %d, ChecksInserted = %d, Globals = %q; want 1, 0 and none", res.Loops, res.ChecksInserted, res.Globals)
	}
	// Untouched sections are copied byte for byte.
	if !bytes.HasPrefix(res.Wasm, wasm[:bytes.Index(wasm, []byte{8, 1, 0})]) ||
		!bytes.HasSuffix(res.Wasm, wasm[bytes.Index(wasm, []byte{11, 7, 1}):]) {
		t.Error("sections other than global, export and code changed")
	}
	m := instantiate(t, res.Wasm)
	if g := m.ExportedGlobal(StopGlobalName); g == nil || g.Get() != 0 {
		t.Fatalf("%s missing or not 0", StopGlobalName)
	}
}

// TestStopHandwritten stops an infinite loop in a hand-written module, with
// both placements.
func TestStopHandwritten(t *testing.T) {
	t.Parallel()
	for _, p := range placements {
		res, err := RewriteWith(spinModule(), Options{Placement: p})
		if err != nil {
			t.Fatal(err)
		}
		if res.Loops != 1 || res.ChecksInserted != 1 {
			t.Errorf("%v: Loops = %d, ChecksInserted = %d, want 1 and 1", p, res.Loops, res.ChecksInserted)
		}
		// Globals: none defined, so the stop flag is global 0. In "loop br 0
		// end" the loop header is also the back edge: both placements put
		// the check between loop and br.
		if !bytes.Contains(res.Wasm, []byte{0x03, 0x40, 0x23, 0x00, 0x04, 0x40, 0x00, 0x0b, 0x0c, 0x00, 0x0b}) {
			t.Fatalf("%v: loop check not found in % x", p, res.Wasm)
		}
		m := instantiate(t, res.Wasm)
		if got, err := m.ExportedFunction("add1").Call(context.Background(), 41); err != nil || got[0] != 42 {
			t.Fatalf("%v: add1(41) = %v, %v", p, got, err)
		}
		m.ExportedGlobal(StopGlobalName).(api.MutableGlobal).Set(1)
		// The flag is set before the call, so no goroutine is needed: the
		// guest traps at its first check.
		if _, err := m.ExportedFunction("spin").Call(context.Background()); err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("%v: spin: err = %v, want an unreachable trap", p, err)
		}
	}
}

// opcodesModule exports "f", a function that uses every kind of immediate
// the rewriter knows, with 7 loops in between, 2 of them with a back edge
// (a br_if and a br_table) and one left by a forward br. f(0) = 99, else
// f(x) = x.
func opcodesModule() []byte {
	const loop = 0x03
	code := cat(
		[]byte{0x42, 0x98, 0x78, 0x21, 1},                      // i64.const -1000, local.set 1
		[]byte{0x43, 0, 0, 0x80, 0x3f, 0x1a},                   // f32.const 1, drop
		[]byte{0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x21, 2},    // f64.const 1, local.set 2
		[]byte{loop, 0x40, 0x0b},                               // loop end
		[]byte{0x41, 1, 0x41, 2, 0x02, 2, 0x0b, 0x6a, 0x1a},    // block (type 2) end, i32.add, drop
		[]byte{0x41, 1, 0x41, 2, loop, 2, 0x0b, 0x6a, 0x1a},    // loop (type 2) end, i32.add, drop
		[]byte{loop, 0x7f, 0x41, 0xff, 0x7e, 0x0b, 0x1a},       // loop (result i32) i32.const -129 end, drop
		[]byte{0x41, 0, 0x41, 1, 0x41, 0, 0x1c, 1, 0x7f, 0x1a}, // typed select, drop
		[]byte{0xd0, 0x70, 0xd1, 0x1a},                         // ref.null func, ref.is_null, drop
		[]byte{0xd2, 0, 0x1a},                                  // ref.func 0, drop
		[]byte{0x41, 0, 0x25, 0, 0x1a},                         // table.get 0, drop
		[]byte{0x41, 0, 0xd0, 0x70, 0x26, 0},                   // table.set 0
		[]byte{0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 8, 0, 0},       // memory.init 0 0
		[]byte{0xfc, 9, 0},                                     // data.drop 0
		[]byte{0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 10, 0, 0},      // memory.copy
		[]byte{0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 11, 0},         // memory.fill
		[]byte{loop, 0x40, 0x0b},                               // loop end
		[]byte{0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 12, 0, 0},      // table.init 0 0
		[]byte{0xfc, 13, 0},                                    // elem.drop 0
		[]byte{0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 14, 0, 0},      // table.copy 0 0
		[]byte{0xd0, 0x70, 0x41, 0, 0xfc, 15, 0, 0x1a},         // table.grow 0, drop
		[]byte{0xfc, 16, 0, 0x1a},                              // table.size 0, drop
		[]byte{0x41, 0, 0xd0, 0x70, 0x41, 0, 0xfc, 17, 0},      // table.fill 0
		[]byte{0x43, 0, 0, 0x80, 0x3f, 0xfc, 0, 0x1a},          // i32.trunc_sat_f32_s, drop
		[]byte{0x20, 2, 0xfc, 7, 0x1a},                         // i64.trunc_sat_f64_u, drop
		[]byte{0x41, 0, 0x2c, 0, 0xc8, 1, 0xc0, 0x1a},          // i32.load8_s offset=200, i32.extend8_s, drop
		[]byte{0x41, 0, 0x29, 3, 0xac, 2, 0xc4, 0x1a},          // i64.load offset=300, i64.extend32_s, drop
		[]byte{0x41, 0, 0x41, 5, 0x36, 2, 0},                   // i32.store
		[]byte{0x41, 0, 0x40, 0, 0x1a, 0x3f, 0, 0x1a},          // memory.grow, drop, memory.size, drop
		[]byte{0x02, 0x40, 0x20, 0, 0x0e, 2, 0, 0, 0, 0x0b},    // block br_table 0 0 0 end
		[]byte{0x20, 0, 0x41, 0xb9, 0x60, 0x46, 0x04, 0x40, // if (local 0 == 12345)
			0x41, 5, 0x41, 1, 0x11, 1, 0, 0x1a, // call_indirect type 1 table 0, drop
			0x10, 0, // call 0
			0x0b},
		[]byte{0x20, 0, 0x04, 0x7f, 0x41, 1, 0x05, 0x41, 2, 0x0b, 0x1a}, // if (result i32) else end, drop
		[]byte{0x20, 0, 0x45, 0x04, 0x40, 0x41, 0xe3, 0, 0x0f, 0x0b},    // if (local 0 == 0) return 99
		[]byte{0x01, 0x02, 0x40, loop, 0x40, 0x0c, 1, 0x0b, 0x0b},       // nop, block loop br 1 end end
		// loop: local 5 += 1; br_if 0 (local 5 < 3) end: 3 iterations
		[]byte{loop, 0x40, 0x20, 5, 0x41, 1, 0x6a, 0x22, 5, 0x41, 3, 0x49, 0x0d, 0, 0x0b},
		// block loop: local 5 -= 1; br_table [1] 0 (exit when 0) end end
		[]byte{0x02, 0x40, loop, 0x40, 0x20, 5, 0x41, 1, 0x6b, 0x22, 5, 0x0e, 1, 1, 0, 0x0b, 0x0b},
		[]byte{0x20, 0, 0x0b}, // local.get 0, end
	)
	locals := vec([]byte{1, 0x7e}, []byte{1, 0x7c}, []byte{2, 0x6f}, []byte{1, 0x7f}) // i64, f64, 2 externref, i32
	return mod(
		sec(1, vec(funcType0, funcTypeI, []byte{0x60, 2, 0x7f, 0x7f, 2, 0x7f, 0x7f})),
		sec(3, vec([]byte{0}, []byte{1})),
		sec(4, vec([]byte{0x70, 0, 2})),                // table funcref min 2
		sec(5, vec([]byte{0, 1})),                      // memory min 1
		sec(6, vec([]byte{0x7e, 1, 0x42, 0x7f, 0x0b})), // global (mut i64) (i64.const -1)
		sec(7, vec(cat(str("f"), []byte{0, 1}), cat(str("mem"), []byte{2, 0}))),
		sec(9, vec([]byte{0, 0x41, 0, 0x0b, 2, 0, 1})), // elem table 0 offset 0: funcs 0 1
		sec(12, []byte{1}),                             // data count
		sec(10, vec(fn(noLocals, 0x0b), fn(locals, code...))),
		sec(11, vec(cat([]byte{1}, str("data")))),
	)
}

// TestOpcodes rewrites a function that uses every kind of immediate the
// rewriter knows, with loops in between: a mis-parse would put the check
// in the middle of an instruction and wazero would reject the module.
func TestOpcodes(t *testing.T) {
	t.Parallel()
	wasm := opcodesModule()
	before := instantiate(t, wasm)
	for _, p := range placements {
		res, err := RewriteWith(wasm, Options{Placement: p})
		if err != nil {
			t.Fatal(err)
		}
		wantChecks := map[Placement]int{PlaceBackEdges: 2, PlaceLoopHeaders: 7}[p]
		if res.Loops != 7 || res.ChecksInserted != wantChecks {
			t.Errorf("%v: Loops = %d, ChecksInserted = %d; want 7 and %d", p, res.Loops, res.ChecksInserted, wantChecks)
		}
		if !slices.Equal(res.Globals, []string{"__runlet_g0"}) {
			t.Errorf("%v: Globals = %q", p, res.Globals)
		}
		after := instantiate(t, res.Wasm)
		for _, arg := range []uint64{0, 7} {
			want, err := before.ExportedFunction("f").Call(context.Background(), arg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := after.ExportedFunction("f").Call(context.Background(), arg)
			if err != nil || got[0] != want[0] {
				t.Errorf("%v: f(%d) = %v, %v; want %v", p, arg, got, err, want)
			}
		}
		if g := after.ExportedGlobal("__runlet_g0"); g == nil || int64(g.Get()) != -1 {
			t.Errorf("%v: __runlet_g0 missing or not -1", p)
		}
		if after.ExportedGlobal(StopGlobalName) == nil {
			t.Errorf("%v: %s not exported", p, StopGlobalName)
		}
	}
}

// TestRefusals checks inputs that must be refused with a specific error.
func TestRefusals(t *testing.T) {
	t.Parallel()
	withCode := func(code ...byte) []byte {
		return mod(sec(1, vec(funcType0)), sec(3, vec([]byte{0})), sec(10, vec(fn(noLocals, code...))))
	}
	tests := []struct {
		name string
		wasm []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrMalformed, "magic"},
		{"garbage", []byte("not a wasm module at all"), ErrMalformed, "magic"},
		{"version 2", []byte{0, 'a', 's', 'm', 2, 0, 0, 0}, ErrMalformed, "version"},
		{"section overrun", mod([]byte{1, 10, 0}), ErrMalformed, "overruns"},
		{"overlong LEB", mod([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), ErrMalformed, "LEB128"},
		{"out of order", mod(sec(3, vec()), sec(1, vec())), ErrMalformed, "out of order"},
		{"duplicate", mod(sec(1, vec()), sec(1, vec())), ErrMalformed, "out of order"},
		{"unknown section", mod(sec(14, nil)), ErrMalformed, "unknown section"},
		{"simd", withCode(0xfd, 0x0c, 0x0b), ErrUnsupported, "SIMD"},
		{"unknown opcode", withCode(0x06, 0x0b), ErrUnsupported, "opcode 0x06"},
		{"unknown 0xfc", withCode(0xfc, 0x12, 0x0b), ErrUnsupported, "0xfc 18"},
		{"missing end", withCode(0x01), ErrMalformed, "end of input"},
		{"trailing bytes", withCode(0x0b, 0x01), ErrMalformed, "after the end"},
		{"branch depth", withCode(0x02, 0x40, 0x0c, 2, 0x0b, 0x0b), ErrMalformed, "label 2"},
		{"br_table depth", withCode(0x41, 0, 0x0e, 1, 0, 1, 0x0b), ErrMalformed, "label 1"},
		{"negative block type", withCode(0x02, 0x7f&^0x40|0x80, 0x7f, 0x0b, 0x0b), ErrMalformed, "block type"},
		{"no code section", mod(sec(1, vec(funcType0)), sec(3, vec([]byte{0}))), ErrMalformed, "no code section"},
		{"body count", mod(sec(1, vec(funcType0)), sec(3, vec([]byte{0}, []byte{0})), sec(10, vec(fn(noLocals, 0x0b)))), ErrMalformed, "2"},
		{"reserved export", mod(sec(7, vec(cat(str("__runlet_g0"), []byte{0, 0})))), ErrMalformed, "reserved"},
		{"rewritten", mod(sec(7, vec(cat(str(StopGlobalName), []byte{3, 0})))), ErrAlreadyRewritten, "already rewritten"},
	}
	for _, tt := range tests {
		_, err := Rewrite(tt.wasm)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "wasmrewrite: ") {
			t.Errorf("%s: err = %v, want %v mentioning %q", tt.name, err, tt.want, tt.msg)
		}
	}
	// The unknown opcode error names the function index (after 1 import).
	wasm := mod(sec(1, vec(funcType0)),
		sec(2, vec(cat(str("m"), str("f"), []byte{0, 0}))),
		sec(3, vec([]byte{0})), sec(10, vec(fn(noLocals, 0x06, 0x0b))))
	if _, err := Rewrite(wasm); err == nil || !strings.Contains(err.Error(), "function 1:") {
		t.Errorf("err = %v, want it to name function 1", err)
	}
}

// TestImportedGlobals checks the global indices with imported globals.
func TestImportedGlobals(t *testing.T) {
	t.Parallel()
	wasm := mod(
		sec(2, vec(cat(str("env"), str("g"), []byte{3, 0x7f, 0}))), // import (global i32)
		sec(6, vec([]byte{0x7f, 1, 0x41, 5, 0x0b}, []byte{0x7e, 0, 0x42, 6, 0x0b})),
	)
	res, err := Rewrite(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Globals, []string{"__runlet_g1", "__runlet_g2"}) {
		t.Fatalf("Globals = %q", res.Globals)
	}
	ctx := context.Background()
	r := newRuntime(t)
	env := mod(sec(6, vec([]byte{0x7f, 0, 0x41, 4, 0x0b})), sec(7, vec(cat(str("g"), []byte{3, 0}))))
	if _, err := r.InstantiateWithConfig(ctx, env, wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	m, err := r.Instantiate(ctx, res.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]uint64{"__runlet_g1": 5, "__runlet_g2": 6, StopGlobalName: 0} {
		if g := m.ExportedGlobal(name); g == nil || g.Get() != want {
			t.Errorf("global %q missing or not %d", name, want)
		}
	}
	if _, ok := m.ExportedGlobal("__runlet_g1").(api.MutableGlobal); !ok {
		t.Errorf("__runlet_g1 is not mutable")
	}
}

// placements lists every Placement.
var placements = []Placement{PlaceBackEdges, PlaceLoopHeaders}
