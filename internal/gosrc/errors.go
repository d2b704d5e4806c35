package gosrc

import (
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
)

// Error is a problem found in a script. Its text starts with the position,
// "filename:line:col: ", when the position is known.
type Error struct {
	// Pos is where the problem is; Line and Column are 1-based, Offset is
	// the byte offset in the source. //line directives are ignored.
	Pos token.Position
	// Msg says what is wrong.
	Msg string
}

// Error returns "filename:line:col: msg".
func (e *Error) Error() string {
	if e.Pos.IsValid() {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Msg
}

// syntaxError turns the error of go/parser into an *Error at the first
// syntax error, positioned in src itself whatever //line directives say.
func syntaxError(filename string, src []byte, err error) *Error {
	var list scanner.ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		return &Error{Pos: token.Position{Filename: filename}, Msg: err.Error()}
	}
	msg := list[0].Msg
	if len(list) > 1 {
		msg += fmt.Sprintf(" (and %d more errors)", len(list)-1)
	}
	return &Error{Pos: positionAt(filename, src, list[0].Pos.Offset), Msg: msg}
}

// positionAt computes the position of byte offset off in src.
func positionAt(filename string, src []byte, off int) token.Position {
	off = max(0, min(off, len(src)))
	line, col := 1, 1
	for _, b := range src[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return token.Position{Filename: filename, Offset: off, Line: line, Column: col}
}
