package gosrc

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

// FuzzParse checks that Parse never panics and either fails with an *Error
// or returns a script whose schema marshals to JSON and whose offsets point
// at the package name and at main.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.go"))
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
	f.Add([]byte("package inner\ntype A []A\nfunc main(a A) {}\n"))
	f.Add([]byte("package inner\nfunc main(xs ...int, _ chan int) (int, int) {}\n"))
	f.Add([]byte(wideAliases(3)))
	f.Fuzz(func(t *testing.T, src []byte) {
		// Go's fuzzer does not notice an input that never finishes: crash
		// the worker instead, so that the input is saved as a failure.
		tm := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("Parse hangs on %q", src)) })
		s, err := Parse("fuzz.go", src)
		tm.Stop()
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if s != nil {
				t.Fatal("Parse returned a script with its error")
			}
			return
		}
		if _, err := json.Marshal(s.Schema); err != nil {
			t.Fatalf("schema does not marshal: %v", err)
		}
		if !strings.HasPrefix(string(src[s.PackagePos:]), s.Package) {
			t.Fatalf("PackagePos %d does not point at %q", s.PackagePos, s.Package)
		}
		if s.HasMain != (s.MainPos >= 0) {
			t.Fatalf("HasMain %v but MainPos %d", s.HasMain, s.MainPos)
		}
		if s.HasMain && !strings.HasPrefix(string(src[s.MainPos:]), "main") {
			t.Fatalf("MainPos %d does not point at main", s.MainPos)
		}
		if len(s.Params) != len(s.Schema.Order) {
			t.Fatalf("%d params but schema order %q", len(s.Params), s.Schema.Order)
		}
		for _, p := range s.Params {
			if s.Schema.Properties[p.JSONName] == nil {
				t.Fatalf("no property for parameter %q", p.Name)
			}
		}
	})
}
