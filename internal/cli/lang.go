package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/internal/npm"
	"github.com/runlet/runlet/internal/scriptbuild"
)

// inferSchema returns the schema of a script's main and, for JS/TS, the
// parameter order the interpreter calls main with. A plugin's schema is
// read from FILE.schema.json next to it.
func inferSchema(lang, file string, src []byte) (*jsonschema.Schema, []string, error) {
	if lang == scriptbuild.Wasm {
		s, err := wasmSchema(file)
		return s, nil, err
	}
	return scriptbuild.Schema(lang, file, src, nil)
}

// buildScript builds a script for `runlet run`. npm imports resolve against
// RUNLET_NPM_REGISTRY (default: npmjs) into cache/npm; the lock of this
// script version (its source) is kept there too, so later runs bundle the
// same packages, offline.
func buildScript(ctx context.Context, cache, lang, file string, src []byte, params []string) (*scriptbuild.Built, error) {
	b := &scriptbuild.Builder{CacheDir: cache, NPMRegistry: os.Getenv("RUNLET_NPM_REGISTRY")}
	var lock json.RawMessage
	lockFile := npm.LockPath(filepath.Join(cache, "npm"), src)
	if lang == scriptbuild.TypeScript || lang == scriptbuild.JavaScript {
		lock, _ = os.ReadFile(lockFile) // unreadable: resolve afresh
	}
	built, err := b.Build(ctx, lang, file, src, lock, params)
	if err != nil || built.Lock == nil || string(built.Lock) == string(lock) {
		return built, err
	}
	var l npm.Lock
	if err := json.Unmarshal(built.Lock, &l); err != nil {
		return nil, err
	}
	return built, l.WriteFile(lockFile)
}
