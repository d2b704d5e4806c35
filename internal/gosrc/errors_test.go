package gosrc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error text
	}{
		{
			name: "syntax error",
			src:  "package inner\n\nfunc main(x int {\n}\n",
			want: []string{"bad.go:3:17: ", "missing ','"},
		},
		{
			name: "syntax error counts the others",
			src:  "package inner\nfunc main( {\nvar = \n",
			want: []string{"bad.go:2:", "more errors"},
		},
		{
			name: "syntax error ignores line directives",
			src:  "package inner\n//line other.go:100:1\nfunc main(x int {}\n",
			want: []string{"bad.go:3:17: "},
		},
		{
			name: "missing package clause",
			src:  "func main() {}\n",
			want: []string{"bad.go:1:1: ", "expected 'package'"},
		},
		{
			name: "wrong package",
			src:  "package foo\nfunc main() {}\n",
			want: []string{"bad.go:1:9: ", "package foo", "inner or main"},
		},
		{
			name: "variadic",
			src:  "package inner\nfunc main(a int, xs ...string) {}\n",
			want: []string{"bad.go:2:21: ", `parameter "xs"`, "variadic"},
		},
		{
			name: "unnamed parameter",
			src:  "package inner\nfunc main(int, string) {}\n",
			want: []string{"bad.go:2:11: ", "parameter 1", "no name"},
		},
		{
			name: "blank parameter",
			src:  "package inner\nfunc main(a int, _ string) {}\n",
			want: []string{"bad.go:2:18: ", "parameter 2", "named _"},
		},
		{
			name: "duplicate parameter",
			src:  "package inner\nfunc main(a int, a string) {}\n",
			want: []string{"bad.go:2:18: ", `duplicate parameter "a"`},
		},
		{
			name: "channel",
			src:  "package inner\nfunc main(ch chan int) {}\n",
			want: []string{"bad.go:2:14: ", `parameter "ch"`, "unsupported type chan int"},
		},
		{
			name: "func",
			src:  "package inner\nfunc main(cb func(int) error) {}\n",
			want: []string{`parameter "cb"`, "unsupported type func(int) error"},
		},
		{
			name: "channel inside slice",
			src:  "package inner\nfunc main(chs []<-chan int) {}\n",
			want: []string{`parameter "chs"`, "unsupported type <-chan int"},
		},
		{
			name: "channel in struct field",
			src:  "package inner\nfunc main(cfg struct{ Done chan bool }) {}\n",
			want: []string{`parameter "cfg"`, "unsupported type chan bool"},
		},
		{
			name: "channel behind named type",
			src:  "package inner\ntype Events chan string\nfunc main(ev Events) {}\n",
			want: []string{"bad.go:2:13: ", `parameter "ev"`, "unsupported type chan string"},
		},
		{
			name: "complex",
			src:  "package inner\nfunc main(z complex128) {}\n",
			want: []string{`parameter "z"`, "unsupported type complex128"},
		},
		{
			name: "error parameter",
			src:  "package inner\nfunc main(e error) {}\n",
			want: []string{`parameter "e"`, "unsupported type error"},
		},
		{
			name: "interface with methods",
			src:  "package inner\nfunc main(s interface{ String() string }) {}\n",
			want: []string{`parameter "s"`, "unsupported type interface"},
		},
		{
			name: "generic non-struct type",
			src:  "package inner\ntype List[T any] []T\nfunc main(l List[int]) {}\n",
			want: []string{`parameter "l"`, "generic type List"},
		},
		{
			name: "recursive slice type",
			src:  "package inner\ntype A []A\nfunc main(a A) {}\n",
			want: []string{`parameter "a"`, "more than 32 levels", "recursive"},
		},
		{
			name: "type cycle",
			src:  "package inner\ntype A B\ntype B A\nfunc main(a *A) {}\n",
			want: []string{`parameter "a"`, "recursive"},
		},
		{
			name: "nesting deeper than 32",
			src:  "package inner\nfunc main(a " + strings.Repeat("[]", 33) + "int) {}\n",
			want: []string{"bad.go:2:77: ", `parameter "a"`, "more than 32 levels"},
		},
		{
			name: "exponential expansion of aliases",
			src:  wideAliases(12),
			want: []string{`parameter "a"`, "schema too large"},
		},
		{
			name: "duplicate json name",
			src:  "package inner\nfunc main(cfg struct{ A int `json:\"x\"`; B int `json:\"x\"` }) {}\n",
			want: []string{`parameter "cfg"`, `JSON name "x"`},
		},
		{
			name: "type parameters",
			src:  "package inner\nfunc main[T any](x T) {}\n",
			want: []string{"bad.go:2:10: ", "type parameters"},
		},
		{
			name: "two results without error",
			src:  "package inner\nfunc main() (int, string) { return 0, \"\" }\n",
			want: []string{"bad.go:2:13: ", "returns (int, string)"},
		},
		{
			name: "error first",
			src:  "package inner\nfunc main() (error, int) { return nil, 0 }\n",
			want: []string{"returns (error, int)"},
		},
		{
			name: "three results",
			src:  "package inner\nfunc main() (a, b int, err error) { return }\n",
			want: []string{"returns (int, int, error)"},
		},
		{
			name: "main redeclared",
			src:  "package inner\nfunc main() {}\nfunc main() {}\n",
			want: []string{"bad.go:3:6: ", "redeclared"},
		},
		{
			name: "malformed require",
			src:  "package inner\n//require github.com/a/b\nfunc main() {}\n",
			want: []string{"bad.go:2:1: ", "malformed //require"},
		},
		{
			name: "empty require",
			src:  "package inner\n//require\n",
			want: []string{"bad.go:2:1: ", "malformed //require"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("bad.go", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want an error", s)
			}
			if s != nil {
				t.Errorf("Parse returned a script with its error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not an *Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// wideAliases returns a script whose parameter type, a chain of aliases of
// structs with four fields each, would expand to 4^n schemas.
func wideAliases(n int) string {
	var b strings.Builder
	b.WriteString("package inner\n")
	for i := range n {
		fmt.Fprintf(&b, "type A%d = struct{ B A%d; C A%d; D A%d; E A%d }\n", i, i+1, i+1, i+1, i+1)
	}
	fmt.Fprintf(&b, "type A%d = int\nfunc main(a A0) {}\n", n)
	return b.String()
}

func TestErrorWithoutPosition(t *testing.T) {
	t.Parallel()
	if got := (&Error{Msg: "boom"}).Error(); got != "boom" {
		t.Errorf("Error() = %q, want %q", got, "boom")
	}
}
