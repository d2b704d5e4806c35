package tssrc

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet/internal/jsonschema"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenParam and goldenScript are what a golden file holds.
type goldenParam struct {
	Name     string `json:"name"`
	Optional bool   `json:"optional"`
}

type goldenScript struct {
	HasMain bool               `json:"hasMain"`
	Async   bool               `json:"async"`
	Params  []goldenParam      `json:"params"`
	Schema  *jsonschema.Schema `json:"schema"`
}

// TestGolden parses every testdata/*.ts script and compares what it learns
// with testdata/<name>.golden.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("found %d golden inputs, want at least 12", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".ts")
		golden := filepath.Join("testdata", name+".golden")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(file, src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			g := goldenScript{HasMain: s.HasMain, Async: s.Async, Params: []goldenParam{}, Schema: s.Schema}
			for _, p := range s.Params {
				g.Params = append(g.Params, goldenParam(p))
			}
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s\ngot:\n%s\nwant:\n%s", file, golden, got, want)
			}
			schema, err := InferSchema(file, src)
			if err != nil {
				t.Fatalf("InferSchema: %v", err)
			}
			a, _ := json.Marshal(schema)
			b, _ := json.Marshal(s.Schema)
			if !bytes.Equal(a, b) {
				t.Errorf("InferSchema = %s, want the schema of Parse %s", a, b)
			}
		})
	}
}
