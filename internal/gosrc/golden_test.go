package gosrc

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestGolden infers the schema of every testdata/*.go script and compares
// it with testdata/<name>.golden.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("found %d golden inputs, want at least 12", len(files))
	}
	tests := make([]struct{ name, input, golden string }, len(files))
	for i, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".go")
		tests[i].name, tests[i].input = name, f
		tests[i].golden = filepath.Join("testdata", name+".golden")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(tt.input)
			if err != nil {
				t.Fatal(err)
			}
			schema, err := InferSchema(tt.input, src)
			if err != nil {
				t.Fatalf("InferSchema: %v", err)
			}
			got, err := json.MarshalIndent(schema, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			if *update {
				if err := os.WriteFile(tt.golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(tt.golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("schema of %s differs from %s\ngot:\n%s\nwant:\n%s", tt.input, tt.golden, got, want)
			}
		})
	}
}
