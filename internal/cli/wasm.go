package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/internal/scriptbuild"
)

// A .wasm script is an Extism plugin: it runs through the Extism go-sdk
// with the job's JSON arguments as input, and its output is the result.

// wasmSchemaPath is where a plugin's argument schema lives: FILE.schema.json
// next to FILE.wasm.
func wasmSchemaPath(file string) string {
	return strings.TrimSuffix(file, filepath.Ext(file)) + ".schema.json"
}

// wasmSchema reads a plugin's argument schema from FILE.schema.json;
// without it the arguments are an open object (scriptbuild.PluginSchema).
func wasmSchema(file string) (*jsonschema.Schema, error) {
	path := wasmSchemaPath(file)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	s, err := scriptbuild.PluginSchema(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return s, nil
}
