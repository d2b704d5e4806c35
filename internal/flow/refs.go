package flow

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Refs reports which results an expression reads: the ids in results.<id>,
// results?.<id>, results["id"] and results['id'] (sorted, once each). all
// is true when the expression may read results some other way —
// results[k], Object.keys(results), an alias through eval, globalThis or
// this — or when the scan is unsure (a non-ASCII or escaped identifier, an
// unterminated literal, "results" inside a string or comment): then the
// caller must provide every result, and ids is not the whole story.
//
// The scan is lexical: it skips strings, comments, regular expressions and
// template text (not the code in ${...}). It errs towards all.
func Refs(expr string) (ids []string, all bool) {
	s := refScanner{src: expr}
	refs, counted := s.scan()
	if s.unsure || countWord(expr, "results") != counted {
		all = true
	}
	for _, r := range refs {
		if r == "" {
			all = true
			continue
		}
		if !slices.Contains(ids, r) {
			ids = append(ids, r)
		}
	}
	slices.Sort(ids)
	return ids, all
}

// refToken is one lexical token of an expression.
type refToken struct {
	kind byte   // 'i' identifier, 's' string or plain template, 'p' punctuator, 'n' number, 'r' regexp, 't' template with code
	text string // identifier or punctuator text, string value
}

type refScanner struct {
	src    string
	i      int
	unsure bool
	toks   []refToken
	// braces counts open { per template nesting level: when a } closes
	// level 0 of the innermost ${, the template text resumes.
	braces []int
}

// aliases reach results without naming it.
var aliases = setOf("eval Function globalThis this window self global")

// scan tokenizes the source, then reads each use of results. It returns
// the ids read ("" for a use that may read any) and how many times the
// identifier results appeared in code.
func (s *refScanner) scan() (refs []string, counted int) {
	s.tokenize()
	toks := s.toks
	for i, t := range toks {
		if t.kind != 'i' {
			continue
		}
		afterDot := i > 0 && toks[i-1].kind == 'p' && (toks[i-1].text == "." || toks[i-1].text == "?.")
		if aliases[t.text] && !afterDot {
			s.unsure = true
		}
		if t.text != "results" {
			continue
		}
		counted++
		if afterDot {
			continue // x.results is someone else's
		}
		refs = append(refs, resultRef(toks[i+1:]))
	}
	return refs, counted
}

// resultRef reads the id after results from the tokens that follow it, or
// "" when results is used otherwise.
func resultRef(next []refToken) string {
	if len(next) >= 2 && next[0].kind == 'p' && (next[0].text == "." || next[0].text == "?.") && next[1].kind == 'i' {
		return next[1].text
	}
	if len(next) >= 2 && next[0].kind == 'p' && next[0].text == "?." {
		next = next[1:]
	}
	if len(next) >= 3 && next[0].kind == 'p' && next[0].text == "[" && next[1].kind == 's' && next[2].kind == 'p' && next[2].text == "]" {
		return next[1].text
	}
	return ""
}

// regexAfter reports whether a / after these tokens starts a regular
// expression rather than dividing.
func regexAfter(toks []refToken) bool {
	if len(toks) == 0 {
		return true
	}
	t := toks[len(toks)-1]
	switch t.kind {
	case 'p':
		return t.text != ")" && t.text != "]" && t.text != "}"
	case 'i':
		return regexKeywords[t.text]
	}
	return false
}

var regexKeywords = setOf("return typeof instanceof in of new delete void throw case do else yield await")

func (s *refScanner) tokenize() {
	for !s.unsure && s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			s.i++
		case c == '/' && strings.HasPrefix(s.src[s.i:], "//"):
			end := strings.IndexAny(s.src[s.i:], "\n\r")
			if end < 0 {
				s.i = len(s.src)
			} else {
				s.i += end
			}
		case c == '/' && strings.HasPrefix(s.src[s.i:], "/*"):
			end := strings.Index(s.src[s.i+2:], "*/")
			if end < 0 {
				s.unsure = true
				return
			}
			s.i += 2 + end + 2
		case c == '/' && regexAfter(s.toks):
			s.regexp()
		case c == '"' || c == '\'':
			sc := exprScanner{src: s.src, i: s.i}
			if v, ok := sc.str(); ok {
				s.i = sc.i
				s.toks = append(s.toks, refToken{kind: 's', text: v})
				continue
			}
			// Escapes Simple refuses, or unterminated: skip it the cheap
			// way, trusting only a string that ends on its line.
			if !s.skipString(c) {
				s.unsure = true
				return
			}
			s.toks = append(s.toks, refToken{kind: 't'})
		case c == '`':
			s.i++
			s.template(false)
		case isIdentStart(c):
			start := s.i
			for s.i < len(s.src) && isIdentPart(s.src[s.i]) {
				s.i++
			}
			if s.i < len(s.src) && (s.src[s.i] == '\\' || s.src[s.i] >= utf8.RuneSelf) {
				s.unsure = true
				return
			}
			s.toks = append(s.toks, refToken{kind: 'i', text: s.src[start:s.i]})
		case c >= '0' && c <= '9' || c == '.' && s.i+1 < len(s.src) && s.src[s.i+1] >= '0' && s.src[s.i+1] <= '9':
			for s.i < len(s.src) && (isIdentPart(s.src[s.i]) || s.src[s.i] == '.') {
				s.i++
			}
			s.toks = append(s.toks, refToken{kind: 'n'})
		case c == '?' && strings.HasPrefix(s.src[s.i:], "?.") && !(s.i+2 < len(s.src) && s.src[s.i+2] >= '0' && s.src[s.i+2] <= '9'):
			s.i += 2
			s.toks = append(s.toks, refToken{kind: 'p', text: "?."})
		case c == '{':
			if n := len(s.braces); n > 0 {
				s.braces[n-1]++
			}
			s.i++
			s.toks = append(s.toks, refToken{kind: 'p', text: "{"})
		case c == '}':
			s.i++
			if n := len(s.braces); n > 0 {
				if s.braces[n-1] == 0 { // the end of a ${
					s.braces = s.braces[:n-1]
					s.template(true)
					continue
				}
				s.braces[n-1]--
			}
			s.toks = append(s.toks, refToken{kind: 'p', text: "}"})
		case c < utf8.RuneSelf && c != '\\':
			s.i++
			s.toks = append(s.toks, refToken{kind: 'p', text: string(c)})
		default: // non-ASCII or a backslash outside literals
			s.unsure = true
			return
		}
	}
	if len(s.braces) > 0 {
		s.unsure = true
	}
}

// skipString skips a quoted string the cheap way, reporting whether it
// ends on its line.
func (s *refScanner) skipString(q byte) bool {
	for j := s.i + 1; j < len(s.src); j++ {
		switch s.src[j] {
		case '\\':
			j++
		case '\n', '\r':
			return false
		case q:
			s.i = j + 1
			return true
		}
	}
	return false
}

// template reads template text from s.i — after the opening ` or, when
// cont, after the } of a ${...} — up to the closing ` or the next ${. A
// whole template without code or escapes is a string token (results[`a`]
// reads a); the pieces of any other are 't' tokens around the code.
func (s *refScanner) template(cont bool) {
	start := s.i
	for j := s.i; j < len(s.src); j++ {
		switch s.src[j] {
		case '\\':
			j++
		case '`':
			s.i = j + 1
			if cont || strings.Contains(s.src[start:j], "\\") {
				s.toks = append(s.toks, refToken{kind: 't'})
			} else {
				s.toks = append(s.toks, refToken{kind: 's', text: s.src[start:j]})
			}
			return
		case '$':
			if j+1 < len(s.src) && s.src[j+1] == '{' {
				s.i = j + 2
				s.braces = append(s.braces, 0)
				s.toks = append(s.toks, refToken{kind: 't'})
				return
			}
		}
	}
	s.unsure = true
	s.i = len(s.src)
}

// regexp skips a regular expression literal and its flags.
func (s *refScanner) regexp() {
	inClass := false
	for j := s.i + 1; j < len(s.src); j++ {
		switch s.src[j] {
		case '\\':
			j++
		case '\n', '\r':
			s.unsure = true
			return
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '/':
			if inClass {
				continue
			}
			j++
			for j < len(s.src) && isIdentPart(s.src[j]) {
				j++
			}
			s.i = j
			s.toks = append(s.toks, refToken{kind: 'r'})
			return
		}
	}
	s.unsure = true
	s.i = len(s.src)
}

// countWord counts the occurrences of word in src not inside a longer
// identifier.
func countWord(src, word string) int {
	n := 0
	for i := 0; ; {
		j := strings.Index(src[i:], word)
		if j < 0 {
			return n
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !isWordByte(src[start-1])) && (end == len(src) || !isWordByte(src[end])) {
			n++
		}
		i = end
	}
}

func isWordByte(c byte) bool { return isIdentPart(c) || c >= utf8.RuneSelf || c == '\\' }
