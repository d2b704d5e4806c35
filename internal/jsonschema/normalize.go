package jsonschema

import (
	"encoding/json"
	"math/big"
)

// Normalize rewrites, in place where possible, every whole number that the
// schema types as integer but that is written as a fraction or with an
// exponent (3.0, 1e3) into its integer form, so that a Go guest decoding it
// into an int accepts what Validate accepted. Call it after Validate.
func Normalize(s *Schema, v any) any {
	if s == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if p := s.Properties[k]; p != nil {
				x[k] = Normalize(p, e)
			}
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = Normalize(s.Items, e)
		}
		return x
	case json.Number:
		if s.Type != TypeInteger {
			return x
		}
		f, ok := new(big.Float).SetPrec(256).SetString(string(x))
		if !ok || !f.IsInt() {
			return x
		}
		i, _ := f.Int(nil)
		return json.Number(i.String())
	case float64:
		if s.Type == TypeInteger && x == float64(int64(x)) {
			return int64(x)
		}
	}
	return v
}
