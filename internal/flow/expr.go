package flow

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Path is a simple expression: a literal, or a chain of property reads
// from an identifier, which Go can evaluate without a sandbox. Build one
// with Simple.
type Path struct {
	src   string
	root  string // "" for a literal
	segs  []segment
	lit   any  // the literal's value
	undef bool // the literal undefined
}

type segment struct {
	key      string // property name; array indices in decimal
	optional bool   // read with ?.
}

// String is the expression as given.
func (p Path) String() string { return p.src }

// Simple parses expr when it is simple enough for Path.Eval: the literals
// true, false, null, undefined, a JSON number or a quoted string; or an
// identifier followed by any number of .name, ?.name, [index], ["key"] or
// ['key'] reads (index a non-negative integer), with optional whitespace
// between them. Anything else — operators, calls, comments, reserved words
// as the root — is not simple and needs the sandbox.
func Simple(expr string) (Path, bool) {
	p := Path{src: expr}
	s := exprScanner{src: expr}
	s.space()
	if s.eof() {
		return Path{}, false
	}
	switch c := s.peek(); {
	case c == '"' || c == '\'':
		str, ok := s.str()
		if !ok {
			return Path{}, false
		}
		p.lit = str
	case c == '-' || c >= '0' && c <= '9':
		num, ok := s.number()
		if !ok {
			return Path{}, false
		}
		p.lit = num
	case isIdentStart(c):
		id := s.ident()
		switch id {
		case "true", "false":
			p.lit = id == "true"
		case "null":
		case "undefined":
			p.undef = true
		default:
			if reservedWords[id] {
				return Path{}, false
			}
			p.root = id
		}
	default:
		return Path{}, false
	}
	for {
		s.space()
		if s.eof() {
			return p, true
		}
		if p.root == "" { // a literal stands alone
			return Path{}, false
		}
		var seg segment
		if strings.HasPrefix(s.src[s.i:], "?.") {
			seg.optional = true
			s.i += 2
			if !s.eof() && s.peek() >= '0' && s.peek() <= '9' {
				return Path{}, false // a?.5:1 is a conditional
			}
			s.space()
			if !s.eof() && s.peek() != '[' {
				if !s.name(&seg) {
					return Path{}, false
				}
				p.segs = append(p.segs, seg)
				continue
			}
		}
		switch {
		case s.eof():
			return Path{}, false
		case s.peek() == '.' && !seg.optional:
			s.i++
			s.space()
			if !s.name(&seg) {
				return Path{}, false
			}
		case s.peek() == '[':
			s.i++
			s.space()
			if s.eof() {
				return Path{}, false
			}
			if c := s.peek(); c == '"' || c == '\'' {
				key, ok := s.str()
				if !ok {
					return Path{}, false
				}
				seg.key = key
			} else {
				idx, ok := s.index()
				if !ok {
					return Path{}, false
				}
				seg.key = idx
			}
			s.space()
			if s.eof() || s.peek() != ']' {
				return Path{}, false
			}
			s.i++
		default:
			return Path{}, false
		}
		p.segs = append(p.segs, seg)
	}
}

// Eval evaluates the path over env, the expression's global variables, as
// JavaScript would: a missing property is undefined (defined false, v nil),
// null is (nil, true), and reading a property of undefined or null throws
// a *JSError TypeError — unless read with ?., which makes the whole chain
// undefined. Arrays and strings have a length (a float64); a string's
// [i] is its i-th UTF-16 unit. Values are returned as env holds them;
// env's JSON may be decoded (map[string]any, []any, float64, json.Number,
// int, string, bool, nil) or raw (json.RawMessage, decoded on the way
// with UseNumber). When JavaScript would find something Go cannot mirror —
// a root missing from env (a built-in global or a ReferenceError), or a
// built-in method such as [].map — Eval returns an error wrapping
// ErrNotSimple: evaluate the expression in the sandbox instead.
func (p Path) Eval(env map[string]any) (v any, defined bool, err error) {
	if p.root == "" {
		return p.lit, !p.undef, nil
	}
	v, ok := env[p.root]
	if !ok {
		return nil, false, fmt.Errorf("%w: %s is not in env", ErrNotSimple, p.root)
	}
	defined = true
	for _, s := range p.segs {
		if v, err = unraw(v); err != nil {
			return nil, false, err
		}
		if !defined || v == nil {
			if s.optional {
				return nil, false, nil
			}
			what := "null"
			if !defined {
				what = "undefined"
			}
			return nil, false, &JSError{Name: "TypeError", Message: fmt.Sprintf("cannot read properties of %s (reading '%s')", what, s.key)}
		}
		if v, defined, err = property(v, s.key); err != nil {
			return nil, false, err
		}
	}
	return v, defined, nil
}

// unraw decodes a json.RawMessage.
func unraw(v any) (any, error) {
	raw, ok := v.(json.RawMessage)
	if !ok {
		return v, nil
	}
	var out any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("flow: decode value: %w", err)
	}
	return out, nil
}

// property reads v[key] for a non-nullish v.
func property(v any, key string) (any, bool, error) {
	notSimple := func() (any, bool, error) {
		return nil, false, fmt.Errorf("%w: reads built-in %q of %T", ErrNotSimple, key, v)
	}
	switch x := v.(type) {
	case map[string]any:
		if e, ok := x[key]; ok {
			return e, true, nil
		}
		if objectProto[key] {
			return notSimple()
		}
		return nil, false, nil
	case []any:
		if key == "length" {
			return float64(len(x)), true, nil
		}
		if i, ok := arrayIndex(key); ok {
			if i < len(x) {
				return x[i], true, nil
			}
			return nil, false, nil
		}
		if objectProto[key] || arrayProto[key] {
			return notSimple()
		}
		return nil, false, nil
	case string:
		if key == "length" {
			return float64(utf16Len(x)), true, nil
		}
		if i, ok := arrayIndex(key); ok {
			u, ok := utf16At(x, i)
			if !ok {
				return nil, false, nil
			}
			if utf16.IsSurrogate(rune(u)) {
				return notSimple() // half a character: Go strings cannot hold it
			}
			return string(rune(u)), true, nil
		}
		if objectProto[key] || stringProto[key] {
			return notSimple()
		}
		return nil, false, nil
	case bool, float64, float32, json.Number, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		if objectProto[key] || numberProto[key] {
			return notSimple()
		}
		return nil, false, nil
	}
	// Other Go maps and slices, by reflection.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		if rv.IsNil() {
			return nil, false, &JSError{Name: "TypeError", Message: fmt.Sprintf("cannot read properties of null (reading '%s')", key)}
		}
		if e := rv.MapIndex(reflect.ValueOf(key).Convert(rv.Type().Key())); e.IsValid() {
			return e.Interface(), true, nil
		}
		if objectProto[key] {
			return notSimple()
		}
		return nil, false, nil
	case reflect.Slice, reflect.Array:
		if key == "length" {
			return float64(rv.Len()), true, nil
		}
		if i, ok := arrayIndex(key); ok {
			if i < rv.Len() {
				return rv.Index(i).Interface(), true, nil
			}
			return nil, false, nil
		}
		if objectProto[key] || arrayProto[key] {
			return notSimple()
		}
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("%w: value of type %T", ErrNotSimple, v)
}

// arrayIndex parses a canonical array index ("0", "17", not "01").
func arrayIndex(key string) (int, bool) {
	if key == "" || len(key) > 15 || key[0] == '0' && len(key) > 1 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(key) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// utf16At is the i-th UTF-16 code unit of s.
func utf16At(s string, i int) (uint16, bool) {
	for _, r := range s {
		if r >= 0x10000 {
			if i < 2 {
				hi, lo := utf16.EncodeRune(r)
				return uint16([]rune{hi, lo}[i]), true
			}
			i -= 2
			continue
		}
		if i == 0 {
			return uint16(r), true
		}
		i--
	}
	return 0, false
}

// exprScanner reads the tokens of a simple expression.
type exprScanner struct {
	src string
	i   int
}

func (s *exprScanner) eof() bool  { return s.i >= len(s.src) }
func (s *exprScanner) peek() byte { return s.src[s.i] }

func (s *exprScanner) space() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			s.i++
		default:
			return
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// ident reads an ASCII identifier ("" if none). One followed by a
// non-ASCII byte or a backslash is refused, as it may continue.
func (s *exprScanner) ident() string {
	start := s.i
	if s.eof() || !isIdentStart(s.peek()) {
		return ""
	}
	for !s.eof() && isIdentPart(s.peek()) {
		s.i++
	}
	if !s.eof() && (s.peek() >= utf8.RuneSelf || s.peek() == '\\') {
		return ""
	}
	return s.src[start:s.i]
}

// name reads a property name after "." into seg.
func (s *exprScanner) name(seg *segment) bool {
	seg.key = s.ident()
	return seg.key != ""
}

// index reads a non-negative integer below 2^53.
func (s *exprScanner) index() (string, bool) {
	start := s.i
	for !s.eof() && s.peek() >= '0' && s.peek() <= '9' {
		s.i++
	}
	d := s.src[start:s.i]
	if _, ok := arrayIndex(d); !ok {
		return "", false
	}
	if !s.eof() && (isIdentPart(s.peek()) || s.peek() == '.') {
		return "", false // 1e3, 1.5, 1n
	}
	return d, true
}

// number reads a JSON number.
func (s *exprScanner) number() (float64, bool) {
	start := s.i
	for !s.eof() && strings.IndexByte("+-.0123456789eE", s.peek()) >= 0 {
		s.i++
	}
	lit := s.src[start:s.i]
	if !isJSONNumber(lit) {
		return 0, false
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil { // out of range: JavaScript gives Infinity
		return 0, false
	}
	return f, true
}

func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// str reads a JavaScript string literal, '...' or "...". Escapes that
// would make a lone surrogate, and legacy octal escapes, are refused.
func (s *exprScanner) str() (string, bool) {
	q := s.peek()
	s.i++
	var b strings.Builder
	for !s.eof() {
		c := s.peek()
		switch {
		case c == q:
			s.i++
			return b.String(), true
		case c == '\n' || c == '\r':
			return "", false
		case c != '\\':
			b.WriteByte(c)
			s.i++
			continue
		}
		s.i++ // the backslash
		if s.eof() {
			return "", false
		}
		e := s.peek()
		s.i++
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '0':
			if !s.eof() && s.peek() >= '0' && s.peek() <= '9' {
				return "", false
			}
			b.WriteByte(0)
		case 'x':
			if s.i+2 > len(s.src) {
				return "", false
			}
			n, err := strconv.ParseUint(s.src[s.i:s.i+2], 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteRune(rune(n))
			s.i += 2
		case 'u':
			r, ok := s.unicodeEscape()
			if !ok {
				return "", false
			}
			b.WriteRune(r)
		case '\r', '\n', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return "", false // line continuations and octal: leave them to the sandbox
		default:
			if e >= utf8.RuneSelf {
				return "", false
			}
			b.WriteByte(e)
		}
	}
	return "", false
}

// unicodeEscape reads what follows \u: XXXX (a surrogate pair as two
// escapes) or {X...}.
func (s *exprScanner) unicodeEscape() (rune, bool) {
	hex4 := func() (rune, bool) {
		if s.i+4 > len(s.src) {
			return 0, false
		}
		h := s.src[s.i : s.i+4]
		if strings.ContainsAny(h, "+-_") {
			return 0, false
		}
		n, err := strconv.ParseUint(h, 16, 16)
		if err != nil {
			return 0, false
		}
		s.i += 4
		return rune(n), true
	}
	if !s.eof() && s.peek() == '{' {
		end := strings.IndexByte(s.src[s.i:], '}')
		if end < 2 || end > 9 {
			return 0, false
		}
		h := s.src[s.i+1 : s.i+end]
		if strings.ContainsAny(h, "+-_") {
			return 0, false
		}
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil || n > utf8.MaxRune || utf16.IsSurrogate(rune(n)) {
			return 0, false
		}
		s.i += end + 1
		return rune(n), true
	}
	r, ok := hex4()
	if !ok {
		return 0, false
	}
	if !utf16.IsSurrogate(r) {
		return r, true
	}
	if r >= 0xDC00 || !strings.HasPrefix(s.src[s.i:], `\u`) {
		return 0, false // a lone surrogate
	}
	s.i += 2
	lo, ok := hex4()
	if !ok {
		return 0, false
	}
	pair := utf16.DecodeRune(r, lo)
	if pair == utf8.RuneError {
		return 0, false
	}
	return pair, true
}

// reservedWords cannot be a simple expression's root.
var reservedWords = setOf("await break case catch class const continue debugger default delete do else enum export extends finally for function if implements import in instanceof interface let new package private protected public return static super switch this throw try typeof var void while with yield arguments eval NaN Infinity globalThis")

// The built-in properties of plain objects, arrays, strings and numbers,
// which JavaScript finds through the prototype when the value lacks them.
var (
	objectProto = setOf("constructor hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString toString valueOf __proto__ __defineGetter__ __defineSetter__ __lookupGetter__ __lookupSetter__")
	arrayProto  = setOf("at concat copyWithin entries every fill filter find findIndex findLast findLastIndex flat flatMap forEach includes indexOf join keys lastIndexOf map pop push reduce reduceRight reverse shift slice some sort splice toReversed toSorted toSpliced unshift values with")
	stringProto = setOf("anchor at big blink bold charAt charCodeAt codePointAt concat endsWith fixed fontcolor fontsize includes indexOf isWellFormed italics lastIndexOf link localeCompare match matchAll normalize padEnd padStart repeat replace replaceAll search slice small split startsWith strike sub substr substring sup toLocaleLowerCase toLocaleUpperCase toLowerCase toUpperCase toWellFormed trim trimEnd trimLeft trimRight trimStart")
	numberProto = setOf("toExponential toFixed toPrecision")
)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
