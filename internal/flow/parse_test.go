package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseAllTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, doc string }{
		{"json", allTypes},
		{"yaml", allTypesYAML},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, w := mustParse(t, tc.doc)
			if len(w) != 0 {
				t.Errorf("warnings: %v", w)
			}
			var ids []string
			Walk(f.Value.Modules, func(m *Module, _ string) bool { ids = append(ids, m.ID); return true })
			if got, want := strings.Join(ids, " "), "a b c d d1 e e1 f f1 f2 g g1 h"; tc.name == "json" && got != want {
				t.Errorf("modules %q, want %q", got, want)
			}
			if f.Value.FailureModule == nil || f.Value.FailureModule.ID != "failure" {
				t.Errorf("failure module %+v", f.Value.FailureModule)
			}
			if got := f.Value.Modules[0].Value.Language; got != "typescript" {
				t.Errorf("language %q, want typescript", got)
			}
		})
	}
}

func TestParseCanonical(t *testing.T) {
	t.Parallel()
	f, _ := mustParse(t, allTypes)
	a := f.Value.Modules[0]
	if got := string(a.Value.InputTransforms["y"].Value); got != `{"k":[1,"\u003cb\u003e"]}` {
		t.Errorf("static value %s, want compact and escaped", got)
	}
	if v := a.Value.InputTransforms["z"].Value; v != nil {
		t.Errorf("absent static value %q, want nil", v)
	}
	if g := f.Value.Modules[6].Value.Branches[1].Modules; g == nil || len(g) != 0 {
		t.Errorf("branch modules [] decoded as %#v, want empty non-nil", g)
	}
	f2, _ := mustParse(t, doc(`{"id":"a","value":{"type":"forloopflow","iterator":{"type":"javascript","expr":"[]"},"modules":[],"input_transforms":{}}}`))
	if v := f2.Value.Modules[0].Value; v.Modules != nil || v.InputTransforms != nil {
		t.Errorf("empty optional lists not nil: %#v", v)
	}
	// Round trip.
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := mustParse(t, string(b))
	if !reflect.DeepEqual(f, g) {
		t.Errorf("round trip differs:\n%+v\n%+v", f, g)
	}
}

func TestParseYAMLEqualsJSON(t *testing.T) {
	t.Parallel()
	y := `
summary: s
value:
  modules:
    - id: a
      value:
        type: rawscript
        language: go
        content: "package main"
        input_transforms:
          n: {type: static, value: 3}
          m: {type: static, value: {k: "<v>", l: [true, null, 1.5]}}
      timeout: 10
`
	j := `{"summary":"s","value":{"modules":[{"id":"a","value":{"type":"rawscript","language":"go","content":"package main",
	  "input_transforms":{"n":{"type":"static","value":3},"m":{"type":"static","value":{"k":"<v>","l":[true,null,1.5]}}}},"timeout":10}]}}`
	fy, _ := mustParse(t, y)
	fj, _ := mustParse(t, j)
	if !reflect.DeepEqual(fy, fj) {
		t.Errorf("YAML and JSON differ:\n%+v\n%+v", fy, fj)
	}
}

func TestParseWarnings(t *testing.T) {
	t.Parallel()
	d := `{"summary":"s","top":1,"value":{"same_worker":true,"modules":[
	  {"id":"a","foo":1,"value":{"type":"rawscript","language":"go","content":"x","tag":"t",
	    "input_transforms":{"x":{"type":"static","value":1,"extra":2},"my-in":{"type":"static","zz":0}}},
	   "retry":{"constant":{"attempts":1,"seconds":1,"jitter":3},"linear":{}},
	   "suspend":{"required_events":1,"resume_form":{}},"stop_after_if":{"expr":"true","x":1},"mock":{"enabled":false,"y":1}},
	  {"id":"b","value":{"type":"branchone","branches":[{"expr":"true","modules":[{"id":"c","value":{"type":"identity","deep":1}}],"note":""}]}}],
	 "failure_module":{"value":{"type":"identity"},"delete_after_use":true}},
	 "schema":{"unknown_inside_schema_is_fine":1}}`
	_, w := mustParse(t, d)
	var got []string
	for _, x := range w {
		got = append(got, x.String())
	}
	want := []string{
		`top: unknown field "top" (ignored)`,
		`value.same_worker: unknown field "same_worker" (ignored)`,
		`value.modules[0].foo: module "a": unknown field "foo" (ignored)`,
		`value.modules[0].value.tag: module "a": unknown field "tag" (ignored)`,
		`value.modules[0].value.input_transforms.x.extra: module "a": unknown field "extra" (ignored)`,
		`value.modules[0].value.input_transforms["my-in"].zz: module "a": unknown field "zz" (ignored)`,
		`value.modules[0].retry.constant.jitter: module "a": unknown field "jitter" (ignored)`,
		`value.modules[0].retry.linear: module "a": unknown field "linear" (ignored)`,
		`value.modules[0].suspend.resume_form: module "a": unknown field "resume_form" (ignored)`,
		`value.modules[0].stop_after_if.x: module "a": unknown field "x" (ignored)`,
		`value.modules[0].mock.y: module "a": unknown field "y" (ignored)`,
		`value.modules[1].value.branches[0].modules[0].value.deep: module "c": unknown field "deep" (ignored)`,
		`value.modules[1].value.branches[0].note: module "b": unknown field "note" (ignored)`,
		`value.failure_module.delete_after_use: unknown field "delete_after_use" (ignored)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseWarningsYAML(t *testing.T) {
	t.Parallel()
	_, w := mustParse(t, "summary: s\nvalue:\n  modules:\n    - id: a\n      value: {type: identity, bogus: 1}\n")
	if len(w) != 1 || w[0].Field != "value.modules[0].value.bogus" || w[0].Message != `module "a": unknown field "bogus" (ignored)` {
		t.Errorf("warnings %+v", w)
	}
}

func TestParseCaseSensitive(t *testing.T) {
	t.Parallel()
	_, w, err := Parse([]byte(doc(`{"ID":"x","id":"a","value":{"type":"identity"}}`)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 1 || w[0].Field != "value.modules[0].ID" {
		t.Errorf("warnings %+v, want ID unknown", w)
	}
}

func TestParseLanguages(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"go": "go", "Go": "go", "typescript": "typescript", "ts": "typescript", "bun": "typescript",
		"deno": "typescript", "nativets": "typescript", "javascript": "javascript", "js": "javascript", "JS": "javascript",
	} {
		f, _ := mustParse(t, doc(mod("a", `{"type":"rawscript","content":"x","language":"`+in+`"}`, "")))
		if got := f.Value.Modules[0].Value.Language; got != want {
			t.Errorf("language %q → %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"python3", "bash", "golang", "tsx"} {
		_, _, err := Parse([]byte(doc(mod("a", `{"type":"rawscript","content":"x","language":"`+bad+`"}`, ""))), Options{})
		want := fmt.Sprintf(`module "a": value.language: unsupported language %q (want go, typescript or javascript)`, bad)
		if err == nil || err.Error() != want {
			t.Errorf("language %q: %v, want %s", bad, err, want)
		}
	}
}

func TestParseDocumentErrors(t *testing.T) {
	t.Parallel()
	bomb := "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n"
	for i := 1; i < 9; i++ {
		bomb += fmt.Sprintf("a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "empty document"},
		{"blank", " \n\t", "empty document"},
		{"comment only", "# nothing\n", "empty document"},
		{"json syntax", `{"summary": }`, "invalid JSON at 1:13: invalid character '}' looking for beginning of value"},
		{"json truncated", "{\n\"a\":", "invalid JSON at 2:4: unexpected end of JSON input"},
		{"json trailing", `{} x`, "invalid JSON at 1:4: invalid character 'x' after top-level value"},
		{"yaml syntax", "value: [1,\n", "invalid YAML at 1:8: sequence end token ']' not found"},
		{"yaml list", "- a\n- b\n", "the document must be an object, got an array"},
		{"yaml scalar", "hello", "the document must be an object, got a string"},
		{"yaml two docs", "a: 1\n---\nb: 2\n", "YAML stream has 2 documents, want one"},
		{"yaml duplicate key", "a: 1\na: 2\n", `invalid YAML at 2:1: mapping key "a" already defined at [1:1]`},
		{"yaml inf", "summary: .inf\n", "YAML: +Inf has no JSON form"},
		{"yaml alias bomb", bomb, "YAML: expands to more than 4194304 bytes of JSON"},
		{"yaml deep flow", strings.Repeat("[", 300) + strings.Repeat("]", 300), "YAML nested more than 128 levels deep"},
		{"yaml deep block", strings.Repeat("- ", 300) + "x\n", "YAML nested more than 128 levels deep"},
		{"value not object", `{"value": []}`, "value: want an object, got an array"},
		{"modules not array", `{"value": {"modules": {}}}`, "value.modules: want an array, got an object"},
		{"id not string", doc(`{"id": 1}`), "value.modules[0].id: want a string, got a number"},
		{"int not int", doc(`{"id":"a","timeout":1.5,"value":{"type":"identity"}}`), `module "a": timeout: want an integer, got 1.5`},
		{"int overflow", doc(`{"id":"a","timeout":1e400,"value":{"type":"identity"}}`), `module "a": timeout: want an integer, got 1e400`},
		{"bool not bool", doc(`{"id":"a","continue_on_error":"yes","value":{"type":"identity"}}`), `module "a": continue_on_error: want a boolean, got a string`},
		{"nested type error", doc(mod("a", `{"type":"forloopflow","iterator":{"type":"static","value":[]},"modules":[{"id":"b","value":{"type":3}}]}`, "")), `module "b": value.type: want a string, got a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, _, err := Parse([]byte(tc.doc), Options{})
			if err == nil {
				t.Fatalf("no error, flow %+v", f)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Errorf("error %T, want *Error", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n %s\nwant\n %s", err, tc.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	nest := func(n int) string { // n loops around an identity module
		s := ident("leaf")
		for i := n; i > 0; i-- {
			s = mod(fmt.Sprintf("l%d", i), `{"type":"whileloopflow","modules":[`+s+`]}`, "")
		}
		return doc(s)
	}
	var many []string
	for i := range 5 {
		many = append(many, ident(fmt.Sprintf("m%d", i)))
	}
	for _, tc := range []struct {
		name string
		doc  string
		opt  Options
		want string // "" for success
	}{
		{"size ok", doc(ident("a")), Options{MaxBytes: len(doc(ident("a")))}, ""},
		{"size over", doc(ident("a")), Options{MaxBytes: 10}, fmt.Sprintf("document is %d bytes, over the limit of 10", len(doc(ident("a"))))},
		{"modules ok", doc(many...), Options{MaxModules: 5}, ""},
		{"modules over", doc(many...), Options{MaxModules: 4}, "value.modules: 5 modules (nested ones included), over the limit of 4"},
		{"nested modules count", nest(3), Options{MaxModules: 3}, "value.modules: 4 modules (nested ones included), over the limit of 3"},
		{"depth default ok", nest(16), Options{}, ""},
		{"depth default over", nest(17), Options{}, `module "leaf": nested in 17 loops or branches, over the limit of 16`},
		{"depth custom", nest(3), Options{MaxDepth: 2}, `module "leaf": nested in 3 loops or branches, over the limit of 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Parse([]byte(tc.doc), tc.opt)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
}

func TestValidateBuiltFlow(t *testing.T) {
	t.Parallel()
	f := &Flow{Value: Value{
		Modules:       []Module{{ID: "a", Value: ModuleValue{Type: TypeRawScript, Language: "deno", Content: "x"}}},
		FailureModule: &Module{Value: ModuleValue{Type: TypeIdentity}},
	}}
	if err := Validate(f, Options{}); err != nil {
		t.Fatal(err)
	}
	if f.Value.Modules[0].Value.Language != "typescript" || f.Value.FailureModule.ID != "failure" {
		t.Errorf("not normalized: %+v", f)
	}
	f.Value.Modules[0].Value.Type = "nope"
	err := Validate(f, Options{})
	var fe *Error
	if !errors.As(err, &fe) || fe.Module != "a" || fe.Field != "value.type" {
		t.Errorf("error %#v", err)
	}
}
