package runtime

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
)

// Module kinds (Module.Kind).
const (
	// KindRunlet, the zero value, is a wasip1 reactor speaking runlet ABI
	// v1, rewritten by Prepare.
	KindRunlet = ""
	// KindExtism is an Extism plugin stored as given by PrepareExtism and
	// run through the Extism go-sdk.
	KindExtism = "extism"
)

// DefaultEntry is the function an Extism plugin job calls when
// Job.Entry is empty.
const DefaultEntry = "main"

// ErrNotWasm is returned by PrepareExtism for bytes that are not a
// WebAssembly binary module.
var ErrNotWasm = errors.New("runtime: not a WebAssembly binary module")

// PrepareExtism stores an Extism plugin (a .wasm built with any Extism PDK)
// in dir as <hash>.wasm and returns it as a Module of kind KindExtism.
//
// The module is stored as given: runlet's rewriter (stop flag, snapshot
// globals) assumes runlet's own ABI, so an Extism plugin has no soft stop —
// a plugin still running at its deadline is ended by the engine killing its
// worker after Config.Grace. Jobs call the plugin's Job.Entry export
// (DefaultEntry when empty) with the job's JSON arguments as input.
// Preparing the same bytes again returns the stored module.
func PrepareExtism(dir string, wasm []byte) (Module, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return Module{}, ErrNotWasm
	}
	// The kind is part of the hash, so an Extism module never shares a
	// program (or a compiled entry) with a runlet module of the same bytes.
	sum := sha256.Sum256(append([]byte(KindExtism+"\x00"), wasm...))
	m := Module{Hash: hex.EncodeToString(sum[:16]), Kind: KindExtism}
	m.Path = filepath.Join(dir, m.Hash+".wasm")
	if fi, err := os.Stat(m.Path); err == nil && fi.Size() == int64(len(wasm)) {
		return m, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Module{}, err
	}
	if err := writeFileAtomic(m.Path, wasm); err != nil {
		return Module{}, err
	}
	return m, nil
}
