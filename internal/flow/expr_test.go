package flow

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestSimple(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr string
		ok   bool
	}{
		{"flow_input", true},
		{"  results.a  ", true},
		{"results . a [ 0 ] [ \"x y\" ]", true},
		{"results['a-b'].c", true},
		{"previous_result", true},
		{"a?.b?.[0]", true},
		{"$x._y.$z", true},
		{"a.default.new", true},
		{"flow_input.iter.value", true},
		{"a\n.b", true},
		{"true", true},
		{"false", true},
		{"null", true},
		{"undefined", true},
		{"-1.5e3", true},
		{"0", true},
		{`"a\u0041\n"`, true},
		{`'it\'s'`, true},
		{`"😀\uD83D\uDE00"`, true},

		{"", false},
		{"   ", false},
		{"a + b", false},
		{"a.b()", false},
		{"a[b]", false},
		{"a[-1]", false},
		{"a[01]", false},
		{"a[1.5]", false},
		{"a[1e3]", false},
		{"a.1", false},
		{"a..b", false},
		{"a.", false},
		{"a[", false},
		{"a[0", false},
		{"a?.", false},
		{"a?.5:1", false},
		{"this.x", false},
		{"typeof a", false},
		{"new.target", false},
		{"await", false},
		{"NaN", false},
		{"Infinity", false},
		{"01", false},
		{"1.", false},
		{".5", false},
		{"- 1", false},
		{"1e999", false},
		{"true.x", false},
		{`"a" + "b"`, false},
		{`"unterminated`, false},
		{`"\uD800"`, false},
		{`"\07"`, false},
		{`'\u{110000}'`, false},
		{"a /* c */", false},
		{"a // c", false},
		{"`t`", false},
		{"a b", false},
		{"résultat", false},
		{"a\\u0062", false},
		{"a.b\\u0062", false},
		{"a[0]]", false},
	} {
		p, ok := Simple(tc.expr)
		if ok != tc.ok {
			t.Errorf("Simple(%q) ok = %v, want %v", tc.expr, ok, tc.ok)
			continue
		}
		if ok {
			if p.String() != tc.expr {
				t.Errorf("Simple(%q).String() = %q", tc.expr, p.String())
			}
			if msg := checkExpr(tc.expr); msg != "" {
				t.Errorf("Simple(%q) accepted what esbuild refuses: %s", tc.expr, msg)
			}
		}
	}
}

func TestEval(t *testing.T) {
	t.Parallel()
	env := map[string]any{
		"flow_input": map[string]any{
			"x":    1.0,
			"arr":  []any{"a", "b"},
			"s":    "héllo😀",
			"n":    nil,
			"num":  json.Number("3"),
			"i":    7,
			"deep": map[string]any{"k": []any{map[string]any{"v": true}}},
			"":     "empty key",
		},
		"results": map[string]any{
			"a": json.RawMessage(`{"b": [1, 2], "c": null}`),
		},
		"previous_result": nil,
		"strs":            []string{"x", "y"},
		"m":               map[string]int{"one": 1},
	}
	type want struct {
		v       any
		defined bool
		err     string // "" none; "notsimple" ErrNotSimple; else the JSError text
	}
	for _, tc := range []struct {
		expr string
		want want
	}{
		{"flow_input.x", want{1.0, true, ""}},
		{"flow_input['x']", want{1.0, true, ""}},
		{"flow_input.missing", want{nil, false, ""}},
		{"flow_input.missing.y", want{nil, false, "TypeError: cannot read properties of undefined (reading 'y')"}},
		{"flow_input.n", want{nil, true, ""}},
		{"flow_input.n.y", want{nil, false, "TypeError: cannot read properties of null (reading 'y')"}},
		{"flow_input.n?.y.z", want{nil, false, ""}},
		{"flow_input.missing?.[0]", want{nil, false, ""}},
		{"flow_input?.x", want{1.0, true, ""}},
		{"flow_input.arr.length", want{2.0, true, ""}},
		{"flow_input.arr[1]", want{"b", true, ""}},
		{"flow_input.arr['1']", want{"b", true, ""}},
		{"flow_input.arr[5]", want{nil, false, ""}},
		{"flow_input.arr.foo", want{nil, false, ""}},
		{"flow_input.arr.map", want{nil, false, "notsimple"}},
		{"flow_input.s.length", want{7.0, true, ""}},
		{"flow_input.s[1]", want{"é", true, ""}},
		{"flow_input.s[9]", want{nil, false, ""}},
		{"flow_input.s[5]", want{nil, false, "notsimple"}},
		{"flow_input.s.toUpperCase", want{nil, false, "notsimple"}},
		{"flow_input.toString", want{nil, false, "notsimple"}},
		{"flow_input.x.foo", want{nil, false, ""}},
		{"flow_input.x.toFixed", want{nil, false, "notsimple"}},
		{"flow_input.num", want{json.Number("3"), true, ""}},
		{"flow_input.i", want{7, true, ""}},
		{"flow_input.deep.k[0].v", want{true, true, ""}},
		{`flow_input[""]`, want{"empty key", true, ""}},
		{"results.a.b[0]", want{json.Number("1"), true, ""}},
		{`results['a']["b"].length`, want{2.0, true, ""}},
		{"results.a.c", want{nil, true, ""}},
		{"results.a.c.d", want{nil, false, "TypeError: cannot read properties of null (reading 'd')"}},
		{"results.zz", want{nil, false, ""}},
		{"previous_result", want{nil, true, ""}},
		{"previous_result.x", want{nil, false, "TypeError: cannot read properties of null (reading 'x')"}},
		{"strs[1]", want{"y", true, ""}},
		{"strs.length", want{2.0, true, ""}},
		{"m.one", want{1, true, ""}},
		{"m.two", want{nil, false, ""}},
		{"nope", want{nil, false, "notsimple"}},
		{"nope.x", want{nil, false, "notsimple"}},
		{"true", want{true, true, ""}},
		{"false", want{false, true, ""}},
		{"null", want{nil, true, ""}},
		{"undefined", want{nil, false, ""}},
		{"-1.5e3", want{-1500.0, true, ""}},
		{`"a\u0041\x42\n"`, want{"aAB\n", true, ""}},
		{`'it\'s'`, want{"it's", true, ""}},
		{`"\u{1F600}"`, want{"😀", true, ""}},
	} {
		p, ok := Simple(tc.expr)
		if !ok {
			t.Errorf("Simple(%q) not simple", tc.expr)
			continue
		}
		v, defined, err := p.Eval(env)
		switch tc.want.err {
		case "":
			if err != nil {
				t.Errorf("%s: error %v", tc.expr, err)
			}
		case "notsimple":
			if !errors.Is(err, ErrNotSimple) {
				t.Errorf("%s: error %v, want ErrNotSimple", tc.expr, err)
			}
		default:
			var je *JSError
			if !errors.As(err, &je) || err.Error() != tc.want.err {
				t.Errorf("%s: error %v, want %s", tc.expr, err, tc.want.err)
			}
		}
		if !reflect.DeepEqual(v, tc.want.v) || defined != tc.want.defined {
			t.Errorf("%s = %#v, %v; want %#v, %v", tc.expr, v, defined, tc.want.v, tc.want.defined)
		}
	}
	// A negative zero literal keeps its sign, as in JavaScript.
	p, _ := Simple("-0")
	if v, _, _ := p.Eval(nil); !math.Signbit(v.(float64)) {
		t.Error("-0 lost its sign")
	}
}
