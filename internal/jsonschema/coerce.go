package jsonschema

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
)

// Coerce turns the raw text of a command-line argument `--arg name=raw` into
// a typed JSON value, using the schema of property name in the object schema s:
//
//   - integer: int64; "3.5" or "abc" are refused
//   - number: float64 (finite)
//   - boolean: true for "true" or "1", false for "false" or "0"
//   - string: raw, unchanged
//   - object, array: raw decoded as JSON (numbers as json.Number), which must
//     be an object or an array respectively
//   - no type: raw decoded as JSON if it is valid JSON, else raw as a string
//
// For a nullable property that is not a string, raw "null" gives nil.
// A name that s does not declare is refused, unless s is free-form (it has no
// properties) or allows additional properties; such a name is coerced as a
// property without type. Errors are *Error values naming the parameter.
func Coerce(s *Schema, name, raw string) (any, error) {
	var prop *Schema
	if s != nil {
		prop = s.Properties[name]
	}
	if prop == nil {
		if !allowsUnknown(s, true) {
			return nil, &Error{Problems: []Problem{{Path: name, Message: msgUnknown}}}
		}
		prop = &Schema{}
	}
	return coerceValue(prop, name, raw)
}

// coerceValue converts raw by the property schema p.
func coerceValue(p *Schema, name, raw string) (any, error) {
	if p.Nullable && p.Type != TypeString && raw == "null" {
		return nil, nil
	}
	switch p.Type {
	case TypeString:
		return raw, nil
	case TypeInteger:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, problemError(name, "integer %s out of int64 range", quote(raw))
			}
			return nil, problemError(name, "want integer, got %s", quote(raw))
		}
		return n, nil
	case TypeNumber:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, problemError(name, "want number, got %s", quote(raw))
		}
		return f, nil
	case TypeBoolean:
		switch raw {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return nil, problemError(name, "want boolean (true, false, 1 or 0), got %s", quote(raw))
	case TypeObject, TypeArray:
		v, err := decodeJSON(raw)
		if err != nil {
			return nil, problemError(name, "want JSON %s, got invalid JSON: %v", p.Type, err)
		}
		if got := kindOf(v); got != p.Type {
			return nil, problemError(name, "want %s, got %s", p.Type, got)
		}
		return v, nil
	case "":
		if v, err := decodeJSON(raw); err == nil {
			return v, nil
		}
		return raw, nil
	}
	return nil, problemError(name, "schema has unsupported type %q", p.Type)
}

// decodeJSON decodes exactly one JSON value from raw, numbers as json.Number.
func decodeJSON(raw string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// quote quotes s for an error message, shortening long values.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
