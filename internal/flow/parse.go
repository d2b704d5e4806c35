package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Parse reads a flow document, JSON or YAML, and validates it (see
// Validate). A document whose first non-space byte is '{' is JSON;
// anything else is YAML, converted to JSON first so that one decoder
// applies to both.
//
// Field names match exactly (not case-insensitively, unlike
// encoding/json). Unknown fields, at any level, are ignored and reported
// as warnings. The result is canonical: language names are normalized, the
// failure module's id is "failure", empty optional lists are nil and raw
// JSON values (schema, static values, mock results) are compact, with
// "null" stored as nil. json.Marshal of the result parses back to an equal
// Flow.
//
// Every error is an *Error. The size limit is checked first, then YAML's
// shape, then JSON types and nesting depth while decoding, then Validate's
// rules. Warnings found before an error are returned with it.
func Parse(data []byte, opt Options) (*Flow, []Warning, error) {
	opt = opt.withDefaults()
	if len(data) > opt.MaxBytes {
		return nil, nil, &Error{Message: fmt.Sprintf("document is %d bytes, over the limit of %d", len(data), opt.MaxBytes)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, nil, &Error{Message: "empty document"}
	}
	js := data
	if trimmed[0] != '{' {
		var err *Error
		if js, err = yamlToJSON(data, opt); err != nil {
			return nil, nil, err
		}
	}
	var raw json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, nil, jsonSyntaxError(js, err)
	}
	if raw[0] != '{' {
		return nil, nil, &Error{Message: "the document must be an object, got " + jsonKind(raw)}
	}
	d := decoder{opt: opt}
	var f Flow
	if err := d.decode(raw, reflect.ValueOf(&f).Elem(), "", nil); err != nil {
		return nil, d.warnings, err
	}
	if err := validate(&f, opt); err != nil {
		return nil, d.warnings, err
	}
	return &f, d.warnings, nil
}

// jsonSyntaxError locates a JSON syntax error by line and column.
func jsonSyntaxError(data []byte, err error) *Error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return &Error{Message: "invalid JSON: " + err.Error()}
	}
	line, col := lineCol(data, int(se.Offset)-1) // Offset is just past the bad byte
	return &Error{Message: fmt.Sprintf("invalid JSON at %d:%d: %s", line, col, se.Error())}
}

// lineCol gives the 1-based line and column (in bytes) of offset in data.
func lineCol(data []byte, offset int) (line, col int) {
	offset = min(max(offset, 0), len(data))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = offset - bytes.LastIndexByte(before, '\n')
	return line, col
}

// jsonKind names the kind of a JSON value by its first byte.
func jsonKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
