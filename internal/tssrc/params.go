package tssrc

import (
	"errors"
	"strconv"

	"github.com/runlet/runlet/internal/jsonschema"
)

// maxDepth bounds the nesting of types and of default values, so that a
// hostile script cannot exhaust the stack.
const maxDepth = 64

// param is one parsed parameter of main.
type param struct {
	name     string
	optional bool
	schema   *jsonschema.Schema
}

// errNotHandled is returned inside the type and value parsers for syntax
// they do not understand; the caller then skips the type or value and uses
// a free-form object.
var errNotHandled = errors.New("not handled")

// params parses the parameter list of main, from its '(' to its ')'.
func (p *parser) params() ([]param, error) {
	if !p.accept("(") {
		return nil, p.errorf(p.peek(0).off, "expected '(', found %s", describe(p.peek(0)))
	}
	var out []param
	seen := map[string]bool{}
	anon := 0
	for !p.is(")") {
		t := p.peek(0)
		var pr param
		switch {
		case p.is("..."):
			return nil, p.errorf(t.off, "rest parameter of main is not supported")
		case t.kind == tokIdent:
			p.next()
			pr.name = t.text
		case p.is("{") || p.is("["):
			if err := p.skipBalanced(); err != nil {
				return nil, err
			}
			anon++
			pr.name = "anon" + strconv.Itoa(anon)
		default:
			return nil, p.errorf(t.off, "expected parameter name, found %s", describe(t))
		}
		if seen[pr.name] {
			return nil, p.errorf(t.off, "duplicate parameter %q", pr.name)
		}
		seen[pr.name] = true
		if p.accept("?") {
			pr.optional = true
		}
		var typ *jsonschema.Schema
		if p.accept(":") {
			s, opt, err := p.paramType()
			if err != nil {
				return nil, err
			}
			typ = s
			pr.optional = pr.optional || opt
		}
		if p.is("=") {
			eq := p.next()
			v, ok, err := p.defaultValue()
			if err != nil {
				return nil, err
			}
			if p.pos > 0 && p.toks[p.pos-1].off == eq.off {
				return nil, p.errorf(p.peek(0).off, "expected default value, found %s", describe(p.peek(0)))
			}
			pr.optional = true
			if typ == nil {
				typ = unknown()
				if ok {
					typ = valueSchema(v)
				}
			}
			if ok && v != nil {
				typ.Default = v
			}
		}
		if typ == nil {
			typ = unknown()
		}
		pr.schema = typ
		out = append(out, pr)
		if !p.accept(",") && !p.is(")") {
			return nil, p.errorf(p.peek(0).off, "expected ',' or ')' after parameter %q, found %s", pr.name, describe(p.peek(0)))
		}
	}
	return out, nil
}

// skipBalanced skips the bracketed group starting at the current token.
// The brackets of the whole file are known to balance.
func (p *parser) skipBalanced() error {
	depth := 0
	for {
		t := p.next()
		if t.kind == tokEOF {
			return p.errorf(t.off, "unexpected end of file")
		}
		if t.kind != tokPunct {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// skipTo skips tokens up to, not including, the first ',' or ')' at depth
// 0, and also '=' when stopAtEq is set. A '<' after an identifier counts as
// a bracket closed by '>', for generics: Map<string, number>.
func (p *parser) skipTo(stopAtEq bool) error {
	depth, angle := 0, 0
	start := p.peek(0)
	for {
		t := p.peek(0)
		if t.kind == tokEOF {
			return p.errorf(start.off, "unexpected end of file in parameter list")
		}
		if t.kind == tokPunct {
			if depth == 0 && (t.text == ")" || angle == 0 && (t.text == "," || stopAtEq && t.text == "=")) {
				return nil
			}
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			case "<":
				if p.pos > 0 && p.toks[p.pos-1].kind == tokIdent {
					angle++
				}
			case ">":
				if angle > 0 {
					angle--
				}
			}
		}
		p.next()
	}
}

// paramType parses the type annotation of a parameter and returns its
// schema and whether the type makes the parameter optional. A type it does
// not understand is skipped and gives a free-form object.
func (p *parser) paramType() (*jsonschema.Schema, bool, error) {
	start := p.pos
	n, err := p.typ(0)
	if err == errNotHandled {
		p.pos = start
		if err := p.skipTo(true); err != nil {
			return nil, false, err
		}
		if p.pos == start {
			return nil, false, p.errorf(p.peek(0).off, "expected type, found %s", describe(p.peek(0)))
		}
		return unknown(), false, nil
	}
	if err != nil {
		return nil, false, err
	}
	s, opt := schemaOf(n)
	return s, opt, nil
}

// defaultValue parses the default value of a parameter. ok tells whether
// it is a literal, whose value is v; any other expression is skipped.
func (p *parser) defaultValue() (v any, ok bool, err error) {
	start := p.pos
	v, err = p.value(0)
	if err == nil && !(p.is(",") || p.is(")")) {
		err = errNotHandled
	}
	if err == errNotHandled {
		p.pos = start
		return nil, false, p.skipTo(false)
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}
