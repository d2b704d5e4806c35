package gosrc

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseScript(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		want    Script // Schema is not compared here; see TestGolden
		wantPkg string // the text at PackagePos
	}{
		{
			name: "inner with value and error",
			src:  "package inner\n\nimport \"time\"\n\nfunc main(n int, at *time.Time) (string, error) { return \"\", nil }\n",
			want: Script{
				Package: "inner", PackagePos: 8, MainPos: 35, HasMain: true,
				Params: []Param{
					{Name: "n", JSONName: "n", TypeSrc: "int"},
					{Name: "at", JSONName: "at", TypeSrc: "*time.Time", Optional: true},
				},
				Results: ResultValueError,
				Imports: []string{"time"},
			},
		},
		{
			name: "main package with error result",
			src:  "// doc\npackage  main\nfunc main() error { return nil }\n",
			want: Script{Package: "main", PackagePos: 16, MainPos: 26, HasMain: true, Results: ResultError},
		},
		{
			name: "value result",
			src:  "package inner\nfunc main(a, b []int64) map[string]int { return nil }\n",
			want: Script{
				Package: "inner", PackagePos: 8, MainPos: 19, HasMain: true,
				Params: []Param{
					{Name: "a", JSONName: "a", TypeSrc: "[]int64"},
					{Name: "b", JSONName: "b", TypeSrc: "[]int64"},
				},
				Results: ResultValue,
			},
		},
		{
			name: "named results",
			src:  "package inner\nfunc main() (out int, err error) { return }\n",
			want: Script{Package: "inner", PackagePos: 8, MainPos: 19, HasMain: true, Results: ResultValueError},
		},
		{
			name: "no results",
			src:  "package inner\nfunc main(s string) {}\n",
			want: Script{
				Package: "inner", PackagePos: 8, MainPos: 19, HasMain: true,
				Params:  []Param{{Name: "s", JSONName: "s", TypeSrc: "string"}},
				Results: ResultNone,
			},
		},
		{
			name: "struct type printed as written",
			src:  "package inner\nfunc main(cfg struct {\n\tA int `json:\"a\"`\n}) {}\n",
			want: Script{
				Package: "inner", PackagePos: 8, MainPos: 19, HasMain: true,
				Params: []Param{{Name: "cfg", JSONName: "cfg", TypeSrc: "struct {\n\tA int `json:\"a\"`\n}"}},
			},
		},
		{
			name: "no main, method main ignored",
			src:  "package inner\ntype T int\nfunc (T) main(x int) {}\n",
			want: Script{Package: "inner", PackagePos: 8, MainPos: -1},
		},
		{
			name: "requires and imports",
			src: "package inner\n\nimport (\n\tt \"time\"\n\t_ \"embed\"\n)\n\n" +
				"//require github.com/a/b v1.2.3\n" +
				"//require\tgolang.org/x/text   v0.14.0\n" +
				"// require not/this v1\n//requirements are prose\n/*require no v1*/\n" +
				"func main(at t.Time) { _ = 1 //require example.com/c v0.0.1\n}\n",
			want: Script{
				Package: "inner", PackagePos: 8, MainPos: 189, HasMain: true,
				Params:  []Param{{Name: "at", JSONName: "at", TypeSrc: "t.Time"}},
				Imports: []string{"time", "embed"},
				Requires: []Require{
					{Path: "github.com/a/b", Version: "v1.2.3"},
					{Path: "golang.org/x/text", Version: "v0.14.0"},
					{Path: "example.com/c", Version: "v0.0.1"},
				},
			},
		},
		{
			name: "line directive does not move offsets",
			src:  "package inner\n//line other.go:100:1\nfunc main(x int) {}\n",
			want: Script{
				Package: "inner", PackagePos: 8, MainPos: 41, HasMain: true,
				Params: []Param{{Name: "x", JSONName: "x", TypeSrc: "int"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse("script.go", []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Schema == nil {
				t.Fatal("Schema is nil")
			}
			if !strings.HasPrefix(tt.src[got.PackagePos:], got.Package) {
				t.Errorf("PackagePos %d does not point at %q", got.PackagePos, got.Package)
			}
			if got.HasMain && !strings.HasPrefix(tt.src[got.MainPos:], "main(") {
				t.Errorf("MainPos %d does not point at main", got.MainPos)
			}
			got.Schema = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", *got, tt.want)
			}
		})
	}
}

func TestParseSchemaRequired(t *testing.T) {
	t.Parallel()
	s, err := Parse("x.go", []byte("package inner\nfunc main(b *int, a string, c **[]int) {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Schema.Required, []string{"a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Required = %q, want %q", got, want)
	}
	if got, want := s.Schema.Order, []string{"b", "a", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Order = %q, want %q", got, want)
	}
	if !s.Params[2].Optional || !s.Schema.Properties["c"].Nullable {
		t.Errorf("**[]int is not optional and nullable: %+v", s.Params[2])
	}
}

func TestInferSchemaError(t *testing.T) {
	t.Parallel()
	if s, err := InferSchema("x.go", []byte("package foo\n")); err == nil || s != nil {
		t.Errorf("InferSchema = %v, %v; want nil, error", s, err)
	}
}

func TestParseNilSource(t *testing.T) {
	t.Parallel()
	// A nil src must not make go/parser read a file of that name.
	_, err := Parse("parse_test.go", nil)
	if err == nil || !strings.Contains(err.Error(), "parse_test.go:1:1") {
		t.Errorf("Parse(nil) error = %v, want a syntax error at 1:1", err)
	}
}

func TestResultShapeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		shape ResultShape
		want  string
	}{
		{"none", ResultNone, "()"},
		{"value", ResultValue, "T"},
		{"error", ResultError, "error"},
		{"value error", ResultValueError, "(T, error)"},
		{"unknown", ResultShape(9), "ResultShape(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.shape.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSnakeCase(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"acronym at end", "PostgresDB", "postgres_db"},
		{"digit", "S3Bucket", "s3_bucket"},
		{"acronym at start", "HTTPClient", "http_client"},
		{"plain", "Slack", "slack"},
		{"lower camel", "myType", "my_type"},
		{"all caps", "ID", "id"},
		{"digits inside", "Base64Data", "base64_data"},
		{"underscore kept", "My_Type", "my_type"},
		{"already snake", "slack_token", "slack_token"},
		{"non ascii", "ÉtatGénéral", "état_général"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := snakeCase(tt.in); got != tt.want {
				t.Errorf("snakeCase(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
