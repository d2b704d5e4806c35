package jsonschema

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks job arguments against the object schema s. args is what
// encoding/json decodes with UseNumber: numbers are json.Number (float64 and
// Go integers are accepted too), arrays []any and objects map[string]any.
//
// Every required parameter must be present; nil is allowed only where the
// schema is nullable. Values must match their schema recursively: an integer
// must be whole and fit in an int64, a "date-time" string must be RFC 3339,
// a "base64" string must decode with standard base64, a value must be one of
// the enum if there is one. Top-level parameters the schema does not declare
// are refused, unless s has no properties (free-form) or allows additional
// properties; nested objects refuse unknown properties only when their
// additionalProperties is false.
//
// The result is nil or an *Error listing every problem.
func Validate(s *Schema, args map[string]any) error {
	if s == nil {
		return nil
	}
	var v validator
	v.object(s, args, "", true)
	if len(v.problems) > 0 {
		return &Error{Problems: v.problems}
	}
	return nil
}

// validator collects problems.
type validator struct {
	problems []Problem
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// object checks the properties of m against the object schema s.
func (v *validator) object(s *Schema, m map[string]any, path string, top bool) {
	for _, name := range s.Required {
		if _, ok := m[name]; !ok {
			v.add(join(path, name), "missing required value")
		}
	}
	for _, name := range propertyOrder(s) {
		if val, ok := m[name]; ok {
			v.value(s.Properties[name], val, join(path, name))
		}
	}
	if allowsUnknown(s, top) {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if _, ok := s.Properties[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v.problems = append(v.problems, Problem{Path: join(path, k), Message: msgUnknown})
	}
}

// allowsUnknown reports whether the object schema s accepts properties it
// does not declare. A top-level schema refuses them unless it is free-form.
func allowsUnknown(s *Schema, top bool) bool {
	if s == nil {
		return true
	}
	if s.AdditionalProperties != nil {
		return *s.AdditionalProperties
	}
	return !top || len(s.Properties) == 0
}

// propertyOrder lists the properties of s: those in s.Order first, then the
// rest sorted, so that problems come out in a stable order.
func propertyOrder(s *Schema) []string {
	names := make([]string, 0, len(s.Properties))
	seen := make(map[string]bool, len(s.Properties))
	for _, n := range s.Order {
		if _, ok := s.Properties[n]; ok && !seen[n] {
			names = append(names, n)
			seen[n] = true
		}
	}
	rest := make([]string, 0, len(s.Properties)-len(names))
	for n := range s.Properties {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// value checks one value against s.
func (v *validator) value(s *Schema, val any, path string) {
	if s == nil || s.Type == "" && len(s.Enum) == 0 {
		return
	}
	if val == nil {
		if !s.Nullable && s.Type != "" {
			v.add(path, "want %s, got null", s.Type)
		}
		return
	}
	if len(s.OneOf) > 0 {
		var titles []string
		for _, alt := range s.OneOf {
			sub := &validator{}
			sub.value(alt, val, path)
			if len(sub.problems) == 0 {
				return
			}
			titles = append(titles, quote(alt.Title))
		}
		v.add(path, "matches none of the alternatives %s", strings.Join(titles, ", "))
		return
	}
	before := len(v.problems)
	switch s.Type {
	case "":
	case TypeInteger:
		if msg := integerProblem(val); msg != "" {
			v.add(path, "%s", msg)
		}
	case TypeNumber:
		if msg := numberProblem(val); msg != "" {
			v.add(path, "%s", msg)
		}
	case TypeBoolean:
		if _, ok := val.(bool); !ok {
			v.add(path, "want boolean, got %s", kindOf(val))
		}
	case TypeString:
		v.str(s, val, path)
	case TypeArray:
		items, ok := val.([]any)
		if !ok {
			v.add(path, "want array, got %s", kindOf(val))
			break
		}
		for i, item := range items {
			v.value(s.Items, item, fmt.Sprintf("%s[%d]", path, i))
		}
	case TypeObject:
		m, ok := val.(map[string]any)
		if !ok {
			v.add(path, "want object, got %s", kindOf(val))
			break
		}
		v.object(s, m, path, false)
	default:
		v.add(path, "schema has unsupported type %q", s.Type)
	}
	if len(v.problems) == before && len(s.Enum) > 0 && !enumContains(s.Enum, val) {
		v.add(path, "want one of %s, got %s", marshal(s.Enum), marshal(val))
	}
}

// str checks a string value, with its format and content encoding.
func (v *validator) str(s *Schema, val any, path string) {
	str, ok := val.(string)
	if !ok {
		v.add(path, "want string, got %s", kindOf(val))
		return
	}
	if s.Format == FormatDateTime {
		if _, err := time.Parse(time.RFC3339, str); err != nil {
			v.add(path, "want RFC 3339 date-time, got %s", quote(str))
		}
	}
	if s.ContentEncoding == EncodingBase64 {
		if _, err := base64.StdEncoding.DecodeString(str); err != nil {
			v.add(path, "want standard base64, got %s", quote(str))
		}
	}
}

// integerProblem says why val is not a whole number that fits in an int64,
// or returns "".
func integerProblem(val any) string {
	switch n := val.(type) {
	case json.Number:
		whole, fits, ok := jsonNumberInt(string(n))
		switch {
		case !ok:
			return fmt.Sprintf("want integer, got %s", quote(string(n)))
		case !whole:
			return fmt.Sprintf("want integer, got %s", n)
		case !fits:
			return fmt.Sprintf("integer %s out of int64 range", n)
		}
		return ""
	case float64:
		return floatIntegerProblem(n)
	case float32:
		return floatIntegerProblem(float64(n))
	case int, int8, int16, int32, int64, uint8, uint16, uint32:
		return ""
	case uint:
		return uintProblem(uint64(n))
	case uint64:
		return uintProblem(n)
	case uintptr:
		return uintProblem(uint64(n))
	}
	return fmt.Sprintf("want integer, got %s", kindOf(val))
}

func floatIntegerProblem(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f):
		return fmt.Sprintf("want integer, got %v", f)
	case f < math.MinInt64 || f >= math.MaxInt64: // float64(MaxInt64) is 2^63
		return fmt.Sprintf("integer %v out of int64 range", f)
	}
	return ""
}

func uintProblem(u uint64) string {
	if u > math.MaxInt64 {
		return fmt.Sprintf("integer %d out of int64 range", u)
	}
	return ""
}

// jsonNumberInt inspects the text of a JSON number exactly, without
// computing huge powers of ten: ok is false if s is not a number, whole is
// true if it has no fractional part, fits if it is whole and fits in int64.
func jsonNumberInt(s string) (whole, fits, ok bool) {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return true, true, true
	}
	mant, exp, hasExp := strings.Cut(s, "e")
	if !hasExp {
		mant, exp, hasExp = strings.Cut(s, "E")
	}
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	if !isDigits(intPart) || hasFrac && !isDigits(frac) {
		return false, false, false
	}
	e := 0
	if hasExp {
		expNeg := strings.HasPrefix(exp, "-")
		exp = strings.TrimPrefix(strings.TrimPrefix(exp, "-"), "+")
		if !isDigits(exp) {
			return false, false, false
		}
		exp = strings.TrimLeft(exp, "0")
		if len(exp) > 9 { // beyond any meaningful exponent: clamp
			exp = "999999999"
		}
		e, _ = strconv.Atoi("0" + exp)
		if expNeg {
			e = -e
		}
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	e -= len(frac)
	trimmed := strings.TrimRight(digits, "0")
	e += len(digits) - len(trimmed)
	digits = trimmed
	switch {
	case digits == "":
		return true, true, true // zero
	case e < 0:
		return false, false, true
	case len(digits)+e > 19:
		return true, false, true
	}
	text := digits + strings.Repeat("0", e)
	if neg {
		text = "-" + text
	}
	_, err := strconv.ParseInt(text, 10, 64)
	return true, err == nil, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// numberProblem says why val is not a finite number, or returns "".
func numberProblem(val any) string {
	switch n := val.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Sprintf("want number, got %s", quote(string(n)))
		}
		return ""
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return fmt.Sprintf("want finite number, got %v", n)
		}
		return ""
	case float32:
		return numberProblem(float64(n))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
		return ""
	}
	return fmt.Sprintf("want number, got %s", kindOf(val))
}

// kindOf names the JSON kind of a decoded value.
func kindOf(val any) string {
	switch val.(type) {
	case nil:
		return "null"
	case string:
		return TypeString
	case bool:
		return TypeBoolean
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
		return TypeNumber
	case []any:
		return TypeArray
	case map[string]any:
		return TypeObject
	}
	return fmt.Sprintf("%T", val)
}

// enumContains reports whether val equals one of enum as JSON values.
func enumContains(enum []any, val any) bool {
	for _, e := range enum {
		if jsonEqual(e, val) {
			return true
		}
	}
	return false
}

// jsonEqual compares two values by their JSON encoding; numbers compare by
// value, so that 3 equals 3.0.
func jsonEqual(a, b any) bool {
	ab, errA := json.Marshal(a)
	bb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return false
	}
	if string(ab) == string(bb) {
		return true
	}
	if kindOf(a) != TypeNumber || kindOf(b) != TypeNumber {
		return false
	}
	af, errA := strconv.ParseFloat(string(ab), 64)
	bf, errB := strconv.ParseFloat(string(bb), 64)
	return errA == nil && errB == nil && af == bf
}

// marshal renders v as JSON for an error message.
func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// join appends a property name to a path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
