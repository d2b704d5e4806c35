package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/runlet/runlet/runtime/internal/wasmrewrite"
)

// rewriterVersion names the rewriter's output format (v2: stop checks on
// backward branches).
const rewriterVersion = "wasmrewrite-v2"

// Module is a guest module prepared for the engine: rewritten for the stop
// flag and snapshots, and stored on disk by its content hash.
type Module struct {
	Hash    string   `json:"hash"`    // hex SHA-256 of the prepared module
	Path    string   `json:"path"`    // the prepared .wasm file
	Globals []string `json:"globals"` // exported globals a snapshot saves
	// Kind is KindRunlet (runlet ABI, rewritten) or KindExtism (an Extism
	// plugin, see PrepareExtism).
	Kind string `json:"kind,omitempty"`
}

// Prepare rewrites wasm (a wasip1 reactor speaking runlet ABI v1) and
// stores it in dir as <hash>.wasm with a <hash>.json description. Preparing
// the same module again returns the stored one.
func Prepare(dir string, wasm []byte) (Module, error) {
	// The key covers the rewriter's version: a new rewriter re-prepares.
	src := sha256.Sum256(append([]byte(rewriterVersion+"\x00"), wasm...))
	srcKey := hex.EncodeToString(src[:16])
	meta := filepath.Join(dir, "src-"+srcKey+".json")
	if b, err := os.ReadFile(meta); err == nil {
		var m Module
		if json.Unmarshal(b, &m) == nil {
			if _, err := os.Stat(m.Path); err == nil {
				return m, nil
			}
		}
	}
	res, err := wasmrewrite.Rewrite(wasm)
	if err != nil {
		return Module{}, fmt.Errorf("prepare module: %w", err)
	}
	sum := sha256.Sum256(res.Wasm)
	m := Module{Hash: hex.EncodeToString(sum[:16]), Globals: res.Globals}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Module{}, err
	}
	m.Path = filepath.Join(dir, m.Hash+".wasm")
	if err := writeFileAtomic(m.Path, res.Wasm); err != nil {
		return Module{}, err
	}
	b, _ := json.Marshal(m)
	if err := writeFileAtomic(meta, b); err != nil {
		return Module{}, err
	}
	return m, nil
}

// writeFileAtomic writes b to path through a temporary file and a rename,
// so readers never see a partial file.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
