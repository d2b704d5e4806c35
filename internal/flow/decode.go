package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// decoder fills the flow types from JSON by reflection over their json
// tags, so that every struct, at any depth, reports its unknown fields the
// same way. Objects are read in document order, so warnings and errors
// come out in that order too.
type decoder struct {
	opt      Options
	warnings []Warning
}

// modCtx is the innermost module being decoded.
type modCtx struct {
	id    string // its id, if it is a string
	path  string // its path from the root
	level int    // loops and branches around it
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	moduleType     = reflect.TypeFor[Module]()
)

func (d *decoder) decode(raw []byte, v reflect.Value, path string, m *modCtx) *Error {
	null := string(raw) == "null"
	if v.Type() == rawMessageType {
		if null { // absent and null mean the same for every raw field
			v.SetZero()
			return nil
		}
		v.SetBytes(normalizeRaw(raw))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if null {
			v.SetZero()
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := d.decode(raw, p.Elem(), path, m); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		if null {
			return nil
		}
		if raw[0] != '{' {
			return d.typeError(m, path, "an object", raw)
		}
		keys, vals, err := objectMembers(raw)
		if err != nil {
			return d.errorAt(m, path, err.Error())
		}
		if v.Type() == moduleType {
			mc := &modCtx{path: path}
			if m != nil {
				mc.level = m.level + 1
			}
			for i, k := range keys {
				if k == "id" && len(vals[i]) > 0 && vals[i][0] == '"' {
					_ = json.Unmarshal(vals[i], &mc.id)
				}
			}
			m = mc
			if m.level > d.opt.MaxDepth {
				return d.errorAt(m, path, depthMessage(m.level, d.opt.MaxDepth))
			}
		}
		fields := fieldsOf(v.Type())
		for i, k := range keys {
			f, ok := fields[k]
			fpath := joinField(path, k)
			if !ok {
				d.warnings = append(d.warnings, Warning{Field: fpath, Message: modulePrefix(m) + fmt.Sprintf("unknown field %q (ignored)", k)})
				continue
			}
			fv := v.Field(f.index)
			if err := d.decode(vals[i], fv, fpath, m); err != nil {
				return err
			}
			if f.omitEmpty && (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0 {
				fv.SetZero() // so that json.Marshal, omitting it, round-trips
			}
		}
		return nil
	case reflect.Slice:
		if null {
			v.SetZero()
			return nil
		}
		if raw[0] != '[' {
			return d.typeError(m, path, "an array", raw)
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return d.errorAt(m, path, err.Error())
		}
		s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
		for i, e := range elems {
			if err := d.decode(e, s.Index(i), path+"["+strconv.Itoa(i)+"]", m); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map: // map[string]T
		if null {
			v.SetZero()
			return nil
		}
		if raw[0] != '{' {
			return d.typeError(m, path, "an object", raw)
		}
		keys, vals, err := objectMembers(raw)
		if err != nil {
			return d.errorAt(m, path, err.Error())
		}
		mp := reflect.MakeMapWithSize(v.Type(), len(keys))
		for i, k := range keys {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(vals[i], e, joinKey(path, k), m); err != nil {
				return err
			}
			mp.SetMapIndex(reflect.ValueOf(k), e)
		}
		v.Set(mp)
		return nil
	case reflect.String:
		if null {
			return nil
		}
		if raw[0] != '"' {
			return d.typeError(m, path, "a string", raw)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return d.errorAt(m, path, err.Error())
		}
		v.SetString(s)
		return nil
	case reflect.Int:
		if null {
			return nil
		}
		if k := jsonKind(raw); k != "a number" {
			return d.typeError(m, path, "an integer", raw)
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return d.errorAt(m, path, fmt.Sprintf("want an integer, got %s", raw))
		}
		v.SetInt(n)
		return nil
	case reflect.Bool:
		if null {
			return nil
		}
		switch string(raw) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return d.typeError(m, path, "a boolean", raw)
		}
		return nil
	}
	panic("flow: cannot decode into " + v.Type().String())
}

func (d *decoder) typeError(m *modCtx, path, want string, raw []byte) *Error {
	return d.errorAt(m, path, fmt.Sprintf("want %s, got %s", want, jsonKind(raw)))
}

// errorAt is an *Error at path (from the root), in module m if any.
func (d *decoder) errorAt(m *modCtx, path, msg string) *Error {
	if m == nil || m.id == "" {
		return &Error{Field: path, Message: msg}
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(path, m.path), ".")
	return &Error{Module: m.id, Field: rel, Message: msg}
}

func modulePrefix(m *modCtx) string {
	if m == nil || m.id == "" {
		return ""
	}
	return fmt.Sprintf("module %q: ", m.id)
}

func depthMessage(level, limit int) string {
	return fmt.Sprintf("nested in %d loops or branches, over the limit of %d", level, limit)
}

// objectMembers splits a JSON object into its members, in document order.
// A repeated key appears twice; the last one wins, as in encoding/json.
func objectMembers(raw []byte) (keys []string, vals []json.RawMessage, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, nil, err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
		vals = append(vals, v)
	}
	return keys, vals, nil
}

// normalizeRaw compacts valid JSON and escapes it as json.Marshal does, so
// that a raw value survives a Marshal/Parse round trip byte for byte.
func normalizeRaw(raw []byte) json.RawMessage {
	var c, h bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return append(json.RawMessage(nil), raw...)
	}
	json.HTMLEscape(&h, c.Bytes())
	return h.Bytes()
}

type fieldInfo struct {
	index     int
	omitEmpty bool
}

var fieldCache sync.Map // reflect.Type → map[string]fieldInfo

// fieldsOf maps a struct's JSON names to its fields.
func fieldsOf(t reflect.Type) map[string]fieldInfo {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]fieldInfo)
	}
	fields := make(map[string]fieldInfo, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fields[name] = fieldInfo{index: i, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")}
	}
	fieldCache.Store(t, fields)
	return fields
}

// joinField appends a field name to a path.
func joinField(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// joinKey appends a map key: like a field when it is an identifier, else
// quoted in brackets.
func joinKey(path, key string) string {
	if isIdent(key) {
		return joinField(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// isIdent reports whether s is an ASCII identifier.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
