package wasmrewrite

import (
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
)

// FuzzRewrite checks that Rewrite never panics, only returns the documented
// errors, produces modules it recognises as rewritten, and keeps valid
// modules valid (as judged by wazero).
func FuzzRewrite(f *testing.F) {
	f.Add(spinModule())
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
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrAlreadyRewritten) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		if _, err := Rewrite(res.Wasm); !errors.Is(err, ErrAlreadyRewritten) {
			t.Fatalf("rewriting the output: %v, want ErrAlreadyRewritten", err)
		}
		if compiles(wasm) && !compiles(res.Wasm) {
			_, err := r.CompileModule(ctx, res.Wasm)
			t.Fatalf("valid module became invalid: %v", err)
		}
	})
}
