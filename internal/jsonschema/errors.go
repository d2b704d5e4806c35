package jsonschema

import (
	"fmt"
	"strings"
)

// msgUnknown is the Message of a Problem about a parameter the schema does
// not declare.
const msgUnknown = "unknown parameter"

// Problem is one reason why a value does not fit a schema.
type Problem struct {
	// Path locates the value: "n" for a top-level parameter, "items[2]" for
	// an array element, "cfg.port" for an object property.
	Path string
	// Message says what is wrong, e.g. "want integer, got string".
	Message string
}

// String renders p as `parameter "n": want integer, got string`, or as
// `unknown parameter "x"` for a parameter the schema does not declare.
func (p Problem) String() string {
	if p.Message == msgUnknown {
		return fmt.Sprintf("%s %q", msgUnknown, p.Path)
	}
	return fmt.Sprintf("parameter %q: %s", p.Path, p.Message)
}

// Error is returned by Coerce and Validate; it lists every problem found.
// Callers reach it with errors.As.
type Error struct {
	Problems []Problem
}

// Error joins the problems with "; ".
func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// problemError returns an *Error holding one problem.
func problemError(path, format string, args ...any) *Error {
	return &Error{Problems: []Problem{{Path: path, Message: fmt.Sprintf(format, args...)}}}
}
