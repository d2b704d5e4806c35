package flow

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that what it accepts
// survives json.Marshal and a second Parse unchanged, without warnings.
func FuzzParse(f *testing.F) {
	seeds := []string{
		allTypes,
		allTypesYAML,
		doc(ident("a")),
		doc(mod("a", `{"type":"rawscript","language":"ts","content":"x","input_transforms":{"v":{"type":"static","value":{"<":"&"}}}}`, `,"sleep":{"type":"javascript","expr":"1"}`)),
		doc(mod("a", `{"type":"script","path":"u/u/s","hash":"00000000000000ff"}`, `,"retry":{"constant":{"attempts":1,"seconds":2}}`)),
		doc(mod("a", `{"type":"flow","path":"f/x/y"}`, `,"suspend":{"required_events":2}`)),
		doc(mod("a", `{"type":"forloopflow","iterator":{"type":"static","value":[1]},"modules":[`+ident("b")+`]}`, `,"stop_after_all_iters_if":{"expr":"true"}`)),
		doc(mod("a", `{"type":"whileloopflow","modules":[`+ident("b")+`]}`, `,"skip_if":{"expr":"false"}`)),
		doc(mod("a", `{"type":"branchone","branches":[{"expr":"1","modules":[`+ident("b")+`]}],"default":[`+ident("c")+`]}`, "")),
		doc(mod("a", `{"type":"branchall","branches":[{"modules":[`+ident("b")+`]}]}`, `,"mock":{"enabled":true,"return_value":null}`)),
		`{"value":{"modules":[],"failure_module":{"value":{"type":"identity"}}},"schema":{}}`,
		"value:\n  modules:\n    - id: a\n      value: {type: identity}\n  early_return: a\n",
		"value: {modules: [{id: a, value: &v {type: identity}}, {id: b, value: *v}]}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, _, err := Parse(data, Options{})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		b, err := json.Marshal(fl)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, warnings, err := Parse(b, Options{MaxBytes: 1 << 30})
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, b)
		}
		if len(warnings) > 0 {
			t.Fatalf("reparse warnings: %v\n%s", warnings, b)
		}
		if !reflect.DeepEqual(fl, again) {
			t.Fatalf("round trip differs\n%#v\n%#v\n%s", fl, again, b)
		}
	})
}

// FuzzExpr checks that the expression helpers never panic, that checking
// an expression in a batch agrees with checking it alone, that every
// simple expression is valid JavaScript, and that a simple read of
// results.<id> is what Refs reports.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{
		"results.a", "results['a'].b[0]", `flow_input?.x["y"]`, "true", "-1.5", `"s\u0041"`,
		"results[k]", "`${results.a}`", "/re/.test(results.b)", "a /* c */ + 'd'", "x => x",
	} {
		f.Add(s)
	}
	env := map[string]any{
		"results":    map[string]any{"a": json.RawMessage(`{"b":[1,"x"]}`)},
		"flow_input": map[string]any{"x": "héllo", "y": []any{nil, 1.0}},
	}
	f.Fuzz(func(t *testing.T, expr string) {
		ids, all := Refs(expr)
		msg := checkExpr(expr)
		for _, batch := range [][]pendingExpr{{{expr: expr}, {expr: "`${x}`"}}, {{expr: "a /* b */"}, {expr: expr}}} {
			if ok := batchOK(batch); ok != (msg == "") {
				t.Fatalf("batchOK(%q) = %v, alone %q", batch, ok, msg)
			}
		}
		p, ok := Simple(expr)
		if !ok {
			return
		}
		if msg != "" {
			t.Fatalf("Simple(%q) but esbuild says %s", expr, msg)
		}
		_, _, _ = p.Eval(env)
		if p.root == "results" && len(p.segs) > 0 {
			if all || len(ids) != 1 || ids[0] != p.segs[0].key {
				if strings.Count(expr, "results") == 1 { // "results" again, even in a key, makes Refs cautious
					t.Fatalf("Refs(%q) = %q, %v; want [%q]", expr, ids, all, p.segs[0].key)
				}
			}
		}
	})
}
