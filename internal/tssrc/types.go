package tssrc

import (
	"strings"

	"github.com/runlet/runlet/internal/jsonschema"
)

// nodeKind is the kind of a parsed type.
type nodeKind int

// The kinds of types the parser tells apart.
const (
	nodeUnknown nodeKind = iota // a type that gives a free-form object
	nodeName                    // a named type, maybe qualified, maybe generic
	nodeString                  // a string literal type
	nodeObject                  // a type literal {a: T; b?: U}
	nodeArray                   // T[]
	nodeUnion                   // A | B
)

// node is a parsed type.
type node struct {
	kind    nodeKind
	name    string   // nodeName: the name as written, e.g. "wmill.Resource"; nodeString: the value
	args    []*node  // nodeName: the type arguments; nodeArray: the element; nodeUnion: the members
	members []member // nodeObject
}

// member is a property of a type literal.
type member struct {
	name     string
	optional bool
	typ      *node
}

// typ parses a type: a union of intersections of postfix types. depth
// counts the enclosing types.
func (p *parser) typ(depth int) (*node, error) {
	if depth >= maxDepth {
		return nil, p.errorf(p.peek(0).off, "type nests more than %d levels deep", maxDepth)
	}
	p.accept("|")
	var parts []*node
	for {
		n, err := p.intersection(depth + 1)
		if err != nil {
			return nil, err
		}
		parts = append(parts, n)
		if !p.accept("|") {
			break
		}
	}
	if p.is("extends") {
		return nil, errNotHandled // conditional type
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return &node{kind: nodeUnion, args: parts}, nil
}

// intersection parses A & B; an intersection gives a free-form object.
func (p *parser) intersection(depth int) (*node, error) {
	p.accept("&")
	n, err := p.postfix(depth)
	if err != nil {
		return nil, err
	}
	for p.accept("&") {
		if _, err := p.postfix(depth); err != nil {
			return nil, err
		}
		n = &node{kind: nodeUnknown}
	}
	return n, nil
}

// postfix parses a primary type followed by any number of [] or [K].
func (p *parser) postfix(depth int) (*node, error) {
	n, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	for p.is("[") {
		if depth++; depth >= maxDepth {
			return nil, p.errorf(p.peek(0).off, "type nests more than %d levels deep", maxDepth)
		}
		p.next()
		if p.accept("]") {
			n = &node{kind: nodeArray, args: []*node{n}}
			continue
		}
		if _, err := p.typ(depth); err != nil {
			return nil, err
		}
		if !p.accept("]") {
			return nil, errNotHandled
		}
		n = &node{kind: nodeUnknown} // indexed access T[K]
	}
	return n, nil
}

// primary parses a type without postfix operators.
func (p *parser) primary(depth int) (*node, error) {
	t := p.peek(0)
	if depth >= maxDepth {
		return nil, p.errorf(t.off, "type nests more than %d levels deep", maxDepth)
	}
	switch t.kind {
	case tokString:
		p.next()
		return &node{kind: nodeString, name: t.text}, nil
	case tokTemplate, tokNumber:
		p.next()
		return &node{kind: nodeUnknown}, nil
	case tokIdent:
		return p.named(depth)
	case tokPunct:
		switch t.text {
		case "(":
			if p.isFunctionType() {
				return nil, errNotHandled
			}
			p.next()
			n, err := p.typ(depth)
			if err != nil {
				return nil, err
			}
			if !p.accept(")") {
				return nil, errNotHandled
			}
			return n, nil
		case "{":
			return p.object(depth)
		case "-":
			p.next()
			if p.peek(0).kind != tokNumber {
				return nil, errNotHandled
			}
			p.next()
			return &node{kind: nodeUnknown}, nil
		case "[":
			if err := p.skipBalanced(); err != nil {
				return nil, err
			}
			return &node{kind: nodeUnknown}, nil // tuple
		}
	}
	return nil, errNotHandled
}

// isFunctionType tells whether the '(' at the current token starts a
// function type (params) => T.
func (p *parser) isFunctionType() bool {
	save := p.pos
	defer func() { p.pos = save }()
	if p.skipBalanced() != nil {
		return false
	}
	return p.is("=>")
}

// named parses a type reference, keyword or type operator at an identifier.
func (p *parser) named(depth int) (*node, error) {
	t := p.next()
	switch t.text {
	case "typeof", "keyof", "unique", "infer", "asserts", "new", "abstract":
		return nil, errNotHandled
	case "readonly":
		return p.postfix(depth + 1)
	case "true", "false":
		return &node{kind: nodeUnknown}, nil
	}
	name := t.text
	for p.is(".") && p.peek(1).kind == tokIdent {
		p.next()
		name += "." + p.next().text
	}
	n := &node{kind: nodeName, name: name}
	if p.accept("<") {
		for !p.accept(">") {
			a, err := p.typ(depth)
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, a)
			if !p.accept(",") && !p.is(">") {
				return nil, errNotHandled
			}
		}
	}
	return n, nil
}

// object parses a type literal {a: T; b?: U}. Index signatures and methods
// are not handled.
func (p *parser) object(depth int) (*node, error) {
	p.next() // {
	n := &node{kind: nodeObject}
	for !p.accept("}") {
		if p.is("readonly") && (p.peek(1).kind == tokIdent || p.peek(1).kind == tokString) {
			p.next()
		}
		t := p.next()
		if t.kind != tokIdent && t.kind != tokString && t.kind != tokNumber {
			return nil, errNotHandled
		}
		m := member{name: t.text, typ: &node{kind: nodeUnknown}}
		if p.accept("?") {
			m.optional = true
		}
		if p.accept(":") {
			typ, err := p.typ(depth)
			if err != nil {
				return nil, err
			}
			m.typ = typ
		} else if !p.is(";") && !p.is(",") && !p.is("}") {
			return nil, errNotHandled // method signature
		}
		n.members = append(n.members, m)
		if !p.accept(";") {
			p.accept(",")
		}
	}
	return n, nil
}

// unknown returns the schema of a type runlet cannot describe better.
func unknown() *jsonschema.Schema {
	return &jsonschema.Schema{Type: jsonschema.TypeObject}
}

// freeFormGenerics are generic types of the standard library that give a
// free-form object rather than a resource.
var freeFormGenerics = map[string]bool{
	"Record": true, "Partial": true, "Required": true, "Readonly": true,
	"Pick": true, "Omit": true, "Map": true, "Promise": true,
}

// schemaOf returns the schema of type n and whether n makes a parameter or
// property optional (a union with undefined or null).
func schemaOf(n *node) (*jsonschema.Schema, bool) {
	switch n.kind {
	case nodeName:
		return nameSchema(n), false
	case nodeString:
		return &jsonschema.Schema{Type: jsonschema.TypeString, Enum: []any{n.name}}, false
	case nodeArray:
		items, _ := schemaOf(n.args[0])
		return &jsonschema.Schema{Type: jsonschema.TypeArray, Items: items}, false
	case nodeObject:
		s := unknown()
		for _, m := range n.members {
			ms, opt := schemaOf(m.typ)
			if s.Properties == nil {
				s.Properties = map[string]*jsonschema.Schema{}
			}
			if _, dup := s.Properties[m.name]; !dup && !m.optional && !opt {
				s.Required = append(s.Required, m.name)
			}
			s.Properties[m.name] = ms
		}
		return s, false
	case nodeUnion:
		return unionSchema(n)
	}
	return unknown(), false
}

// isNullish tells whether n is undefined, null or void.
func isNullish(n *node) bool {
	return n.kind == nodeName && (n.name == "undefined" || n.name == "null" || n.name == "void")
}

// flatten returns the members of union n, with nested unions expanded.
func flatten(n *node, out []*node) []*node {
	for _, m := range n.args {
		if m.kind == nodeUnion {
			out = flatten(m, out)
		} else {
			out = append(out, m)
		}
	}
	return out
}

// unionSchema returns the schema of a union, following Windmill: T with
// undefined or null is an optional T, string literals (maybe with string)
// are an enum, anything else is a free-form object. Windmill's oneOf for a
// union of objects tagged by a label is not expressible in
// jsonschema.Schema, so such a union is a free-form object as well.
func unionSchema(n *node) (*jsonschema.Schema, bool) {
	var rest []*node
	optional := false
	for _, m := range flatten(n, nil) {
		if isNullish(m) {
			optional = true
		} else {
			rest = append(rest, m)
		}
	}
	if len(rest) == 1 {
		s, _ := schemaOf(rest[0])
		return s, optional
	}
	if alts := labelledObjects(rest); alts != nil {
		return &jsonschema.Schema{Type: jsonschema.TypeObject, OneOf: alts}, optional
	}
	var enum []any
	seen := map[string]bool{}
	for _, m := range rest {
		switch {
		case m.kind == nodeString:
			if !seen[m.name] {
				seen[m.name] = true
				enum = append(enum, m.name)
			}
		case m.kind == nodeName && m.name == "string":
		default:
			return unknown(), optional
		}
	}
	if len(enum) == 0 {
		return &jsonschema.Schema{Type: jsonschema.TypeString}, optional
	}
	return &jsonschema.Schema{Type: jsonschema.TypeString, Enum: enum}, optional
}

// labelledObjects returns one titled object schema per member when every
// member is a type literal with a string-literal label property (Windmill's
// oneOf rule), and nil otherwise.
func labelledObjects(members []*node) []*jsonschema.Schema {
	var alts []*jsonschema.Schema
	for _, m := range members {
		if m.kind != nodeObject {
			return nil
		}
		title := ""
		for _, mem := range m.members {
			if mem.name == "label" && mem.typ != nil && mem.typ.kind == nodeString {
				title = mem.typ.name
			}
		}
		if title == "" {
			return nil
		}
		s, _ := schemaOf(m)
		s.Title = title
		alts = append(alts, s)
	}
	return alts
}

// nameSchema returns the schema of a named type.
func nameSchema(n *node) *jsonschema.Schema {
	str := func(format, enc string) *jsonschema.Schema {
		return &jsonschema.Schema{Type: jsonschema.TypeString, Format: format, ContentEncoding: enc}
	}
	switch n.name {
	case "string":
		return str("", "")
	case "number":
		return &jsonschema.Schema{Type: jsonschema.TypeNumber}
	case "bigint":
		return &jsonschema.Schema{Type: jsonschema.TypeInteger}
	case "boolean":
		return &jsonschema.Schema{Type: jsonschema.TypeBoolean}
	case "object", "Object", "any", "unknown", "undefined", "null", "void", "never", "symbol":
		return unknown()
	case "Date":
		return str(jsonschema.FormatDateTime, "")
	case "Base64":
		return str("", jsonschema.EncodingBase64)
	case "Email":
		return str("email", "")
	case "Sql":
		return str("sql", "")
	case "Array", "ReadonlyArray":
		s := &jsonschema.Schema{Type: jsonschema.TypeArray}
		if len(n.args) == 1 {
			s.Items, _ = schemaOf(n.args[0])
		}
		return s
	case "Resource", "wmill.Resource":
		kind := "unknown"
		if len(n.args) == 1 && n.args[0].kind == nodeString {
			kind = n.args[0].name
		}
		return &jsonschema.Schema{Type: jsonschema.TypeObject, Format: jsonschema.FormatResourcePrefix + kind}
	}
	if freeFormGenerics[n.name] {
		return unknown()
	}
	if rest, ok := strings.CutPrefix(n.name, "DynSelect_"); ok {
		return &jsonschema.Schema{Type: jsonschema.TypeObject, Format: "dynselect-" + rest}
	}
	name := n.name[strings.LastIndexByte(n.name, '.')+1:]
	return &jsonschema.Schema{Type: jsonschema.TypeObject, Format: jsonschema.FormatResourcePrefix + snakeCase(name)}
}
