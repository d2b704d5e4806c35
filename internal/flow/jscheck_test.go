package flow

import (
	"fmt"
	"testing"
)

func TestFirstBadExpr(t *testing.T) {
	t.Parallel()
	pend := func(exprs ...string) []pendingExpr {
		var p []pendingExpr
		for i, e := range exprs {
			p = append(p, pendingExpr{module: fmt.Sprint("m", i), field: "f", expr: e})
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		exprs []string
		want  string // "" for none
	}{
		{"none", nil, ""},
		{"all good", []string{"a + 1", "`x ${y}`", "f(x)", "{a: 1}", "x => x", "/re/.test(s)", "a /* c */ + b"}, ""},
		{"one bad", []string{"a + 1", "b +", "c * 2"}, `module "m1": f: invalid JavaScript expression: incomplete`},
		{"first of two bad", []string{"1", "2", "3", "x y", "5", ")", "7"}, `module "m3": f: invalid JavaScript expression at 1:3: Expected ")" but found "y"`},
		{"last bad", []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "1 +* 2"}, `module "m9": f: invalid JavaScript expression at 1:4: Unexpected "*"`},
		{"escape", []string{"1", "1), (2", "3"}, `module "m1": f: not a single JavaScript expression`},
		// Each opens a literal or comment that the next one closes: in one
		// batch they would read as valid.
		{"template across", []string{"a + `x", "y` + b"}, `module "m0": f: invalid JavaScript expression: incomplete`},
		{"comment across", []string{"1 /*", "*/ + 1"}, `module "m0": f: invalid JavaScript expression: incomplete`},
		{"string continuation across", []string{`"a\`, `b"`}, `module "m0": f: invalid JavaScript expression: incomplete`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := firstBadExpr(pend(tc.exprs...))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBatchAgreesWithSingle(t *testing.T) {
	t.Parallel()
	exprs := []string{
		"a", "a +", "(", ")", "[", "]", "{", "}", "`", "'", `"`, "/*", "*/", "//", "/", "/a/", "a\\", "${", "1); (2",
		"x => {", "} + {", "`${", "}`", "a ? b", ": c", "`a${`b${c}`}`", "async () => await x", "function* g() { yield 1 }",
	}
	// Every pair, in both orders: the batch must agree with checking each
	// one alone.
	for _, a := range exprs {
		for _, b := range exprs {
			p := []pendingExpr{{expr: a}, {expr: b}}
			alone := checkExpr(a) == "" && checkExpr(b) == ""
			if got := batchOK(p); got != alone {
				t.Errorf("batchOK(%q, %q) = %v, alone %v", a, b, got, alone)
			}
		}
	}
}
