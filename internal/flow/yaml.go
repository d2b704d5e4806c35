package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// yamlToJSON converts a one-document YAML stream to JSON. Aliases are
// expanded, bounded by 4×MaxBytes of output; keys become strings.
func yamlToJSON(data []byte, opt Options) ([]byte, *Error) {
	limit := opt.yamlMaxNesting()
	tokens := lexer.Tokenize(string(data))
	if err := yamlShape(tokens, limit); err != nil {
		return nil, err
	}
	file, err := parser.Parse(tokens, 0)
	if err != nil {
		return nil, yamlError(err)
	}
	var docs []ast.Node
	for _, d := range file.Docs {
		if d.Body != nil {
			docs = append(docs, d.Body)
		}
	}
	switch len(docs) {
	case 0:
		return nil, &Error{Message: "empty document"}
	case 1:
	default:
		return nil, &Error{Message: fmt.Sprintf("YAML stream has %d documents, want one", len(docs))}
	}
	var v any
	if err := yaml.NodeToValue(docs[0], &v, yaml.UseOrderedMap()); err != nil {
		return nil, yamlError(err)
	}
	w := jsonWriter{budget: 4 * opt.MaxBytes, maxDepth: limit}
	if err := w.value(v, 0); err != nil {
		return nil, &Error{Message: "YAML: " + err.Error()}
	}
	return w.buf.Bytes(), nil
}

// yamlError turns a go-yaml error into one line with its position.
func yamlError(err error) *Error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return &Error{Message: fmt.Sprintf("invalid YAML at %d:%d: %s", tk.Position.Line, tk.Position.Column, ye.GetMessage())}
		}
		return &Error{Message: "invalid YAML: " + ye.GetMessage()}
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return &Error{Message: "invalid YAML: " + msg}
}

// yamlShape refuses, before parsing, YAML that the parser would take too
// long over: nested more than limit levels deep, or with a block mapping
// of more than yamlMaxKeys keys. It works on the tokens: flow collections
// count exactly; a block collection is one level per increase of its
// indicators' column (an indentless sequence is under-counted, at most by
// half).
func yamlShape(tokens token.Tokens, limit int) *Error {
	type level struct{ col, keys int }
	var (
		flow  int
		block []level
		prev  *token.Token
	)
	for _, tk := range tokens {
		switch tk.Type {
		case token.DocumentHeaderType, token.DocumentEndType:
			flow, block = 0, block[:0]
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			flow = max(flow-1, 0)
		case token.SequenceEntryType, token.MappingKeyType, token.MappingValueType:
			if flow > 0 || tk.Position == nil {
				break
			}
			col := tk.Position.Column
			if tk.Type == token.MappingValueType && prev != nil && prev.Position != nil {
				col = prev.Position.Column // the key's
			}
			for len(block) > 0 && block[len(block)-1].col > col {
				block = block[:len(block)-1]
			}
			if len(block) == 0 || block[len(block)-1].col < col {
				block = append(block, level{col: col})
			}
			if tk.Type == token.MappingValueType {
				top := &block[len(block)-1]
				if top.keys++; top.keys > yamlMaxKeys {
					return &Error{Message: fmt.Sprintf("YAML mapping at line %d has more than %d keys", tk.Position.Line, yamlMaxKeys)}
				}
			}
		}
		if flow+len(block) > limit {
			return &Error{Message: fmt.Sprintf("YAML nested more than %d levels deep", limit)}
		}
		prev = tk
	}
	return nil
}

// jsonWriter writes the values go-yaml decodes as JSON.
type jsonWriter struct {
	buf      bytes.Buffer
	budget   int
	maxDepth int
}

func (w *jsonWriter) value(v any, depth int) error {
	if w.buf.Len() > w.budget {
		return fmt.Errorf("expands to more than %d bytes of JSON", w.budget)
	}
	if depth > w.maxDepth {
		return fmt.Errorf("nested more than %d levels deep", w.maxDepth)
	}
	switch x := v.(type) {
	case nil:
		w.buf.WriteString("null")
	case bool:
		w.buf.WriteString(strconv.FormatBool(x))
	case int:
		w.buf.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		w.buf.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		w.buf.WriteString(strconv.FormatUint(x, 10))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return fmt.Errorf("%v has no JSON form", x)
		}
		w.buf.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case string, []byte: // !!binary decodes to []byte; JSON gets base64
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		w.buf.Write(b)
	case []any:
		w.buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			if err := w.value(e, depth+1); err != nil {
				return err
			}
		}
		w.buf.WriteByte(']')
	case yaml.MapSlice:
		w.buf.WriteByte('{')
		for i, it := range x {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			k, err := yamlKey(it.Key)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(k)
			w.buf.Write(b)
			w.buf.WriteByte(':')
			if err := w.value(it.Value, depth+1); err != nil {
				return err
			}
		}
		w.buf.WriteByte('}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ms := make(yaml.MapSlice, len(keys))
		for i, k := range keys {
			ms[i] = yaml.MapItem{Key: k, Value: x[k]}
		}
		return w.value(ms, depth)
	default:
		return fmt.Errorf("unsupported value of type %T", v)
	}
	return nil
}

// yamlKey is the JSON name of a YAML mapping key.
func yamlKey(k any) (string, error) {
	switch x := k.(type) {
	case string:
		return x, nil
	case nil:
		return "null", nil
	case bool, int, int64, uint64:
		return fmt.Sprint(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("unsupported mapping key of type %T", k)
}
