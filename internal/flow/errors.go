package flow

import (
	"errors"
	"fmt"
)

// Error is an invalid flow document: the first problem found, in document
// order. Module is the id of the module at fault ("" when the problem is
// outside any module, or the module has no usable id); Field is then
// relative to that module (e.g. "value.iterator"), otherwise a path from
// the document's root (e.g. "value.modules[2].id").
type Error struct {
	Module  string
	Field   string
	Message string
}

func (e *Error) Error() string {
	s := e.Message
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	if e.Module != "" {
		s = fmt.Sprintf("module %q: %s", e.Module, s)
	}
	return s
}

// Warning is a problem Parse tolerated, such as an unknown field. Field is
// a path from the document's root, like "value.modules[2].value.foo".
type Warning struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (w Warning) String() string { return w.Field + ": " + w.Message }

// ErrNotSimple is returned (wrapped) by Path.Eval when the Go fast path
// cannot give JavaScript's answer — the root is not in env, or the
// expression reads a built-in method such as "map" — and the expression
// must be evaluated in the sandbox instead.
var ErrNotSimple = errors.New("flow: expression needs the sandbox")

// JSError is the exception JavaScript would throw evaluating a simple
// expression, such as reading a property of undefined.
type JSError struct {
	Name    string // "TypeError"
	Message string // "cannot read properties of undefined (reading 'x')"
}

func (e *JSError) Error() string { return e.Name + ": " + e.Message }
