package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/runtime"
)

// A .wasm script is an Extism plugin: it runs through the Extism go-sdk
// with the job's JSON arguments as input, and its output is the result.

// wasmSchemaPath is where a plugin's argument schema lives: FILE.schema.json
// next to FILE.wasm.
func wasmSchemaPath(file string) string {
	return strings.TrimSuffix(file, filepath.Ext(file)) + ".schema.json"
}

// wasmSchema reads a plugin's argument schema. Wasm has no signature to
// infer one from; without FILE.schema.json the arguments are an open
// object. Only the JSON Schema subset runlet infers for other languages is
// understood (type, properties, required, items, enum, default, format,
// nullable, additionalProperties, oneOf); other keywords are ignored.
func wasmSchema(file string) (*jsonschema.Schema, error) {
	path := wasmSchemaPath(file)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &jsonschema.Schema{Schema: jsonschema.Draft, Type: jsonschema.TypeObject}, nil
	}
	if err != nil {
		return nil, err
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if s.Type != "" && s.Type != jsonschema.TypeObject {
		return nil, fmt.Errorf("%s: the arguments schema must have type %q, not %q", path, jsonschema.TypeObject, s.Type)
	}
	s.Type = jsonschema.TypeObject
	if s.Schema == "" {
		s.Schema = jsonschema.Draft
	}
	return &s, nil
}

// prepareWasm stores an Extism plugin for the engine; it takes the named
// arguments as they are.
func prepareWasm(cache string, wasm []byte, args json.RawMessage) (*prepared, error) {
	mod, err := runtime.PrepareExtism(filepath.Join(cache, "modules"), wasm)
	if err != nil {
		return nil, err
	}
	return &prepared{module: mod, args: args, mapStack: func(s string) string { return s }}, nil
}
