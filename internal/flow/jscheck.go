package flow

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// JavaScript syntax is checked with esbuild's parser. One esbuild call
// costs about half a millisecond whatever its size, so a flow's
// expressions are checked together: in the common case two calls cover
// them all, and when one is wrong a bisection finds the first in a few
// more.

var transformOpts = api.TransformOptions{Loader: api.LoaderJS, LogLevel: api.LogLevelSilent}

// checkExpr reports whether expr is one JavaScript expression, by parsing
// it with esbuild in parentheses and again in brackets: text that escapes
// one wrapper, such as "1); f(", leaves the other unbalanced. It returns ""
// or what is wrong.
func checkExpr(expr string) string {
	if strings.TrimSpace(expr) == "" {
		return "empty expression"
	}
	r := api.Transform("("+expr+"\n)", transformOpts)
	if len(r.Errors) > 0 {
		e := r.Errors[0]
		loc := e.Location
		if loc == nil || loc.Line > strings.Count(expr, "\n")+1 {
			return "invalid JavaScript expression: incomplete"
		}
		col := loc.Column + 1
		if loc.Line == 1 {
			col-- // the "(" we added
		}
		return fmt.Sprintf("invalid JavaScript expression at %d:%d: %s", loc.Line, col, e.Text)
	}
	if r := api.Transform("["+expr+"\n]", transformOpts); len(r.Errors) > 0 {
		return "not a single JavaScript expression"
	}
	return ""
}

// firstBadExpr returns the first of exprs that checkExpr refuses, as an
// *Error, or nil.
func firstBadExpr(exprs []pendingExpr) *Error {
	if len(exprs) == 0 || len(exprs) > 1 && batchOK(exprs) {
		return nil
	}
	if len(exprs) == 1 {
		e := exprs[0]
		if msg := checkExpr(e.expr); msg != "" {
			return &Error{Module: e.module, Field: e.field, Message: msg}
		}
		return nil
	}
	mid := len(exprs) / 2
	if err := firstBadExpr(exprs[:mid]); err != nil {
		return err
	}
	return firstBadExpr(exprs[mid:])
}

// batchOK checks many expressions in two esbuild calls, as the elements
// of one array: [(e1\n), s1, (e2\n), s2, ...] and the same with [e\n] for
// (e\n). Each passes alone exactly when the batch passes and is cut where
// expected: an expression that leaves a template, comment or string open
// could otherwise close it in a later one and pass, so the separators s
// are random numbers written in hex, which esbuild prints in decimal only
// when it reads them as numbers, not as text inside such a literal.
func batchOK(exprs []pendingExpr) bool {
	// Separators end in 7: esbuild would print one ending in zeros as 1e15.
	base := 1<<40 + rand.Int64N(1<<47)
	sep := func(i int) int64 { return (base+int64(i))*10 + 7 }
	for _, wrap := range [...][2]string{{"(", "\n)"}, {"[", "\n]"}} {
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range exprs {
			b.WriteString(wrap[0])
			b.WriteString(e.expr)
			b.WriteString(wrap[1])
			fmt.Fprintf(&b, ",0x%x,", sep(i))
		}
		b.WriteByte(']')
		r := api.Transform(b.String(), transformOpts)
		if len(r.Errors) > 0 {
			return false
		}
		out := string(r.Code)
		for i := range exprs {
			dec := strconv.FormatInt(sep(i), 10)
			j := strings.Index(out, dec)
			if j < 0 {
				return false
			}
			out = out[j+len(dec):]
		}
	}
	return true
}
