// Package tssrc reads a user's TypeScript or JavaScript script written in
// Windmill's convention — a module with a top-level
//
//	export async function main(<params>) { ... }
//
// (or export function main, or export const main = async (<params>) => ...)
// — and tells what runlet needs to run it: whether there is a main, whether
// it is async, its parameters in order (the JavaScript plugin calls main
// with positional arguments), and a JSON Schema of the parameters inferred
// by Windmill's rules.
//
// It is a small hand-written lexer and recursive-descent parser, not a
// TypeScript compiler: it checks that brackets balance in the whole file,
// and parses fully only the parameter list of main. A type it does not
// understand becomes a free-form object.
package tssrc

import (
	"github.com/runlet/runlet/internal/jsonschema"
)

// Param is one parameter of main.
type Param struct {
	// Name is the parameter name, or "anon1", "anon2"... for destructured
	// parameters ({a, b}: T or [a, b]), numbered in order among those.
	Name string
	// Optional is true when the argument may be absent: the parameter is
	// declared with ?, has a default, or its type is a union with
	// undefined or null.
	Optional bool
}

// Script is what Parse learns from a script.
type Script struct {
	// HasMain tells whether the file has a top-level exported main. When it
	// has none, Params is empty and the schema has no properties.
	HasMain bool
	// Async tells whether main is declared async.
	Async bool
	// Params are the parameters of main, in order.
	Params []Param
	// Schema is the JSON Schema of the arguments of main: an object with a
	// property for each parameter, the required ones and their order.
	Schema *jsonschema.Schema
}

// Parse reads the script src, named filename in errors, and returns what
// it learns. Errors are *Error values with the position of the problem.
func Parse(filename string, src []byte) (*Script, error) {
	toks, err := lex(filename, src)
	if err != nil {
		return nil, err
	}
	p := &parser{file: filename, src: src, toks: toks}
	if err := p.checkBalance(); err != nil {
		return nil, err
	}
	s := &Script{Schema: &jsonschema.Schema{Schema: jsonschema.Draft, Type: jsonschema.TypeObject}}
	start, async, arrowIdent, ok := p.findMain()
	if !ok {
		return s, nil
	}
	s.HasMain, s.Async = true, async
	p.pos = start
	var params []param
	if arrowIdent {
		params = []param{{name: p.next().text, schema: unknown()}}
	} else if params, err = p.params(); err != nil {
		return nil, err
	}
	s.Schema.Properties = make(map[string]*jsonschema.Schema, len(params))
	for _, pr := range params {
		s.Params = append(s.Params, Param{Name: pr.name, Optional: pr.optional})
		s.Schema.Properties[pr.name] = pr.schema
		s.Schema.Order = append(s.Schema.Order, pr.name)
		if !pr.optional {
			s.Schema.Required = append(s.Schema.Required, pr.name)
		}
	}
	return s, nil
}

// InferSchema returns the JSON Schema of the parameters of main in src:
// the Schema of what Parse returns.
func InferSchema(filename string, src []byte) (*jsonschema.Schema, error) {
	s, err := Parse(filename, src)
	if err != nil {
		return nil, err
	}
	return s.Schema, nil
}

// parser walks the tokens of a script.
type parser struct {
	file string
	src  []byte
	toks []token
	pos  int
}

// errorf returns an *Error at byte offset off.
func (p *parser) errorf(off int, format string, args ...any) error {
	return errorAt(p.file, p.src, off, format, args...)
}

// peek returns the token at p.pos+n, or the final EOF token.
func (p *parser) peek(n int) token {
	if i := p.pos + n; i < len(p.toks) {
		return p.toks[i]
	}
	return p.toks[len(p.toks)-1]
}

// next returns the current token and moves past it (never past EOF).
func (p *parser) next() token {
	t := p.peek(0)
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

// is tells whether the current token is the punctuation or identifier s.
func (p *parser) is(s string) bool { return p.isAt(0, s) }

// isAt tells whether the token n ahead is the punctuation or identifier s.
func (p *parser) isAt(n int, s string) bool {
	t := p.peek(n)
	return (t.kind == tokPunct || t.kind == tokIdent) && t.text == s
}

// accept moves past the current token if it is s and tells whether it did.
func (p *parser) accept(s string) bool {
	if p.is(s) {
		p.next()
		return true
	}
	return false
}

// describe names token t for an error message.
func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of file"
	case tokString, tokTemplate:
		return "string"
	case tokNumber:
		return "number " + t.text
	case tokRegex:
		return "regular expression"
	}
	return "'" + t.text + "'"
}

// closer maps each opening bracket to its closing one.
var closer = map[string]string{"(": ")", "[": "]", "{": "}"}

// checkBalance checks that (), [] and {} balance in the whole file.
func (p *parser) checkBalance() error {
	var stack []token
	for _, t := range p.toks {
		if t.kind != tokPunct {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			stack = append(stack, t)
		case ")", "]", "}":
			if len(stack) == 0 {
				return p.errorf(t.off, "unbalanced '%s'", t.text)
			}
			open := stack[len(stack)-1]
			if closer[open.text] != t.text {
				return p.errorf(t.off, "'%s' does not close '%s' at %s", t.text, open.text, p.where(open.off))
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		open := stack[len(stack)-1]
		return p.errorf(open.off, "unclosed '%s'", open.text)
	}
	return nil
}

// where returns "line:col" of byte offset off.
func (p *parser) where(off int) string {
	e := errorAt("", p.src, off, "")
	return itoa(e.Line) + ":" + itoa(e.Col)
}

// findMain looks for the top-level export of main and returns the index of
// the token that starts its parameter list: the '(' or, for `async x =>`,
// the lone parameter name (arrowIdent).
func (p *parser) findMain() (start int, async, arrowIdent, ok bool) {
	depth := 0
	for i := 0; i < len(p.toks); i++ {
		t := p.toks[i]
		if t.kind == tokPunct {
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			}
			continue
		}
		if depth != 0 || t.kind != tokIdent || t.text != "export" {
			continue
		}
		p.pos = i + 1
		if p.accept("async") {
			async = true
		}
		if p.accept("function") {
			if p.accept("main") && p.is("(") {
				return p.pos, async, false, true
			}
			async = false
			continue
		}
		if async || !(p.accept("const") || p.accept("let") || p.accept("var")) || !p.accept("main") || !p.accept("=") {
			async = false
			continue
		}
		// Windmill's workflows as code: export const main = workflow(async (…) => …).
		if p.is("workflow") && p.isAt(1, "(") {
			p.pos += 2
		}
		async = p.accept("async")
		if p.accept("function") {
			p.accept("main")
		}
		if p.is("(") {
			return p.pos, async, false, true
		}
		if p.peek(0).kind == tokIdent && p.isAt(1, "=>") {
			return p.pos, async, true, true
		}
		async = false
	}
	return 0, false, false, false
}
