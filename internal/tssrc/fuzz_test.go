package tssrc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics nor hangs, and either fails with
// an *Error or returns a script whose schema marshals to JSON and agrees
// with its parameters.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.ts"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("export function main(a: " + strings.Repeat("(", 80) + "x" + strings.Repeat(")", 80) + ") {}"))
	f.Add([]byte("export function main(a = `${`${`${1}`}`}`, b: {c: {d: [1]}}[]) {}"))
	f.Add([]byte("export const main = async ({a}, [b], c?: 'x' | 'y') => 1"))
	f.Fuzz(func(t *testing.T, src []byte) {
		// Go's fuzzer does not notice an input that never finishes: crash
		// the worker instead, so that the input is saved as a failure.
		tm := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("Parse hangs on %q", src)) })
		s, err := Parse("fuzz.ts", src)
		tm.Stop()
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if s != nil {
				t.Fatal("Parse returned a script with its error")
			}
			if e.Line < 1 || e.Col < 1 {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		if _, err := json.Marshal(s.Schema); err != nil {
			t.Fatalf("schema does not marshal: %v", err)
		}
		if !s.HasMain && (len(s.Params) > 0 || s.Schema.Properties != nil || s.Async) {
			t.Fatalf("no main but params %v, async %v", s.Params, s.Async)
		}
		if len(s.Params) != len(s.Schema.Order) {
			t.Fatalf("%d params but schema order %q", len(s.Params), s.Schema.Order)
		}
		required := 0
		for i, p := range s.Params {
			if s.Schema.Order[i] != p.Name || s.Schema.Properties[p.Name] == nil {
				t.Fatalf("parameter %q is not in the schema in order", p.Name)
			}
			if !p.Optional {
				if required >= len(s.Schema.Required) || s.Schema.Required[required] != p.Name {
					t.Fatalf("required parameter %q is not in required %q", p.Name, s.Schema.Required)
				}
				required++
			}
		}
		if required != len(s.Schema.Required) {
			t.Fatalf("required %q but %d required parameters", s.Schema.Required, required)
		}
	})
}

// TestLargeInputs checks that Parse takes linear time on large inputs that
// once took quadratic time (minutes at this size).
func TestLargeInputs(t *testing.T) {
	t.Parallel()
	const n = 100000
	tests := map[string]string{
		"unterminated regexes": strings.Repeat("=/[", n),
		"many comments":        strings.Repeat("/**/(", n) + strings.Repeat(")", n),
		"long union":           "export function main(a: " + strings.Repeat("(x)|", n) + "x) {}",
		"many exports":         strings.Repeat("export ", n),
		"long array default":   "export function main(a = [" + strings.Repeat("1,", n) + "]) {}",
		"long type literal":    "export function main(a: {" + strings.Repeat("b: (c)[];", n) + "}) {}",
		"many exponents":       strings.Repeat("1e-1 ", n),
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, _ = Parse("big.ts", []byte(src))
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Parse took %v on %d bytes", d, len(src))
			}
		})
	}
}
