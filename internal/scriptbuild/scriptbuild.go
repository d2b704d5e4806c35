// Package scriptbuild turns a script's source, in any language runlet
// supports, into what the engine runs: the module, the code an interpreter
// loads, the parameter order, the schema and a stack mapper. The CLI and
// the server share it, so a script behaves the same in `runlet run` and
// behind a webhook.
package scriptbuild

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/runlet/runlet/internal/gobuild"
	"github.com/runlet/runlet/internal/gosrc"
	"github.com/runlet/runlet/internal/jsbuild"
	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/internal/npm"
	"github.com/runlet/runlet/internal/tssrc"
	"github.com/runlet/runlet/plugins/quickjs"
	"github.com/runlet/runlet/runtime"
)

// Languages runlet runs.
const (
	Go         = "go"
	TypeScript = "typescript"
	JavaScript = "javascript"
	Wasm       = "wasm" // an Extism plugin
)

// LanguageOf names the language of a file by its extension ("" if none).
func LanguageOf(file string) string {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".go":
		return Go
	case ".ts", ".mts":
		return TypeScript
	case ".js", ".mjs":
		return JavaScript
	case ".wasm":
		return Wasm
	}
	return ""
}

// Normalize maps a language name, including Windmill's (bun, deno,
// nativets), to runlet's; "" if unknown.
func Normalize(lang string) string {
	switch strings.ToLower(lang) {
	case "go":
		return Go
	case "typescript", "ts", "bun", "deno", "nativets":
		return TypeScript
	case "javascript", "js":
		return JavaScript
	case "wasm", "extism":
		return Wasm
	}
	return ""
}

// Ext is the file extension for a language (for error positions).
func Ext(lang string) string {
	switch lang {
	case Go:
		return ".go"
	case TypeScript:
		return ".ts"
	case JavaScript:
		return ".js"
	}
	return ".wasm"
}

// Schema infers the arguments schema of a script and, for JS/TS, the
// parameter order the interpreter calls main with. A Wasm plugin has no
// signature: explicit (its JSON Schema) is used, or an open object.
func Schema(lang, file string, src, explicit []byte) (*jsonschema.Schema, []string, error) {
	switch lang {
	case Wasm:
		s, err := PluginSchema(explicit)
		return s, nil, err
	case Go:
		s, err := gosrc.Parse(file, src)
		if err != nil {
			return nil, nil, err
		}
		return s.Schema, nil, nil
	case TypeScript, JavaScript:
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
	return nil, nil, fmt.Errorf("unsupported language %q", lang)
}

// PluginSchema parses a plugin's arguments schema; nil or empty gives an
// open object. Only the subset runlet infers for other languages is
// understood (type, properties, required, items, enum, default, format,
// nullable, additionalProperties, oneOf); other keywords are ignored.
func PluginSchema(b []byte) (*jsonschema.Schema, error) {
	if len(b) == 0 || string(b) == "null" {
		return &jsonschema.Schema{Schema: jsonschema.Draft, Type: jsonschema.TypeObject}, nil
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if s.Type != "" && s.Type != jsonschema.TypeObject {
		return nil, fmt.Errorf("the arguments schema must have type %q, not %q", jsonschema.TypeObject, s.Type)
	}
	s.Type = jsonschema.TypeObject
	if s.Schema == "" {
		s.Schema = jsonschema.Draft
	}
	return &s, nil
}

// Builder builds scripts with caches under CacheDir.
type Builder struct {
	CacheDir    string
	NPMRegistry string // "" = https://registry.npmjs.org
}

// Built is a script ready for the engine.
type Built struct {
	Lang   string
	Module runtime.Module
	Load   []byte          // interpreter scripts: the code runlet_load compiles
	Lock   json.RawMessage // JS: the npm lock (nil without npm imports)
	params []string
	file   string
	srcMap *jsbuild.SourceMap
}

// Build compiles src (named file, in lang). For JS/TS, lock pins npm
// packages (nil: resolve and return a new lock in Built.Lock); params is
// main's parameter order from Schema.
func (b *Builder) Build(ctx context.Context, lang, file string, src []byte, lock json.RawMessage, params []string) (*Built, error) {
	modules := filepath.Join(b.CacheDir, "modules")
	switch lang {
	case Wasm:
		mod, err := runtime.PrepareExtism(modules, src)
		if err != nil {
			return nil, err
		}
		return &Built{Lang: lang, Module: mod, file: file}, nil
	case Go:
		out, err := (&gobuild.Builder{Dir: filepath.Join(b.CacheDir, "go")}).Build(ctx, file, src, nil)
		if err != nil {
			return nil, err
		}
		mod, err := runtime.Prepare(modules, out.Wasm)
		if err != nil {
			return nil, err
		}
		return &Built{Lang: lang, Module: mod, file: file}, nil
	case TypeScript, JavaScript:
		var l *npm.Lock
		if len(lock) > 0 && string(lock) != "null" {
			l = new(npm.Lock)
			if err := json.Unmarshal(lock, l); err != nil {
				return nil, fmt.Errorf("npm lock: %w", err)
			}
		}
		out, err := jsbuild.BuildWith(ctx, file, src, jsbuild.Options{
			NPM:  &npm.Resolver{Registry: b.NPMRegistry, CacheDir: filepath.Join(b.CacheDir, "npm")},
			Lock: l,
		})
		if err != nil {
			return nil, err
		}
		mod, err := runtime.Prepare(modules, quickjs.Wasm)
		if err != nil {
			return nil, err
		}
		built := &Built{Lang: lang, Module: mod, Load: out.Code, params: params, file: file, srcMap: out.Map}
		if out.Lock != nil {
			if built.Lock, err = json.Marshal(out.Lock); err != nil {
				return nil, err
			}
		}
		return built, nil
	}
	return nil, fmt.Errorf("unsupported language %q", lang)
}

// Args turns named arguments (a JSON object) into what the guest receives:
// the object itself, or for JS/TS main's positional arguments
// ({"args":[...]}). Trailing absent arguments are left out so their
// defaults apply; an absent argument before a present one is null.
func (p *Built) Args(named json.RawMessage) (json.RawMessage, error) {
	if p.Lang != TypeScript && p.Lang != JavaScript {
		return named, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(named, &m); err != nil {
		return nil, err
	}
	last := -1
	for i, name := range p.params {
		if _, ok := m[name]; ok {
			last = i
		}
	}
	list := make([]json.RawMessage, last+1)
	for i := 0; i <= last; i++ {
		if v, ok := m[p.params[i]]; ok {
			list[i] = v
		} else {
			list[i] = json.RawMessage("null")
		}
	}
	return json.Marshal(map[string]any{"args": list})
}

// MapStack rewrites a guest stack trace to the user's file and lines.
func (p *Built) MapStack(s string) string {
	switch p.Lang {
	case Go:
		return gobuild.MapPaths(s, p.file)
	case TypeScript, JavaScript:
		return p.srcMap.MapStack(s, p.file)
	}
	return s
}
