// Package gosrc reads a user's Go script written in Windmill's convention —
// a file in package inner (or main) with a top-level
//
//	func main(<params>) (<T>, error)
//
// — and tells what runlet needs to run it: where the package name and main
// are, the parameters and the shape of the results, the imports and the
// //require lines, and a JSON Schema of the parameters.
package gosrc

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"strconv"
	"strings"

	"github.com/runlet/runlet/internal/jsonschema"
)

// ResultShape is the shape of what func main returns.
type ResultShape int

// The shapes of results func main may have.
const (
	ResultNone       ResultShape = iota // func main(...)
	ResultValue                         // func main(...) T
	ResultError                         // func main(...) error
	ResultValueError                    // func main(...) (T, error)
)

// String returns the shape as Go source, e.g. "(T, error)".
func (r ResultShape) String() string {
	switch r {
	case ResultNone:
		return "()"
	case ResultValue:
		return "T"
	case ResultError:
		return "error"
	case ResultValueError:
		return "(T, error)"
	}
	return "ResultShape(" + strconv.Itoa(int(r)) + ")"
}

// Param is one parameter of func main.
type Param struct {
	// Name is the Go parameter name.
	Name string
	// JSONName is the name of the job argument; it is Name, since Windmill
	// passes arguments by parameter name.
	JSONName string
	// TypeSrc is the type as Go source, printed by go/printer from the
	// type expression, e.g. "[]int64" or "*time.Time".
	TypeSrc string
	// Optional is true for a pointer type: the argument may be absent or null.
	Optional bool
}

// Require is a module requirement from a `//require <module> <version>` line.
type Require struct {
	Path, Version string
}

// Script is what Parse learns from a script.
type Script struct {
	// Package is the package name, "inner" or "main".
	Package string
	// PackagePos is the byte offset in the source of the package name.
	PackagePos int
	// MainPos is the byte offset of the identifier main of func main, or -1.
	MainPos int
	// HasMain tells whether the file declares func main.
	HasMain bool
	// Params are the parameters of func main, in order.
	Params []Param
	// Results is the shape of what func main returns.
	Results ResultShape
	// Imports are the import paths, in order.
	Imports []string
	// Requires are the //require lines, in order.
	Requires []Require
	// Schema is the JSON Schema of the job arguments: an object with one
	// property per parameter.
	Schema *jsonschema.Schema
}

// InferSchema parses a script and returns the JSON Schema of its parameters.
func InferSchema(filename string, src []byte) (*jsonschema.Schema, error) {
	s, err := Parse(filename, src)
	if err != nil {
		return nil, err
	}
	return s.Schema, nil
}

// Parse parses the Go script src; filename is used in error messages only.
// Errors are *Error values whose text starts with "filename:line:col: ".
// A file without func main is not an error: HasMain is false and the schema
// has no properties.
func Parse(filename string, src []byte) (*Script, error) {
	if src == nil {
		src = []byte{} // a nil src would make go/parser read the file
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filename, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, syntaxError(filename, src, err)
	}
	r := &reader{fset: fset, file: f, decls: map[string]*ast.TypeSpec{}, timeNames: map[string]bool{}}
	return r.script()
}

// reader holds what is needed to read one parsed file.
type reader struct {
	fset  *token.FileSet
	file  *ast.File
	decls map[string]*ast.TypeSpec // top-level type declarations
	// timeNames are the names the file imports "time" as; timeDot is true
	// if it imports it with a dot.
	timeNames map[string]bool
	timeDot   bool
	nodes     int // types expanded so far, bounded by maxNodes
}

func (r *reader) script() (*Script, error) {
	f := r.file
	s := &Script{Package: f.Name.Name, PackagePos: r.offset(f.Name.Pos()), MainPos: -1}
	if s.Package != "inner" && s.Package != "main" {
		return nil, r.errorf(f.Name.Pos(), "package %s: a script must be in package inner or main", s.Package)
	}
	if err := r.imports(s); err != nil {
		return nil, err
	}
	if err := r.requires(s); err != nil {
		return nil, err
	}
	r.typeDecls()
	s.Schema = &jsonschema.Schema{Schema: jsonschema.Draft, Type: jsonschema.TypeObject}
	fd, err := r.findMain()
	if err != nil {
		return nil, err
	}
	if fd == nil {
		return s, nil
	}
	s.HasMain, s.MainPos = true, r.offset(fd.Name.Pos())
	if fd.Type.TypeParams != nil && len(fd.Type.TypeParams.List) > 0 {
		return nil, r.errorf(fd.Type.TypeParams.Pos(), "func main must not have type parameters")
	}
	if err := r.params(s, fd.Type.Params); err != nil {
		return nil, err
	}
	if s.Results, err = r.results(fd.Type.Results); err != nil {
		return nil, err
	}
	return s, nil
}

// imports records the import paths and the names "time" is imported as.
func (r *reader) imports(s *Script) error {
	for _, spec := range r.file.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return r.errorf(spec.Path.Pos(), "bad import path %s", spec.Path.Value)
		}
		s.Imports = append(s.Imports, path)
		if path != "time" {
			continue
		}
		switch name := importName(spec); name {
		case ".":
			r.timeDot = true
		case "_":
		default:
			r.timeNames[name] = true
		}
	}
	return nil
}

func importName(spec *ast.ImportSpec) string {
	if spec.Name != nil {
		return spec.Name.Name
	}
	return "time" // only called for the path "time"
}

// requires records the `//require <module> <version>` comments.
func (r *reader) requires(s *Script) error {
	for _, group := range r.file.Comments {
		for _, c := range group.List {
			rest, ok := strings.CutPrefix(c.Text, "//require")
			if !ok || rest != "" && rest[0] != ' ' && rest[0] != '\t' {
				continue // another comment, e.g. //requirements
			}
			fields := strings.Fields(rest)
			if len(fields) != 2 {
				return r.errorf(c.Pos(), "malformed //require comment: want //require <module> <version>")
			}
			s.Requires = append(s.Requires, Require{Path: fields[0], Version: fields[1]})
		}
	}
	return nil
}

// typeDecls records the top-level type declarations; the first one wins.
func (r *reader) typeDecls() {
	for _, d := range r.file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			if _, dup := r.decls[ts.Name.Name]; !dup && ts.Name.Name != "_" {
				r.decls[ts.Name.Name] = ts
			}
		}
	}
}

// findMain returns the top-level func main without receiver, or nil.
func (r *reader) findMain() (*ast.FuncDecl, error) {
	var main *ast.FuncDecl
	for _, d := range r.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != "main" {
			continue
		}
		if main != nil {
			return nil, r.errorf(fd.Name.Pos(), "func main redeclared")
		}
		main = fd
	}
	return main, nil
}

// params records the parameters of func main and builds the schema.
func (r *reader) params(s *Script, list *ast.FieldList) error {
	root := s.Schema
	index := 0
	for _, field := range list.List {
		if len(field.Names) == 0 {
			return r.errorf(field.Type.Pos(), "parameter %d of func main has no name; name every parameter", index+1)
		}
		for _, id := range field.Names {
			index++
			if id.Name == "_" {
				return r.errorf(id.Pos(), "parameter %d of func main is named _; give it a name", index)
			}
			if _, ok := field.Type.(*ast.Ellipsis); ok {
				return r.errorf(field.Type.Pos(), "parameter %q: variadic parameters are not supported", id.Name)
			}
			if _, dup := root.Properties[id.Name]; dup {
				return r.errorf(id.Pos(), "duplicate parameter %q", id.Name)
			}
			schema, err := r.typeSchema(field.Type, id.Name, 0)
			if err != nil {
				return err
			}
			p := Param{Name: id.Name, JSONName: id.Name, TypeSrc: r.source(field.Type), Optional: schema.Nullable}
			s.Params = append(s.Params, p)
			if root.Properties == nil {
				root.Properties = map[string]*jsonschema.Schema{}
			}
			root.Properties[p.JSONName] = schema
			root.Order = append(root.Order, p.JSONName)
			if !p.Optional {
				root.Required = append(root.Required, p.JSONName)
			}
		}
	}
	return nil
}

// results tells the shape of the results of func main.
func (r *reader) results(list *ast.FieldList) (ResultShape, error) {
	var types []ast.Expr
	if list != nil {
		for _, field := range list.List {
			for range max(1, len(field.Names)) {
				types = append(types, field.Type)
			}
		}
	}
	switch {
	case len(types) == 0:
		return ResultNone, nil
	case len(types) == 1 && r.isError(types[0]):
		return ResultError, nil
	case len(types) == 1:
		return ResultValue, nil
	case len(types) == 2 && r.isError(types[1]):
		return ResultValueError, nil
	}
	srcs := make([]string, len(types))
	for i, t := range types {
		srcs[i] = r.source(t)
	}
	return 0, r.errorf(list.Pos(), "func main returns (%s); want nothing, T, error or (T, error)", strings.Join(srcs, ", "))
}

// isError reports whether t is the predeclared type error.
func (r *reader) isError(t ast.Expr) bool {
	id, ok := ast.Unparen(t).(*ast.Ident)
	_, declared := r.decls["error"]
	return ok && id.Name == "error" && !declared
}

// source prints a type expression as Go source.
func (r *reader) source(t ast.Expr) string {
	var buf bytes.Buffer
	if err := printer.Fprint(&buf, r.fset, t); err != nil {
		return "?"
	}
	return buf.String()
}

// offset returns the byte offset of p in the source.
func (r *reader) offset(p token.Pos) int {
	return r.fset.PositionFor(p, false).Offset
}

// errorf returns an *Error at p.
func (r *reader) errorf(p token.Pos, format string, args ...any) *Error {
	return &Error{Pos: r.fset.PositionFor(p, false), Msg: fmt.Sprintf(format, args...)}
}
