package tssrc

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Error is a problem found in a script, at a 1-based line and column
// (columns count characters, not bytes).
type Error struct {
	// Line and Col locate the problem; both are 0 when it is unknown.
	Line, Col int
	// Msg says what is wrong.
	Msg string
	// File is the file name given to Parse.
	File string
}

// Error returns "file:line:col: msg".
func (e *Error) Error() string {
	if e.Line == 0 {
		if e.File == "" {
			return e.Msg
		}
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col) + ": " + e.Msg
}

// errorAt returns an *Error at byte offset off of src.
func errorAt(file string, src []byte, off int, format string, args ...any) *Error {
	off = max(0, min(off, len(src)))
	line, start := 1, 0
	for i, b := range src[:off] {
		if b == '\n' {
			line, start = line+1, i+1
		}
	}
	return &Error{Line: line, Col: utf8.RuneCount(src[start:off]) + 1, Msg: fmt.Sprintf(format, args...), File: file}
}
