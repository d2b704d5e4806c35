package gosrc

import (
	"cmp"
	"go/ast"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/runlet/runlet/internal/jsonschema"
)

// maxDepth bounds how deeply types are followed, so that a recursive type
// such as `type A []A` is an error rather than an endless loop.
const maxDepth = 32

// maxNodes bounds the size of the schemas of a file: types declared in the
// file and expanded inline (aliases of structs, say) could otherwise build a
// schema exponentially larger than the source.
const maxNodes = 10000

// typeSchema returns the JSON Schema of type expression t, written for
// parameter param (named in errors); depth counts the types followed so far.
func (r *reader) typeSchema(t ast.Expr, param string, depth int) (*jsonschema.Schema, error) {
	if depth >= maxDepth {
		return nil, r.errorf(t.Pos(), "parameter %q: type %s nests more than %d levels deep (recursive type?)", param, r.source(t), maxDepth)
	}
	if r.nodes++; r.nodes > maxNodes {
		return nil, r.errorf(t.Pos(), "parameter %q: schema too large (more than %d types expanded)", param, maxNodes)
	}
	depth++
	switch t := t.(type) {
	case *ast.ParenExpr:
		return r.typeSchema(t.X, param, depth)
	case *ast.Ident:
		return r.identSchema(t, param, depth)
	case *ast.SelectorExpr:
		if pkg, ok := t.X.(*ast.Ident); ok && r.timeNames[pkg.Name] && t.Sel.Name == "Time" {
			return dateTime(), nil
		}
		return resource(t.Sel.Name), nil
	case *ast.IndexExpr, *ast.IndexListExpr:
		return r.genericSchema(t, param, depth)
	case *ast.StarExpr:
		s, err := r.typeSchema(t.X, param, depth)
		if err != nil {
			return nil, err
		}
		s.Nullable = true
		return s, nil
	case *ast.ArrayType:
		if t.Len == nil && r.isByte(t.Elt) {
			return &jsonschema.Schema{Type: jsonschema.TypeString, ContentEncoding: jsonschema.EncodingBase64}, nil
		}
		items, err := r.typeSchema(t.Elt, param, depth)
		if err != nil {
			return nil, err
		}
		return &jsonschema.Schema{Type: jsonschema.TypeArray, Items: items}, nil
	case *ast.StructType:
		return r.structSchema(t, param, depth)
	case *ast.MapType:
		return object(), nil
	case *ast.InterfaceType:
		if len(t.Methods.List) == 0 {
			return object(), nil
		}
	}
	return nil, r.unsupported(t, param)
}

// identSchema returns the schema of a type name without package.
func (r *reader) identSchema(id *ast.Ident, param string, depth int) (*jsonschema.Schema, error) {
	if ts, ok := r.decls[id.Name]; ok {
		return r.declSchema(ts, param, depth)
	}
	switch id.Name {
	case "int", "int8", "int16", "int32", "int64", "rune",
		"uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "byte":
		return &jsonschema.Schema{Type: jsonschema.TypeInteger}, nil
	case "float32", "float64":
		return &jsonschema.Schema{Type: jsonschema.TypeNumber}, nil
	case "string":
		return &jsonschema.Schema{Type: jsonschema.TypeString}, nil
	case "bool":
		return &jsonschema.Schema{Type: jsonschema.TypeBoolean}, nil
	case "any":
		return object(), nil
	case "error", "complex64", "complex128", "comparable":
		return nil, r.unsupported(id, param)
	case "Time":
		if r.timeDot {
			return dateTime(), nil
		}
	}
	return resource(id.Name), nil
}

// declSchema returns the schema of a type declared in the file. A defined
// type whose underlying type is a struct is a resource; an alias or another
// defined type stands for the type it is declared as.
func (r *reader) declSchema(ts *ast.TypeSpec, param string, depth int) (*jsonschema.Schema, error) {
	generic := ts.TypeParams != nil && len(ts.TypeParams.List) > 0
	switch {
	case (generic || !ts.Assign.IsValid()) && r.isStruct(ts.Type):
		return resource(ts.Name.Name), nil
	case generic:
		return nil, r.errorf(ts.Name.Pos(), "parameter %q: generic type %s is not supported unless it is a struct", param, ts.Name.Name)
	}
	return r.typeSchema(ts.Type, param, depth)
}

// genericSchema returns the schema of an instantiated generic type, e.g.
// Box[int]: only generic structs (resources) and outside types are allowed.
func (r *reader) genericSchema(t ast.Expr, param string, depth int) (*jsonschema.Schema, error) {
	var base ast.Expr
	switch t := t.(type) {
	case *ast.IndexExpr:
		base = t.X
	case *ast.IndexListExpr:
		base = t.X
	}
	switch b := ast.Unparen(base).(type) {
	case *ast.Ident:
		return r.identSchema(b, param, depth)
	case *ast.SelectorExpr:
		return resource(b.Sel.Name), nil
	}
	return nil, r.unsupported(t, param)
}

// structSchema returns the object schema of an inline struct, as
// encoding/json sees it: exported, non-embedded fields named by their json
// tag, required unless pointers or tagged omitempty (or omitzero).
func (r *reader) structSchema(st *ast.StructType, param string, depth int) (*jsonschema.Schema, error) {
	s := object()
	for _, field := range st.Fields.List {
		if len(field.Names) == 0 {
			continue // embedded
		}
		tag := jsonTag(field.Tag)
		if tag == "-" {
			continue
		}
		tagName, opts, _ := strings.Cut(tag, ",")
		omit := hasOption(opts, "omitempty") || hasOption(opts, "omitzero")
		var fs *jsonschema.Schema
		for _, id := range field.Names {
			if !id.IsExported() {
				continue
			}
			if fs == nil {
				var err error
				if fs, err = r.typeSchema(field.Type, param, depth); err != nil {
					return nil, err
				}
			}
			name := cmp.Or(tagName, id.Name)
			if _, dup := s.Properties[name]; dup {
				return nil, r.errorf(id.Pos(), "parameter %q: two struct fields have the JSON name %q", param, name)
			}
			if s.Properties == nil {
				s.Properties = map[string]*jsonschema.Schema{}
			}
			c := *fs
			s.Properties[name] = &c
			if !omit && !fs.Nullable {
				s.Required = append(s.Required, name)
			}
		}
	}
	return s, nil
}

// jsonTag returns the json key of a struct tag, or "".
func jsonTag(lit *ast.BasicLit) string {
	if lit == nil {
		return ""
	}
	tag, err := strconv.Unquote(lit.Value)
	if err != nil {
		return ""
	}
	return reflect.StructTag(tag).Get("json")
}

// hasOption reports whether the comma-separated tag options include opt.
func hasOption(opts, opt string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// isStruct reports whether the underlying type of t is a struct, following
// the types declared in the file.
func (r *reader) isStruct(t ast.Expr) bool {
	for range maxDepth {
		switch x := t.(type) {
		case *ast.ParenExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.StructType:
			return true
		case *ast.Ident:
			ts, ok := r.decls[x.Name]
			if !ok {
				return false
			}
			t = ts.Type
		default:
			return false
		}
	}
	return false
}

// isByte reports whether the underlying type of t is byte (uint8), in
// which case encoding/json handles a slice of it as a base64 string.
func (r *reader) isByte(t ast.Expr) bool {
	for range maxDepth {
		switch x := t.(type) {
		case *ast.ParenExpr:
			t = x.X
		case *ast.Ident:
			ts, ok := r.decls[x.Name]
			if !ok {
				return x.Name == "byte" || x.Name == "uint8"
			}
			if ts.TypeParams != nil {
				return false
			}
			t = ts.Type
		default:
			return false
		}
	}
	return false
}

// unsupported returns the error for a type with no JSON form.
func (r *reader) unsupported(t ast.Expr, param string) error {
	return r.errorf(t.Pos(), "parameter %q: unsupported type %s", param, r.source(t))
}

func object() *jsonschema.Schema {
	return &jsonschema.Schema{Type: jsonschema.TypeObject}
}

func dateTime() *jsonschema.Schema {
	return &jsonschema.Schema{Type: jsonschema.TypeString, Format: jsonschema.FormatDateTime}
}

// resource returns the schema of a resource type named name.
func resource(name string) *jsonschema.Schema {
	return &jsonschema.Schema{Type: jsonschema.TypeObject, Format: jsonschema.FormatResourcePrefix + snakeCase(name)}
}

// snakeCase turns a Go type name into snake case: PostgresDB → postgres_db,
// S3Bucket → s3_bucket, HTTPClient → http_client.
func snakeCase(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, c := range rs {
		if unicode.IsUpper(c) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || unicode.IsUpper(prev) && nextLower {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}
