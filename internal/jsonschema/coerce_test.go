package jsonschema

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// params is an object schema with one property of each kind.
var params = &Schema{
	Type: TypeObject,
	Properties: map[string]*Schema{
		"n":     {Type: TypeInteger},
		"pn":    {Type: TypeInteger, Nullable: true},
		"f":     {Type: TypeNumber},
		"ok":    {Type: TypeBoolean},
		"s":     {Type: TypeString},
		"ps":    {Type: TypeString, Nullable: true},
		"cfg":   {Type: TypeObject},
		"items": {Type: TypeArray, Items: &Schema{Type: TypeInteger}},
		"free":  {},
		"odd":   {Type: "tuple"},
	},
}

func TestCoerce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		schema *Schema
		param  string
		raw    string
		want   any
	}{
		{"integer", params, "n", "42", int64(42)},
		{"negative integer", params, "n", "-7", int64(-7)},
		{"max int64", params, "n", "9223372036854775807", int64(9223372036854775807)},
		{"nullable integer null", params, "pn", "null", nil},
		{"number", params, "f", "3.5", 3.5},
		{"number from integer text", params, "f", "2", 2.0},
		{"number with exponent", params, "f", "1e3", 1000.0},
		{"boolean true", params, "ok", "true", true},
		{"boolean 1", params, "ok", "1", true},
		{"boolean false", params, "ok", "false", false},
		{"boolean 0", params, "ok", "0", false},
		{"string unchanged", params, "s", ` "quoted" 42 `, ` "quoted" 42 `},
		{"empty string", params, "s", "", ""},
		{"nullable string null is text", params, "ps", "null", "null"},
		{"object", params, "cfg", `{"port": 8080, "tags": ["a"]}`, map[string]any{"port": json.Number("8080"), "tags": []any{"a"}}},
		{"array", params, "items", `[1, 2]`, []any{json.Number("1"), json.Number("2")}},
		{"untyped property JSON", params, "free", `{"a":true}`, map[string]any{"a": true}},
		{"untyped property text", params, "free", `hello`, "hello"},
		{"free-form number", &Schema{Type: TypeObject}, "x", "12", json.Number("12")},
		{"free-form JSON string", &Schema{Type: TypeObject}, "x", `"hi"`, "hi"},
		{"free-form text", &Schema{Type: TypeObject}, "x", "hi there", "hi there"},
		{"free-form trailing data is text", &Schema{Type: TypeObject}, "x", "1 2", "1 2"},
		{"nil schema", nil, "x", "[true]", []any{true}},
		{"additional properties allowed", &Schema{Properties: params.Properties, AdditionalProperties: ptr(true)}, "x", "7", json.Number("7")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Coerce(tt.schema, tt.param, tt.raw)
			if err != nil {
				t.Fatalf("Coerce(%q, %q): %v", tt.param, tt.raw, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Coerce(%q, %q) = %#v, want %#v", tt.param, tt.raw, got, tt.want)
			}
		})
	}
}

func TestCoerceErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		schema *Schema
		param  string
		raw    string
		want   string // the whole error text
	}{
		{"integer from text", params, "n", "abc", `parameter "n": want integer, got "abc"`},
		{"integer from fraction", params, "n", "3.5", `parameter "n": want integer, got "3.5"`},
		{"integer from empty", params, "n", "", `parameter "n": want integer, got ""`},
		{"integer with spaces", params, "n", " 1", `parameter "n": want integer, got " 1"`},
		{"integer out of range", params, "n", "9223372036854775808", `parameter "n": integer "9223372036854775808" out of int64 range`},
		{"null for integer", params, "n", "null", `parameter "n": want integer, got "null"`},
		{"number from text", params, "f", "x1", `parameter "f": want number, got "x1"`},
		{"number infinite", params, "f", "Inf", `parameter "f": want number, got "Inf"`},
		{"number NaN", params, "f", "NaN", `parameter "f": want number, got "NaN"`},
		{"boolean yes", params, "ok", "yes", `parameter "ok": want boolean (true, false, 1 or 0), got "yes"`},
		{"invalid object", params, "cfg", `{"a":`, `parameter "cfg": want JSON object, got invalid JSON: unexpected EOF`},
		{"object trailing data", params, "cfg", `{} {}`, `parameter "cfg": want JSON object, got invalid JSON: unexpected data after the JSON value`},
		{"array for object", params, "cfg", `[1]`, `parameter "cfg": want object, got array`},
		{"object for array", params, "items", `{}`, `parameter "items": want array, got object`},
		{"null for array", params, "items", `null`, `parameter "items": want array, got null`},
		{"unknown parameter", params, "x", "1", `unknown parameter "x"`},
		{"unknown with additional properties false", &Schema{AdditionalProperties: ptr(false)}, "x", "1", `unknown parameter "x"`},
		{"unsupported schema type", params, "odd", "1", `parameter "odd": schema has unsupported type "tuple"`},
		{"long value shortened", params, "n", strings.Repeat("9", 70), `parameter "n": integer "` + strings.Repeat("9", 64) + `"... out of int64 range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Coerce(tt.schema, tt.param, tt.raw)
			if err == nil {
				t.Fatalf("Coerce(%q, %q) = %#v, want an error", tt.param, tt.raw, got)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0].Path != tt.param {
				t.Errorf("error %#v is not an *Error with one problem at %q", err, tt.param)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
