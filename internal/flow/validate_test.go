package flow

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateRules(t *testing.T) {
	t.Parallel()
	const (
		raw   = `{"type":"rawscript","language":"go","content":"package main"}`
		loopB = `{"type":"forloopflow","iterator":{"type":"javascript","expr":"[1]"},"modules":[`
	)
	rawWith := func(fields string) string {
		return `{"type":"rawscript","language":"go","content":"package main",` + fields + `}`
	}
	withIT := func(it string) string { return doc(mod("a", rawWith(`"input_transforms":{"x":`+it+`}`), "")) }
	long := "u/bob/" + strings.Repeat("x", 250)
	for _, tc := range []struct {
		name, doc string
		module    string // want Error.Module
		field     string // want Error.Field
		msg       string // want Error.Message
	}{
		// ids
		{"id missing", doc(`{"value":{"type":"identity"}}`), "", "value.modules[0].id", "required"},
		{"id digit first", doc(ident("1a")), "1a", "id", "must match ^[A-Za-z_][A-Za-z0-9_]*$"},
		{"id dash", doc(ident("a-b")), "a-b", "id", "must match ^[A-Za-z_][A-Za-z0-9_]*$"},
		{"id nested missing", doc(mod("a", loopB+`{"value":{"type":"identity"}}]}`, "")), "", "value.modules[0].value.modules[0].id", "required"},
		{"id duplicate", doc(ident("a"), ident("a")), "a", "id", "duplicate id (also value.modules[0])"},
		{"id duplicate nested", doc(ident("x"), mod("a", loopB+ident("x")+`]}`, "")), "x", "id", "duplicate id (also value.modules[0])"},
		{"id duplicate in branch", doc(mod("a", `{"type":"branchall","branches":[{"modules":[`+ident("b")+`]},{"modules":[`+ident("b")+`]}]}`, "")),
			"b", "id", "duplicate id (also value.modules[0].value.branches[0].modules[0])"},
		{"id failure reserved", doc(ident("failure")), "failure", "id", `"failure" is reserved for value.failure_module`},
		{"failure module id", `{"value":{"modules":[],"failure_module":` + ident("x") + `}}`, "x", "id", `the failure module's id must be "failure"`},
		{"failure module nested duplicate", `{"value":{"modules":[` + ident("a") + `],"failure_module":` + mod("failure", loopB+ident("a")+`]}`, "") + `}}`,
			"a", "id", "duplicate id (also value.modules[0])"},

		// types
		{"type missing", doc(`{"id":"a","value":{}}`), "a", "value.type", "required"},
		{"value missing", doc(`{"id":"a"}`), "a", "value.type", "required"},
		{"type unknown", doc(mod("a", `{"type":"python"}`, "")), "a", "value.type", `unknown module type "python"`},

		// rawscript
		{"content missing", doc(mod("a", `{"type":"rawscript","language":"go"}`, "")), "a", "value.content", "required for rawscript"},
		{"content blank", doc(mod("a", `{"type":"rawscript","language":"go","content":" \n"}`, "")), "a", "value.content", "required for rawscript"},
		{"language missing", doc(mod("a", `{"type":"rawscript","content":"x"}`, "")), "a", "value.language", "required for rawscript"},
		{"language unknown", doc(mod("a", `{"type":"rawscript","content":"x","language":"python3"}`, "")), "a", "value.language", `unsupported language "python3" (want go, typescript or javascript)`},

		// script and flow
		{"script path missing", doc(mod("a", `{"type":"script"}`, "")), "a", "value.path", "required for script"},
		{"script path prefix", doc(mod("a", `{"type":"script","path":"g/team/x"}`, "")), "a", "value.path", `invalid path "g/team/x": want u/<user>/<name> or f/<folder>/<name>`},
		{"script path short", doc(mod("a", `{"type":"script","path":"u/bob"}`, "")), "a", "value.path", `invalid path "u/bob": want u/<user>/<name> or f/<folder>/<name>`},
		{"script path dotdot", doc(mod("a", `{"type":"script","path":"u/bob/../x"}`, "")), "a", "value.path", `invalid path "u/bob/../x": ".." not allowed`},
		{"script path empty segment", doc(mod("a", `{"type":"script","path":"f//x"}`, "")), "a", "value.path", `invalid path "f//x": empty segment`},
		{"script path character", doc(mod("a", `{"type":"script","path":"u/bob/a b"}`, "")), "a", "value.path", `invalid path "u/bob/a b": character ' ' not allowed`},
		{"script path long", doc(mod("a", `{"type":"script","path":"`+long+`"}`, "")), "a", "value.path", "path is 256 bytes, over the limit of 255"},
		{"script hash", doc(mod("a", `{"type":"script","path":"u/bob/x","hash":"0123456789ABCDEF"}`, "")), "a", "value.hash", `invalid hash "0123456789ABCDEF": want 16 lowercase hex digits`},
		{"script hash short", doc(mod("a", `{"type":"script","path":"u/bob/x","hash":"abc"}`, "")), "a", "value.hash", `invalid hash "abc": want 16 lowercase hex digits`},
		{"hash on flow", doc(mod("a", `{"type":"flow","path":"u/bob/x","hash":"0123456789abcdef"}`, "")), "a", "value.hash", "only for script"},
		{"flow path missing", doc(mod("a", `{"type":"flow"}`, "")), "a", "value.path", "required for flow"},
		{"flow path bad", doc(mod("a", `{"type":"flow","path":"/etc/passwd"}`, "")), "a", "value.path", `invalid path "/etc/passwd": want u/<user>/<name> or f/<folder>/<name>`},

		// loops
		{"iterator missing", doc(mod("a", `{"type":"forloopflow","modules":[]}`, "")), "a", "value.iterator", "required for forloopflow"},
		{"iterator type", doc(mod("a", `{"type":"forloopflow","iterator":{"type":"sql"}}`, "")), "a", "value.iterator.type", `must be "static" or "javascript", got "sql"`},
		{"iterator expr", doc(mod("a", `{"type":"forloopflow","iterator":{"type":"javascript","expr":"results.a +"}}`, "")), "a", "value.iterator.expr", "invalid JavaScript expression: incomplete"},
		{"iterator static not array", doc(mod("a", `{"type":"forloopflow","iterator":{"type":"static","value":{"a":1}}}`, "")), "a", "value.iterator.value", "must be an array"},
		{"iterator on while", doc(mod("a", `{"type":"whileloopflow","iterator":{"type":"static","value":[]},"modules":[`+ident("b")+`]}`, "")), "a", "value.iterator", "only for forloopflow"},
		{"parallelism", doc(mod("a", `{"type":"forloopflow","iterator":{"type":"static","value":[]},"parallelism":-1}`, "")), "a", "value.parallelism", "must not be negative, got -1"},
		{"while empty", doc(mod("a", `{"type":"whileloopflow","modules":[]}`, "")), "a", "value.modules", "at least one module required for whileloopflow"},
		{"modules on rawscript", doc(mod("a", rawWith(`"modules":[`+ident("b")+`]`), "")), "a", "value.modules", "only for forloopflow and whileloopflow"},

		// branches
		{"branchone expr missing", doc(mod("a", `{"type":"branchone","branches":[{"modules":[]}]}`, "")), "a", "value.branches[0].expr", "required for branchone"},
		{"branchone expr bad", doc(mod("a", `{"type":"branchone","branches":[{"expr":"true","modules":[]},{"expr":"x ==","modules":[]}]}`, "")), "a", "value.branches[1].expr", "invalid JavaScript expression: incomplete"},
		{"branchall empty", doc(mod("a", `{"type":"branchall","branches":[]}`, "")), "a", "value.branches", "at least one branch required for branchall"},
		{"branchall expr", doc(mod("a", `{"type":"branchall","branches":[{"expr":"true","modules":[]}]}`, "")), "a", "value.branches[0].expr", "only for branchone"},
		{"branches on loop", doc(mod("a", `{"type":"whileloopflow","modules":[`+ident("b")+`],"branches":[{"modules":[]}]}`, "")), "a", "value.branches", "only for branchone and branchall"},
		{"default on branchall", doc(mod("a", `{"type":"branchall","branches":[{"modules":[]}],"default":[`+ident("b")+`]}`, "")), "a", "value.default", "only for branchone"},
		{"branch nested error", doc(mod("a", `{"type":"branchone","branches":[],"default":[`+mod("b", `{"type":"script"}`, "")+`]}`, "")), "b", "value.path", "required for script"},

		// input transforms
		{"transform type missing", withIT(`{"value":1}`), "a", "value.input_transforms.x.type", `required ("static" or "javascript")`},
		{"transform type unknown", withIT(`{"type":"python","expr":"1"}`), "a", "value.input_transforms.x.type", `must be "static" or "javascript", got "python"`},
		{"transform expr missing", withIT(`{"type":"javascript"}`), "a", "value.input_transforms.x.expr", "required for a javascript transform"},
		{"transform expr syntax", withIT(`{"type":"javascript","expr":"flow_input.x }"}`), "a", "value.input_transforms.x.expr", `invalid JavaScript expression at 1:14: Expected ")" but found "}"`},
		{"transform two statements", withIT(`{"type":"javascript","expr":"1; 2"}`), "a", "value.input_transforms.x.expr", `invalid JavaScript expression at 1:2: Expected ")" but found ";"`},
		{"transform escape", withIT(`{"type":"javascript","expr":"1); while(true){}; (1"}`), "a", "value.input_transforms.x.expr", "not a single JavaScript expression"},
		{"transform key", doc(mod("a", rawWith(`"input_transforms":{"my-x":{"type":"js"}}`), "")), "a", `value.input_transforms["my-x"].type`, `must be "static" or "javascript", got "js"`},
		{"transform empty key", doc(mod("a", rawWith(`"input_transforms":{"":{"type":"static"}}`), "")), "a", `value.input_transforms[""]`, "empty input name"},
		{"transforms in key order", doc(mod("a", rawWith(`"input_transforms":{"b":{"type":"x"},"a":{"type":"y"}}`), "")), "a", "value.input_transforms.a.type", `must be "static" or "javascript", got "y"`},
		{"script transform", doc(mod("a", `{"type":"script","path":"u/a/b","input_transforms":{"x":{"type":"javascript","expr":"let y = 1"}}}`, "")), "a", "value.input_transforms.x.expr", `invalid JavaScript expression at 1:5: Expected ")" but found "y"`},

		// module options
		{"stop_after_if empty", doc(mod("a", raw, `,"stop_after_if":{"expr":""}`)), "a", "stop_after_if.expr", "required"},
		{"stop_after_if syntax", doc(mod("a", raw, `,"stop_after_if":{"expr":"result =="}`)), "a", "stop_after_if.expr", "invalid JavaScript expression: incomplete"},
		{"stop_after_all_iters_if syntax", doc(mod("a", `{"type":"whileloopflow","modules":[`+ident("b")+`]}`, `,"stop_after_all_iters_if":{"expr":"1 +* 2"}`)), "a", "stop_after_all_iters_if.expr", `invalid JavaScript expression at 1:4: Unexpected "*"`},
		{"skip_if empty", doc(mod("a", raw, `,"skip_if":{"expr":"  "}`)), "a", "skip_if.expr", "required"},
		{"skip_if syntax", doc(mod("a", raw, `,"skip_if":{"expr":"if (x) y"}`)), "a", "skip_if.expr", `invalid JavaScript expression at 1:1: Unexpected "if"`},
		{"sleep type", doc(mod("a", raw, `,"sleep":{"type":"seconds"}`)), "a", "sleep.type", `must be "static" or "javascript", got "seconds"`},
		{"sleep expr", doc(mod("a", raw, `,"sleep":{"type":"javascript","expr":"(("}`)), "a", "sleep.expr", "invalid JavaScript expression: incomplete"},
		{"sleep negative", doc(mod("a", raw, `,"sleep":{"type":"static","value":-1}`)), "a", "sleep.value", "must be a non-negative number of seconds"},
		{"sleep not number", doc(mod("a", raw, `,"sleep":{"type":"static","value":"5"}`)), "a", "sleep.value", "must be a non-negative number of seconds"},
		{"cache_ttl", doc(mod("a", raw, `,"cache_ttl":-5`)), "a", "cache_ttl", "must not be negative, got -5"},
		{"timeout", doc(mod("a", raw, `,"timeout":-1`)), "a", "timeout", "must not be negative, got -1"},
		{"priority", doc(mod("a", raw, `,"priority":-1`)), "a", "priority", "must not be negative, got -1"},
		{"concurrent_limit", doc(mod("a", rawWith(`"concurrent_limit":-2`), "")), "a", "value.concurrent_limit", "must not be negative, got -2"},
		{"suspend events", doc(mod("a", raw, `,"suspend":{"required_events":-1}`)), "a", "suspend.required_events", "must not be negative, got -1"},
		{"suspend timeout", doc(mod("a", raw, `,"suspend":{"timeout":-1}`)), "a", "suspend.timeout", "must not be negative, got -1"},
		{"retry constant attempts", doc(mod("a", raw, `,"retry":{"constant":{"attempts":101,"seconds":1}}`)), "a", "retry.constant.attempts", "must be between 0 and 100, got 101"},
		{"retry constant seconds", doc(mod("a", raw, `,"retry":{"constant":{"attempts":1,"seconds":-1}}`)), "a", "retry.constant.seconds", "must not be negative, got -1"},
		{"retry exponential attempts", doc(mod("a", raw, `,"retry":{"exponential":{"attempts":-1}}`)), "a", "retry.exponential.attempts", "must be between 0 and 100, got -1"},
		{"retry exponential multiplier", doc(mod("a", raw, `,"retry":{"exponential":{"attempts":1,"multiplier":-2}}`)), "a", "retry.exponential.multiplier", "must not be negative, got -2"},
		{"retry exponential seconds", doc(mod("a", raw, `,"retry":{"exponential":{"seconds":-3}}`)), "a", "retry.exponential.seconds", "must not be negative, got -3"},
		{"retry random_factor", doc(mod("a", raw, `,"retry":{"exponential":{"random_factor":101}}`)), "a", "retry.exponential.random_factor", "must be between 0 and 100, got 101"},

		// flow level
		{"early_return unknown", `{"value":{"modules":[` + ident("a") + `],"early_return":"b"}}`, "", "value.early_return", `no top-level module "b"`},
		{"early_return nested", `{"value":{"modules":[` + mod("a", loopB+ident("b")+`]}`, "") + `],"early_return":"b"}}`, "", "value.early_return", `no top-level module "b"`},
		{"skip_expr", `{"value":{"modules":[],"skip_expr":"flow_input."}}`, "", "value.skip_expr", "invalid JavaScript expression: incomplete"},
		{"schema array", `{"value":{"modules":[]},"schema":[]}`, "", "schema", "must be a JSON object, got an array"},
		{"schema string", `{"value":{"modules":[]},"schema":"x"}`, "", "schema", "must be a JSON object, got a string"},

		// order: the first problem in document order wins
		{"first module first", doc(mod("a", `{"type":"script"}`, ""), mod("b", `{"type":"flow"}`, "")), "a", "value.path", "required for script"},
		{"nested before later options", doc(mod("a", loopB+mod("b", `{"type":"bogus"}`, "")+`]}`, `,"timeout":-1`)), "b", "value.type", `unknown module type "bogus"`},
		{"expression before later structure", doc(mod("a", raw, `,"skip_if":{"expr":"1 +"}`), mod("b", `{"type":"script"}`, "")), "a", "skip_if.expr", "invalid JavaScript expression: incomplete"},
		{"structure before later expression", doc(mod("a", `{"type":"script"}`, ""), mod("b", raw, `,"skip_if":{"expr":"1 +"}`)), "a", "value.path", "required for script"},
		{"expression before later field", doc(mod("a", raw, `,"skip_if":{"expr":"1 +"},"timeout":-1`)), "a", "skip_if.expr", "invalid JavaScript expression: incomplete"},
		{"second bad expression", doc(mod("a", raw, `,"skip_if":{"expr":"x"}`), mod("b", raw, `,"stop_after_if":{"expr":"f("}`), mod("c", raw, `,"stop_after_if":{"expr":")"}`)), "b", "stop_after_if.expr", "invalid JavaScript expression: incomplete"},
		{"modules before early_return", `{"value":{"modules":[` + ident("1") + `],"early_return":"x"}}`, "1", "id", "must match ^[A-Za-z_][A-Za-z0-9_]*$"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Parse([]byte(tc.doc), Options{})
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want an *Error", err)
			}
			want := Error{Module: tc.module, Field: tc.field, Message: tc.msg}
			if *fe != want {
				t.Errorf("error\n %#v\nwant\n %#v", *fe, want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Module: "b", Field: "value.iterator", Message: "required for forloopflow"}, `module "b": value.iterator: required for forloopflow`},
		{Error{Field: "schema", Message: "must be a JSON object"}, "schema: must be a JSON object"},
		{Error{Module: "b", Message: "too deep"}, `module "b": too deep`},
		{Error{Message: "empty document"}, "empty document"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%#v.Error() = %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestCheckExpr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ expr, want string }{
		{"1 + 2", ""},
		{"flow_input.x ?? 'default'", ""},
		{"results.a?.b[0]", ""},
		{"x => x * 2", ""},
		{"{a: 1, b: [1, 2]}", ""},
		{"[1, 2].map(x => x + 1)", ""},
		{"`hello ${flow_input.name}`", ""},
		{"a ? b : c", ""},
		{"1, 2", ""},
		{"function () { return 1 }", ""},
		{"flow_input.x // trailing comment", ""},
		{"flow_input\n  .x\n  .y", ""},
		{"await fetch(x)", ""},
		{"", "empty expression"},
		{"   ", "empty expression"},
		{"1; 2", `invalid JavaScript expression at 1:2: Expected ")" but found ";"`},
		{"a\n}", `invalid JavaScript expression at 2:1: Expected ")" but found "}"`},
		{"a +", "invalid JavaScript expression: incomplete"},
		{"a /* open", "invalid JavaScript expression: incomplete"},
		{"'unterminated", `invalid JavaScript expression at 1:14: Unterminated string literal`},
		{"return 1", `invalid JavaScript expression at 1:1: Unexpected "return"`},
		{"a) + (b", "not a single JavaScript expression"},
		{"1); f(", "not a single JavaScript expression"},
		{"x: 1", `invalid JavaScript expression at 1:2: Expected ")" but found ":"`},
	} {
		if got := checkExpr(tc.expr); got != tc.want {
			t.Errorf("checkExpr(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func TestCheckPath(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"u/bob/x", "f/etl/daily/load", "u/a.b/c-d_e.ts", "f/f/1"} {
		if msg := checkPath(p); msg != "" {
			t.Errorf("checkPath(%q) = %q", p, msg)
		}
	}
	for _, p := range []string{"", "u", "u/bob", "u/bob/", "x/bob/c", "hub/1/a/b", "u/bob/../c", "u/bob/a..b", "u/./c", "u/b b/c", "u/bob/é", "/u/bob/c", "u/bob/c/"} {
		if msg := checkPath(p); msg == "" {
			t.Errorf("checkPath(%q) accepted", p)
		}
	}
}
