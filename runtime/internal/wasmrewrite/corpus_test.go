package wasmrewrite

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// corpusFeatures are the features the rewriter handles; modules needing
// others (exception handling, typed function references) fail to compile
// and are skipped.
const corpusFeatures = api.CoreFeaturesV2 | experimental.CoreFeaturesThreads |
	experimental.CoreFeaturesTailCall | experimental.CoreFeaturesExtendedConst

// TestWazeroCorpus rewrites every .wasm file shipped in wazero's module
// (spec tests, fuzz cases, clang/zig-cc, Rust, TinyGo, AssemblyScript,
// emscripten binaries): for every module wazero accepts, the rewrite must
// either succeed and be accepted too, or be refused as unsupported (SIMD).
func TestWazeroCorpus(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
	if err != nil || len(strings.TrimSpace(string(dir))) == 0 {
		t.Skipf("wazero module directory not found: %v", err)
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(corpusFeatures))
	defer r.Close(ctx)
	compiles := func(wasm []byte) error {
		cm, err := r.CompileModule(ctx, wasm)
		if err == nil {
			cm.Close(ctx)
		}
		return err
	}

	var valid, rewritten, loops int
	checks := map[Placement]int{}
	unsupported := map[string]int{} // reason (without offsets) -> count
	root := strings.TrimSpace(string(dir))
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".wasm") {
			return err
		}
		wasm, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		name, _ := filepath.Rel(root, path)
		results := map[Placement]*Result{}
		errs := map[Placement]error{}
		for _, p := range placements {
			results[p], errs[p] = RewriteWith(wasm, Options{Placement: p})
		}
		if compiles(wasm) != nil {
			return nil // invalid input (e.g. assert_invalid spec modules): only must not panic
		}
		valid++
		rerr := errs[PlaceBackEdges]
		if (rerr == nil) != (errs[PlaceLoopHeaders] == nil) {
			t.Errorf("%s: the placements disagree: %v, %v", name, rerr, errs[PlaceLoopHeaders])
		}
		switch {
		case errors.Is(rerr, ErrUnsupported):
			reason := rerr.Error()[strings.Index(rerr.Error(), "unsupported: "):]
			unsupported[strings.SplitN(reason, " at offset", 2)[0]]++
		case rerr != nil:
			t.Errorf("%s: %v", name, rerr)
		default:
			rewritten++
			loops += results[PlaceBackEdges].Loops
			for _, p := range placements {
				checks[p] += results[p].ChecksInserted
				if err := compiles(results[p].Wasm); err != nil {
					t.Errorf("%s: module rewritten with %v rejected: %v", name, p, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d valid modules: %d rewritten (%d loops, checks: %v), unsupported: %v", valid, rewritten, loops, checks, unsupported)
	if rewritten < 100 {
		t.Errorf("only %d modules rewritten", rewritten)
	}
}
