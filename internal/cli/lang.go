package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/runlet/runlet/internal/gobuild"
	"github.com/runlet/runlet/internal/gosrc"
	"github.com/runlet/runlet/internal/jsbuild"
	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/internal/npm"
	"github.com/runlet/runlet/internal/tssrc"
	"github.com/runlet/runlet/plugins/quickjs"
	"github.com/runlet/runlet/runtime"
)

// inferSchema returns the schema of a script's main and, for JS/TS, the
// parameter order the interpreter calls main with.
func inferSchema(lang, file string, src []byte) (*jsonschema.Schema, []string, error) {
	if lang == "wasm" {
		s, err := wasmSchema(file)
		return s, nil, err
	}
	if lang == "go" {
		s, err := gosrc.Parse(file, src)
		if err != nil {
			return nil, nil, err
		}
		return s.Schema, nil, nil
	}
	s, err := tssrc.Parse(file, src)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(s.Params))
	for i, p := range s.Params {
		names[i] = p.Name
	}
	return s.Schema, names, nil
}

// prepared is a script ready for the engine.
type prepared struct {
	module   runtime.Module
	load     []byte          // interpreter scripts: the code runlet_load compiles
	args     json.RawMessage // what the guest's runlet_run receives
	mapStack func(string) string
}

func prepareScript(ctx context.Context, cache, lang, file string, src []byte, args json.RawMessage, params []string) (*prepared, error) {
	if lang == "wasm" {
		return prepareWasm(cache, src, args)
	}
	modules := filepath.Join(cache, "modules")
	if lang == "go" {
		out, err := (&gobuild.Builder{Dir: filepath.Join(cache, "go")}).Build(ctx, file, src, nil)
		if err != nil {
			return nil, err
		}
		mod, err := runtime.Prepare(modules, out.Wasm)
		if err != nil {
			return nil, err
		}
		return &prepared{module: mod, args: args, mapStack: func(s string) string { return gobuild.MapPaths(s, file) }}, nil
	}
	// npm imports resolve against RUNLET_NPM_REGISTRY (default: npmjs)
	// into cache/npm. The lock of this script version (its source) is kept
	// there too, so later runs bundle the same packages, offline.
	npmCache := filepath.Join(cache, "npm")
	lockFile := npm.LockPath(npmCache, src)
	lock, _ := npm.ReadLockFile(lockFile) // unreadable: resolve afresh
	out, err := jsbuild.BuildWith(ctx, file, src, jsbuild.Options{
		NPM:  &npm.Resolver{Registry: os.Getenv("RUNLET_NPM_REGISTRY"), CacheDir: npmCache},
		Lock: lock,
	})
	if err != nil {
		return nil, err
	}
	if out.Lock != nil {
		if err := out.Lock.WriteFile(lockFile); err != nil {
			return nil, err
		}
	}
	mod, err := runtime.Prepare(modules, quickjs.Wasm)
	if err != nil {
		return nil, err
	}
	positional, err := positionalArgs(args, params)
	if err != nil {
		return nil, err
	}
	return &prepared{module: mod, load: out.Code, args: positional, mapStack: func(s string) string { return out.Map.MapStack(s, file) }}, nil
}

// positionalArgs orders named arguments by main's parameters for the JS
// plugin ({"args":[...]}). Trailing absent arguments are left out so their
// defaults apply; an absent argument before a present one is passed as null.
func positionalArgs(named json.RawMessage, params []string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(named, &m); err != nil {
		return nil, err
	}
	last := -1
	for i, p := range params {
		if _, ok := m[p]; ok {
			last = i
		}
	}
	list := make([]json.RawMessage, last+1)
	for i := 0; i <= last; i++ {
		if v, ok := m[params[i]]; ok {
			list[i] = v
		} else {
			list[i] = json.RawMessage("null")
		}
	}
	return json.Marshal(map[string]any{"args": list})
}
