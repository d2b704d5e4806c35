package tssrc

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/runlet/runlet/internal/jsonschema"
)

// value parses a literal default value: a string, a template without
// substitutions, a number or bigint, true, false, null, undefined, or an
// object or array literal of those. It returns strings, json.Number, bools,
// nil, []any and map[string]any, and errNotHandled for anything else.
func (p *parser) value(depth int) (any, error) {
	t := p.peek(0)
	if depth >= maxDepth {
		return nil, p.errorf(t.off, "default value nests more than %d levels deep", maxDepth)
	}
	switch t.kind {
	case tokString:
		p.next()
		return t.text, nil
	case tokTemplate:
		if t.subst {
			return nil, errNotHandled
		}
		p.next()
		return t.text, nil
	case tokNumber:
		p.next()
		return number(t.text, false)
	case tokIdent:
		p.next()
		switch t.text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null", "undefined":
			return nil, nil
		}
		return nil, errNotHandled
	case tokPunct:
		switch t.text {
		case "-", "+":
			p.next()
			n := p.next()
			if n.kind != tokNumber {
				return nil, errNotHandled
			}
			return number(n.text, t.text == "-")
		case "[":
			return p.arrayValue(depth)
		case "{":
			return p.objectValue(depth)
		}
	}
	return nil, errNotHandled
}

// arrayValue parses an array literal.
func (p *parser) arrayValue(depth int) (any, error) {
	p.next() // [
	out := []any{}
	for !p.accept("]") {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if !p.accept(",") && !p.is("]") {
			return nil, errNotHandled
		}
	}
	return out, nil
}

// objectValue parses an object literal with literal keys and values.
func (p *parser) objectValue(depth int) (any, error) {
	p.next() // {
	out := map[string]any{}
	for !p.accept("}") {
		k := p.next()
		switch k.kind {
		case tokIdent, tokString:
		case tokNumber:
			n, err := number(k.text, false)
			if err != nil {
				return nil, err
			}
			k.text = string(n.(json.Number))
		default:
			return nil, errNotHandled
		}
		if !p.accept(":") {
			return nil, errNotHandled
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[k.text] = v
		if !p.accept(",") && !p.is("}") {
			return nil, errNotHandled
		}
	}
	return out, nil
}

// maxExact is 2^53: integers beyond it are not exact as JavaScript numbers.
const maxExact = 1 << 53

// number converts the numeric literal text, negated if neg, to a
// json.Number; integral values are written without a fraction.
func number(text string, neg bool) (any, error) {
	text = strings.ReplaceAll(text, "_", "")
	sign := ""
	if neg {
		sign = "-"
	}
	if digits, ok := strings.CutSuffix(text, "n"); ok {
		var b big.Int
		if _, ok := b.SetString(digits, 0); !ok {
			return nil, errNotHandled
		}
		return json.Number(sign + b.String()), nil
	}
	if len(text) > 1 && text[0] == '0' && strings.ContainsAny(text[1:2], "xXoObB0123456789") {
		var b big.Int
		if _, ok := b.SetString(text, 0); !ok {
			return nil, errNotHandled
		}
		f, _ := new(big.Float).SetInt(&b).Float64()
		return floatNumber(f, sign)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, errNotHandled
	}
	return floatNumber(f, sign)
}

// floatNumber writes f, with sign before it, as a json.Number.
func floatNumber(f float64, sign string) (any, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errNotHandled
	}
	if f == math.Trunc(f) && f < maxExact {
		if f == 0 {
			sign = ""
		}
		return json.Number(sign + strconv.FormatFloat(f, 'f', -1, 64)), nil
	}
	return json.Number(sign + strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// isInteger tells whether the json.Number n is written as an integer.
func isInteger(n json.Number) bool {
	return !strings.ContainsAny(string(n), ".eE")
}

// valueSchema returns the schema of a parameter without a type annotation
// whose default is v.
func valueSchema(v any) *jsonschema.Schema {
	switch v := v.(type) {
	case string:
		return &jsonschema.Schema{Type: jsonschema.TypeString}
	case bool:
		return &jsonschema.Schema{Type: jsonschema.TypeBoolean}
	case json.Number:
		if isInteger(v) {
			return &jsonschema.Schema{Type: jsonschema.TypeInteger}
		}
		return &jsonschema.Schema{Type: jsonschema.TypeNumber}
	case []any:
		s := &jsonschema.Schema{Type: jsonschema.TypeArray}
		if len(v) > 0 {
			s.Items = valueSchema(v[0])
		}
		return s
	}
	return unknown()
}
