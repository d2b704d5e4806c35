package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Validate checks f against runlet's rules and normalizes it in place
// (language names, the failure module's id). Parse calls it; call it on a
// flow built in Go. It returns an *Error: the module-count limit is checked
// first, then the first problem in document order (fields in the order of
// the Go types, input transforms by name) is returned.
//
// The rules:
//   - at most MaxModules modules, nested ones included, nested in at most
//     MaxDepth loops or branches;
//   - every module has an id matching ^[A-Za-z_][A-Za-z0-9_]*$, unique in
//     the whole flow; "failure" is the failure module's id and no other's;
//   - value.type is rawscript, script, flow, forloopflow, whileloopflow,
//     branchone, branchall or identity, and the type's fields are sound:
//     a rawscript has content and a language (go; typescript, ts, bun,
//     deno, nativets; javascript, js — normalized to go, typescript,
//     javascript); a script has a path (u/<user>/<name> or
//     f/<folder>/<name>) and maybe a 16-hex-digit hash; a flow has a path; a
//     forloopflow has an iterator (a static array or an expression); a
//     whileloopflow has modules; branchone branches have an expr;
//     branchall has branches; modules, branches and default appear only on
//     the types that run them;
//   - input transforms are {type: static, value} or {type: javascript,
//     expr}; every JavaScript expression (transforms, iterator, skip_if,
//     stop_after_if, stop_after_all_iters_if, branch expr, sleep, skip_expr)
//     is syntactically one expression;
//   - counts and durations are not negative; retry attempts and
//     random_factor are at most 100; a static sleep is a number;
//   - early_return names a top-level module; schema is a JSON object.
func Validate(f *Flow, opt Options) error {
	if err := validate(f, opt.withDefaults()); err != nil {
		return err
	}
	return nil
}

type validator struct {
	opt   Options
	ids   map[string]string // module id → its path
	exprs []pendingExpr     // JavaScript to check, in document order
}

// pendingExpr is a JavaScript expression to check and where it is.
type pendingExpr struct{ module, field, expr string }

// expr queues a non-empty expression for firstBadExpr. Simple expressions
// are valid by construction and skip the parser.
func (v *validator) expr(module, field, expr string) {
	if _, ok := Simple(expr); !ok {
		v.exprs = append(v.exprs, pendingExpr{module, field, expr})
	}
}

func validate(f *Flow, opt Options) *Error {
	n := 0
	walkFlow(f, func(*Module, string) bool { n++; return true })
	if n > opt.MaxModules {
		return &Error{Field: "value.modules", Message: fmt.Sprintf("%d modules (nested ones included), over the limit of %d", n, opt.MaxModules)}
	}
	v := validator{opt: opt, ids: make(map[string]string, n)}
	err := v.flow(f)
	// The expressions queued before the first other problem come before it
	// in the document.
	if e := firstBadExpr(v.exprs); e != nil {
		return e
	}
	return err
}

// flow checks f but its JavaScript, which it queues in v.exprs.
func (v *validator) flow(f *Flow) *Error {
	if err := v.modules(f.Value.Modules, "value.modules", 0); err != nil {
		return err
	}
	if fm := f.Value.FailureModule; fm != nil {
		if fm.ID == "" {
			fm.ID = "failure"
		}
		if fm.ID != "failure" {
			return &Error{Module: fm.ID, Field: "id", Message: `the failure module's id must be "failure"`}
		}
		if err := v.module(fm, "value.failure_module", 0, true); err != nil {
			return err
		}
	}
	if id := f.Value.EarlyReturn; id != "" {
		if !slices.ContainsFunc(f.Value.Modules, func(m Module) bool { return m.ID == id }) {
			return &Error{Field: "value.early_return", Message: fmt.Sprintf("no top-level module %q", id)}
		}
	}
	if f.Value.SkipExpr != "" {
		v.expr("", "value.skip_expr", f.Value.SkipExpr)
	}
	if len(f.Schema) > 0 {
		if !json.Valid(f.Schema) {
			return &Error{Field: "schema", Message: "invalid JSON"}
		}
		if k := jsonKind(bytes.TrimLeft(f.Schema, " \t\r\n")); k != "an object" {
			return &Error{Field: "schema", Message: "must be a JSON object, got " + k}
		}
	}
	return nil
}

func (v *validator) modules(mods []Module, path string, level int) *Error {
	for i := range mods {
		if err := v.module(&mods[i], path+"["+strconv.Itoa(i)+"]", level, false); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) module(m *Module, path string, level int, failure bool) *Error {
	switch {
	case m.ID == "":
		return &Error{Field: path + ".id", Message: "required"}
	case !isIdent(m.ID):
		return &Error{Module: m.ID, Field: "id", Message: "must match ^[A-Za-z_][A-Za-z0-9_]*$"}
	case m.ID == "failure" && !failure:
		return &Error{Module: m.ID, Field: "id", Message: `"failure" is reserved for value.failure_module`}
	}
	if prev, dup := v.ids[m.ID]; dup {
		return &Error{Module: m.ID, Field: "id", Message: "duplicate id (also " + prev + ")"}
	}
	v.ids[m.ID] = path
	fail := func(field, msg string) *Error { return &Error{Module: m.ID, Field: field, Message: msg} }
	if level > v.opt.MaxDepth {
		return fail("", depthMessage(level, v.opt.MaxDepth))
	}

	if err := v.value(m, path, level); err != nil {
		return err
	}

	for _, s := range []struct {
		field string
		x     *StopAfterIf
	}{{"stop_after_if", m.StopAfterIf}, {"stop_after_all_iters_if", m.StopAfterAllItersIf}} {
		if s.x == nil {
			continue
		}
		if strings.TrimSpace(s.x.Expr) == "" {
			return fail(s.field+".expr", "required")
		}
		v.expr(m.ID, s.field+".expr", s.x.Expr)
	}
	if m.SkipIf != nil {
		if strings.TrimSpace(m.SkipIf.Expr) == "" {
			return fail("skip_if.expr", "required")
		}
		v.expr(m.ID, "skip_if.expr", m.SkipIf.Expr)
	}
	if m.Sleep != nil {
		if err := v.transform(m.ID, "sleep", m.Sleep); err != nil {
			return err
		}
		if m.Sleep.Type == "static" && len(m.Sleep.Value) > 0 {
			var secs float64
			if json.Unmarshal(m.Sleep.Value, &secs) != nil || secs < 0 {
				return fail("sleep.value", "must be a non-negative number of seconds")
			}
		}
	}
	if err := nonNegative(fail, "cache_ttl", m.CacheTTL); err != nil {
		return err
	}
	if err := nonNegative(fail, "timeout", m.Timeout); err != nil {
		return err
	}
	if s := m.Suspend; s != nil {
		if err := nonNegative(fail, "suspend.required_events", s.RequiredEvents); err != nil {
			return err
		}
		if err := nonNegative(fail, "suspend.timeout", s.Timeout); err != nil {
			return err
		}
	}
	if r := m.Retry; r != nil {
		if c := r.Constant; c != nil {
			if err := inRange(fail, "retry.constant.attempts", c.Attempts, 0, 100); err != nil {
				return err
			}
			if err := nonNegative(fail, "retry.constant.seconds", c.Seconds); err != nil {
				return err
			}
		}
		if e := r.Exponential; e != nil {
			if err := inRange(fail, "retry.exponential.attempts", e.Attempts, 0, 100); err != nil {
				return err
			}
			if err := nonNegative(fail, "retry.exponential.multiplier", e.Multiplier); err != nil {
				return err
			}
			if err := nonNegative(fail, "retry.exponential.seconds", e.Seconds); err != nil {
				return err
			}
			if err := inRange(fail, "retry.exponential.random_factor", e.RandomFactor, 0, 100); err != nil {
				return err
			}
		}
	}
	return nonNegative(fail, "priority", m.Priority)
}

// languages maps the accepted rawscript languages to their normal names.
var languages = map[string]string{
	"go":         "go",
	"typescript": "typescript",
	"ts":         "typescript",
	"bun":        "typescript",
	"deno":       "typescript",
	"nativets":   "typescript",
	"javascript": "javascript",
	"js":         "javascript",
}

// value checks m.Value; path is m's path from the root.
func (v *validator) value(m *Module, path string, level int) *Error {
	mv := &m.Value
	fail := func(field, msg string) *Error { return &Error{Module: m.ID, Field: field, Message: msg} }
	loop := mv.Type == TypeForLoop || mv.Type == TypeWhileLoop
	switch mv.Type {
	case "":
		return fail("value.type", "required")
	case TypeRawScript:
		if strings.TrimSpace(mv.Content) == "" {
			return fail("value.content", "required for rawscript")
		}
		if mv.Language == "" {
			return fail("value.language", "required for rawscript")
		}
		lang, ok := languages[strings.ToLower(mv.Language)]
		if !ok {
			return fail("value.language", fmt.Sprintf("unsupported language %q (want go, typescript or javascript)", mv.Language))
		}
		mv.Language = lang
	case TypeScript, TypeFlow:
		if mv.Path == "" {
			return fail("value.path", "required for "+mv.Type)
		}
		if msg := checkPath(mv.Path); msg != "" {
			return fail("value.path", msg)
		}
		if mv.Hash != "" && mv.Type == TypeScript && !isHash(mv.Hash) {
			return fail("value.hash", fmt.Sprintf("invalid hash %q: want 16 lowercase hex digits", mv.Hash))
		}
	case TypeForLoop:
		if mv.Iterator == nil {
			return fail("value.iterator", "required for forloopflow")
		}
	case TypeWhileLoop:
		if len(mv.Modules) == 0 {
			return fail("value.modules", "at least one module required for whileloopflow")
		}
	case TypeBranchOne:
	case TypeBranchAll:
		if len(mv.Branches) == 0 {
			return fail("value.branches", "at least one branch required for branchall")
		}
	case TypeIdentity:
	default:
		return fail("value.type", fmt.Sprintf("unknown module type %q", mv.Type))
	}

	if mv.Hash != "" && mv.Type != TypeScript {
		return fail("value.hash", "only for script")
	}
	for _, k := range sortedKeys(mv.InputTransforms) {
		field := joinKey("value.input_transforms", k)
		if k == "" {
			return fail(field, "empty input name")
		}
		t := mv.InputTransforms[k]
		if err := v.transform(m.ID, field, &t); err != nil {
			return err
		}
	}
	if err := nonNegative(fail, "value.concurrent_limit", mv.ConcurrentLimit); err != nil {
		return err
	}
	if err := nonNegative(fail, "value.parallelism", mv.Parallelism); err != nil {
		return err
	}

	if len(mv.Modules) > 0 && !loop {
		return fail("value.modules", "only for forloopflow and whileloopflow")
	}
	if err := v.modules(mv.Modules, path+".value.modules", level+1); err != nil {
		return err
	}
	if mv.Iterator != nil {
		if mv.Type != TypeForLoop {
			return fail("value.iterator", "only for forloopflow")
		}
		if err := v.transform(m.ID, "value.iterator", mv.Iterator); err != nil {
			return err
		}
		if it := mv.Iterator; it.Type == "static" && jsonKind(bytes.TrimLeft(it.Value, " \t\r\n")) != "an array" {
			return fail("value.iterator.value", "must be an array")
		}
	}
	if len(mv.Branches) > 0 && mv.Type != TypeBranchOne && mv.Type != TypeBranchAll {
		return fail("value.branches", "only for branchone and branchall")
	}
	for i := range mv.Branches {
		b := &mv.Branches[i]
		field := "value.branches[" + strconv.Itoa(i) + "]"
		if mv.Type == TypeBranchOne {
			if strings.TrimSpace(b.Expr) == "" {
				return fail(field+".expr", "required for branchone")
			}
			v.expr(m.ID, field+".expr", b.Expr)
		} else if b.Expr != "" {
			return fail(field+".expr", "only for branchone")
		}
		if err := v.modules(b.Modules, path+"."+field+".modules", level+1); err != nil {
			return err
		}
	}
	if len(mv.Default) > 0 && mv.Type != TypeBranchOne {
		return fail("value.default", "only for branchone")
	}
	return v.modules(mv.Default, path+".value.default", level+1)
}

// transform checks an input transform of module at field.
func (v *validator) transform(module, field string, t *InputTransform) *Error {
	switch t.Type {
	case "":
		return &Error{Module: module, Field: field + ".type", Message: `required ("static" or "javascript")`}
	case "static":
	case "javascript":
		if strings.TrimSpace(t.Expr) == "" {
			return &Error{Module: module, Field: field + ".expr", Message: "required for a javascript transform"}
		}
		v.expr(module, field+".expr", t.Expr)
	default:
		return &Error{Module: module, Field: field + ".type", Message: fmt.Sprintf(`must be "static" or "javascript", got %q`, t.Type)}
	}
	return nil
}

// checkPath checks a script or flow path: u/<user>/<name> or
// f/<folder>/<name>, maybe with more segments, each of [A-Za-z0-9_.-], no
// "..", at most 255 bytes. It returns "" or what is wrong.
func checkPath(p string) string {
	const want = "want u/<user>/<name> or f/<folder>/<name>"
	if len(p) > 255 {
		return fmt.Sprintf("path is %d bytes, over the limit of 255", len(p))
	}
	segs := strings.Split(p, "/")
	if len(segs) < 3 || segs[0] != "u" && segs[0] != "f" {
		return fmt.Sprintf("invalid path %q: %s", p, want)
	}
	if strings.Contains(p, "..") {
		return fmt.Sprintf(`invalid path %q: ".." not allowed`, p)
	}
	for _, s := range segs[1:] {
		if s == "" || s == "." {
			return fmt.Sprintf("invalid path %q: empty segment", p)
		}
		for _, c := range []byte(s) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
				return fmt.Sprintf("invalid path %q: character %q not allowed", p, c)
			}
		}
	}
	return ""
}

func isHash(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func nonNegative(fail func(string, string) *Error, field string, n int) *Error {
	if n < 0 {
		return fail(field, fmt.Sprintf("must not be negative, got %d", n))
	}
	return nil
}

func inRange(fail func(string, string) *Error, field string, n, lo, hi int) *Error {
	if n < lo || n > hi {
		return fail(field, fmt.Sprintf("must be between %d and %d, got %d", lo, hi, n))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
