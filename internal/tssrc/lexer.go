package tssrc

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a token.
type tokKind int

// The kinds of tokens the lexer produces.
const (
	tokEOF      tokKind = iota
	tokIdent            // identifier or keyword
	tokString           // '...' or "..."
	tokTemplate         // `...`, possibly with ${...} substitutions
	tokNumber           // numeric literal, including bigint 10n
	tokRegex            // /.../flags
	tokPunct            // punctuation: one character, or "..." or "=>"
)

// token is one lexical token of the source.
type token struct {
	kind tokKind
	// text is the token as written, except for strings and templates
	// without substitutions, whose text is the decoded value.
	text string
	// off is the byte offset of the token in the source.
	off int
	// subst is true for a template literal with ${...} substitutions.
	subst bool
}

// maxTemplateDepth bounds the nesting of template literals in ${...}.
const maxTemplateDepth = 64

// lexer splits TypeScript source into tokens. It knows just enough of the
// language to skip comments, strings, templates and regular expressions.
type lexer struct {
	file string
	src  []byte
	pos  int
	toks []token
	// noRegex is the end of a line on which a regular expression did not
	// end: a '/' before it is a division, which keeps lexing linear.
	noRegex int
}

// lex returns the tokens of src, ending with a tokEOF token.
func lex(file string, src []byte) ([]token, error) {
	l := &lexer{file: file, src: src}
	if strings.HasPrefix(string(src), "#!") {
		for l.pos < len(src) && src[l.pos] != '\n' {
			l.pos++
		}
	}
	if _, err := l.run(0, false); err != nil {
		return nil, err
	}
	l.toks = append(l.toks, token{kind: tokEOF, off: len(src)})
	return l.toks, nil
}

// errorf returns an *Error at byte offset off.
func (l *lexer) errorf(off int, format string, args ...any) error {
	return errorAt(l.file, l.src, off, format, args...)
}

// run lexes tokens until the end of the source or, when inSubst is set,
// until the '}' closing a template substitution, which it consumes.
// depth counts the enclosing template substitutions. closed tells whether
// the closing '}' was found.
func (l *lexer) run(depth int, inSubst bool) (closed bool, err error) {
	braces := 0
	for {
		if err := l.skipSpace(); err != nil {
			return false, err
		}
		if l.pos >= len(l.src) {
			return false, nil
		}
		start := l.pos
		c := l.src[l.pos]
		switch {
		case c == '\'' || c == '"':
			s, err := l.lexString(c)
			if err != nil {
				return false, err
			}
			l.emit(token{kind: tokString, text: s, off: start})
		case c == '`':
			s, subst, err := l.lexTemplate(depth)
			if err != nil {
				return false, err
			}
			l.emit(token{kind: tokTemplate, text: s, off: start, subst: subst})
		case isDigit(c) || (c == '.' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1])):
			l.lexNumber()
			l.emit(token{kind: tokNumber, text: string(l.src[start:l.pos]), off: start})
		case c == '/' && l.regexAllowed():
			if l.lexRegex() {
				l.emit(token{kind: tokRegex, text: string(l.src[start:l.pos]), off: start})
			} else {
				l.pos++
				l.emit(token{kind: tokPunct, text: "/", off: start})
			}
		default:
			r, size := utf8.DecodeRune(l.src[l.pos:])
			if isIdentStart(r) {
				l.pos += size
				for l.pos < len(l.src) {
					r, size := utf8.DecodeRune(l.src[l.pos:])
					if !isIdentPart(r) {
						break
					}
					l.pos += size
				}
				l.emit(token{kind: tokIdent, text: string(l.src[start:l.pos]), off: start})
				continue
			}
			text := string(l.src[l.pos : l.pos+size])
			if bytes.HasPrefix(l.src[l.pos:], []byte("...")) {
				text = "..."
			} else if bytes.HasPrefix(l.src[l.pos:], []byte("=>")) {
				text = "=>"
			}
			l.pos += len(text)
			if inSubst {
				switch text {
				case "{":
					braces++
				case "}":
					if braces == 0 {
						return true, nil
					}
					braces--
				}
			}
			l.emit(token{kind: tokPunct, text: text, off: start})
		}
	}
}

// emit appends t to the tokens.
func (l *lexer) emit(t token) { l.toks = append(l.toks, t) }

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.pos++
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '/':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '*':
			end := bytes.Index(l.src[l.pos+2:], []byte("*/"))
			if end < 0 {
				return l.errorf(l.pos, "unterminated comment")
			}
			l.pos += 2 + end + 2
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(l.src[l.pos:])
			if !unicode.IsSpace(r) && r != '\uFEFF' {
				return nil
			}
			l.pos += size
		default:
			return nil
		}
	}
	return nil
}

// regexAllowed tells whether a '/' at this point starts a regular
// expression rather than being a division, from the previous token.
func (l *lexer) regexAllowed() bool {
	if l.pos < l.noRegex {
		return false
	}
	if len(l.toks) == 0 {
		return true
	}
	t := l.toks[len(l.toks)-1]
	switch t.kind {
	case tokPunct:
		return t.text != ")" && t.text != "]" && t.text != "}"
	case tokIdent:
		switch t.text {
		case "return", "typeof", "case", "do", "else", "in", "of", "new", "delete",
			"void", "throw", "instanceof", "yield", "await":
			return true
		}
	}
	return false
}

// lexRegex consumes a regular expression literal and reports true, or
// consumes nothing and reports false when the line ends before it does.
func (l *lexer) lexRegex() bool {
	i, class := l.pos+1, false
	for i < len(l.src) {
		switch c := l.src[i]; {
		case c == '\n' || c == '\r':
			l.noRegex = i
			return false
		case c == '\\':
			i++
		case c == '[':
			class = true
		case c == ']':
			class = false
		case c == '/' && !class:
			i++
			for i < len(l.src) && (isIdentByte(l.src[i])) {
				i++
			}
			l.pos = i
			return true
		}
		i++
	}
	l.noRegex = len(l.src)
	return false
}

// lexNumber consumes a numeric literal.
func (l *lexer) lexNumber() {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case isIdentByte(c) || c == '.':
			l.pos++
		case (c == '+' || c == '-') && (l.src[l.pos-1] == 'e' || l.src[l.pos-1] == 'E') && isDecimalStart(l.src, l.pos):
			l.pos++
		default:
			return
		}
	}
}

// isDecimalStart tells whether the number ending before pos is not hex,
// so that an 'e' in it is an exponent.
func isDecimalStart(src []byte, pos int) bool {
	i := pos - 1
	for i > 0 && (isIdentByte(src[i-1]) || src[i-1] == '.') {
		i--
	}
	return !(pos-i > 1 && src[i] == '0' && (src[i+1] == 'x' || src[i+1] == 'X'))
}

// lexString consumes a string quoted by q and returns its value.
func (l *lexer) lexString(q byte) (string, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for {
		if l.pos >= len(l.src) || l.src[l.pos] == '\n' || l.src[l.pos] == '\r' {
			return "", l.errorf(start, "unterminated string")
		}
		c := l.src[l.pos]
		if c == q {
			l.pos++
			return b.String(), nil
		}
		if c == '\\' {
			if err := l.escape(&b); err != nil {
				return "", err
			}
			continue
		}
		b.WriteByte(c)
		l.pos++
	}
}

// lexTemplate consumes a template literal. For a template without
// substitutions it returns the value; subst tells whether it has any.
func (l *lexer) lexTemplate(depth int) (string, bool, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	subst := false
	for {
		if l.pos >= len(l.src) {
			return "", false, l.errorf(start, "unterminated template literal")
		}
		c := l.src[l.pos]
		switch {
		case c == '`':
			l.pos++
			return b.String(), subst, nil
		case c == '\\':
			if err := l.escape(&b); err != nil {
				return "", false, err
			}
		case c == '$' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '{':
			if depth+1 > maxTemplateDepth {
				return "", false, l.errorf(l.pos, "template literals nest more than %d levels deep", maxTemplateDepth)
			}
			open := l.pos
			l.pos += 2
			subst = true
			// The tokens of the substitution are not needed: drop them.
			n := len(l.toks)
			closed, err := l.run(depth+1, true)
			if err != nil {
				return "", false, err
			}
			l.toks = l.toks[:n]
			if !closed {
				return "", false, l.errorf(open, "unterminated ${ in template literal")
			}
		case c == '\r':
			l.pos++
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
}

// escape consumes the escape sequence at l.pos and writes its value to b.
func (l *lexer) escape(b *strings.Builder) error {
	start := l.pos
	l.pos++
	if l.pos >= len(l.src) {
		return l.errorf(start, "unterminated escape sequence")
	}
	c := l.src[l.pos]
	l.pos++
	switch c {
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
		b.WriteByte(0)
	case '\r':
		if l.pos < len(l.src) && l.src[l.pos] == '\n' {
			l.pos++
		}
	case '\n':
	case 'x':
		if l.pos+2 > len(l.src) {
			return l.errorf(start, "invalid escape sequence")
		}
		n, err := strconv.ParseUint(string(l.src[l.pos:l.pos+2]), 16, 8)
		if err != nil {
			return l.errorf(start, "invalid escape sequence")
		}
		l.pos += 2
		b.WriteRune(rune(n))
	case 'u':
		var hex string
		if l.pos < len(l.src) && l.src[l.pos] == '{' {
			end := bytes.IndexByte(l.src[l.pos:min(l.pos+12, len(l.src))], '}')
			if end < 0 || end > 9 {
				return l.errorf(start, "invalid escape sequence")
			}
			hex = string(l.src[l.pos+1 : l.pos+end])
			l.pos += end + 1
		} else {
			if l.pos+4 > len(l.src) {
				return l.errorf(start, "invalid escape sequence")
			}
			hex = string(l.src[l.pos : l.pos+4])
			l.pos += 4
		}
		n, err := strconv.ParseUint(hex, 16, 32)
		if err != nil || n > unicode.MaxRune {
			return l.errorf(start, "invalid escape sequence")
		}
		b.WriteRune(rune(n))
	default:
		l.pos--
		_, size := utf8.DecodeRune(l.src[l.pos:])
		b.Write(l.src[l.pos : l.pos+size])
		l.pos += size
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentStart(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r)
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || unicode.IsDigit(r) || r == '\u200c' || r == '\u200d'
}
