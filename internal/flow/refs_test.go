package flow

import (
	"slices"
	"testing"
)

func TestRefs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr string
		ids  []string
		all  bool
	}{
		{"results.a", []string{"a"}, false},
		{"flow_input.x", nil, false},
		{"", nil, false},
		{"results.b.c + results[\"a\"] + results['d'] + results?.e + results?.[\"f\"] + results.a", []string{"a", "b", "d", "e", "f"}, false},
		{"results . a\n . b", []string{"a"}, false},
		{"results[`t`]", []string{"t"}, false},
		{"`${results.a} and ${results.b}`", []string{"a", "b"}, false},
		{"`${ {x: results.a}.x }`", []string{"a"}, false},
		{"results.a ? results.b : 0", []string{"a", "b"}, false},
		{"a / results.b / 2", []string{"b"}, false},
		{"x.results.y", nil, false},
		{"x?.results", nil, false},
		{"'a' + \"b\" + results.c", []string{"c"}, false},
		{`"it's" + results.c`, []string{"c"}, false},
		{"/x\"y/.test(results.a)", []string{"a"}, false},
		{"typeof /re/", nil, false},
		{"1.5 + .5 + results.z", []string{"z"}, false},
		{"results.$x + results._y", []string{"$x", "_y"}, false},

		{"results", nil, true},
		{"results[k]", nil, true},
		{"results[0]", nil, true},
		{"results[`a${b}`]", nil, true},
		{"Object.keys(results)", nil, true},
		{"results.a + results[k]", []string{"a"}, true},
		{"({results: 1})", nil, true},
		{"((results) => results.x)(y)", []string{"x"}, true},
		{"`${results[k]}`", nil, true},
		{"'results[k]'", nil, true},
		{"results.a /* results[k] */", []string{"a"}, true},
		{"results.a // results", []string{"a"}, true},
		{"/results/.test(x)", nil, true},
		{"eval('x')", nil, true},
		{"globalThis.results.a", nil, true},
		{"this.results", nil, true},
		{"new Function('return results')()", nil, true},
		{"res\\u0075lts.a", nil, true},
		{"résults.a", nil, true},
		{"'unterminated", nil, true},
		{"`unterminated", nil, true},
		{"`${results.a`", []string{"a"}, true},
		{"a /* open", nil, true},
		{"/open", nil, true},
		{"results.a}", []string{"a"}, false},
	} {
		ids, all := Refs(tc.expr)
		if !slices.Equal(ids, tc.ids) || all != tc.all {
			t.Errorf("Refs(%q) = %q, %v; want %q, %v", tc.expr, ids, all, tc.ids, tc.all)
		}
	}
}
