package wasmrewrite

import (
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
)

// FuzzRewrite checks that Rewrite never panics, only returns the documented
// errors, produces modules it recognises as rewritten, and keeps valid
// modules valid (as judged by wazero), with both placements.
func FuzzRewrite(f *testing.F) {
	f.Add(spinModule())
	f.Add(opcodesModule())
	for _, c := range loopCases {
		f.Add(loopModule(c.code))
	}
	f.Add(mod(sec(6, vec([]byte{0x7f, 1, 0x41, 0x80, 0x01, 0x0b})), sec(0, str("name"))))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00"))
	f.Add([]byte{0xde, 0xad, 0xbe, 0xef})

	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(corpusFeatures))
	f.Cleanup(func() { r.Close(ctx) })
	compiles := func(wasm []byte) bool {
		cm, err := r.CompileModule(ctx, wasm)
		if err == nil {
			cm.Close(ctx)
		}
		return err == nil
	}

	f.Fuzz(func(t *testing.T, wasm []byte) {
		res, err := Rewrite(wasm)
		headers, herr := RewriteWith(wasm, Options{Placement: PlaceLoopHeaders})
		if (err == nil) != (herr == nil) {
			t.Fatalf("the placements disagree: %v, %v", err, herr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrAlreadyRewritten) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		if res.Loops != headers.Loops {
			t.Fatalf("Loops = %d with back edges, %d with loop headers", res.Loops, headers.Loops)
		}
		if _, err := Rewrite(res.Wasm); !errors.Is(err, ErrAlreadyRewritten) {
			t.Fatalf("rewriting the output: %v, want ErrAlreadyRewritten", err)
		}
		if !hugeLEB(wasm) && compiles(wasm) {
			for _, out := range []*Result{res, headers} {
				if !compiles(out.Wasm) {
					_, err := r.CompileModule(ctx, out.Wasm)
					t.Fatalf("valid module became invalid: %v", err)
				}
			}
		}
	})
}

// hugeLEB reports whether b may hold a LEB128 number of 3 or more bytes
// (two consecutive bytes with the continuation bit). wazero preallocates
// vectors by their declared length, so a few bytes such as a function type
// declaring 100M parameters make it allocate gigabytes and kill the fuzzing
// process; such inputs skip the comparison with wazero.
func hugeLEB(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if b[i-1]&0x80 != 0 && b[i]&0x80 != 0 {
			return true
		}
	}
	return false
}
