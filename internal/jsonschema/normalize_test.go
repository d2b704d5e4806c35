package jsonschema

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	s := &Schema{Type: TypeObject, Properties: map[string]*Schema{
		"n":    {Type: TypeInteger},
		"f":    {Type: TypeNumber},
		"list": {Type: TypeArray, Items: &Schema{Type: TypeInteger}},
	}}
	args := map[string]any{"n": json.Number("3.0"), "f": json.Number("3.0"), "list": []any{json.Number("1e3"), json.Number("2")}, "other": json.Number("1.0")}
	if err := Validate(&Schema{Type: TypeObject, Properties: s.Properties}, map[string]any{"n": json.Number("3.0"), "f": json.Number("3.0"), "list": []any{json.Number("1e3")}}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(Normalize(s, args))
	if want := `{"f":3.0,"list":[1000,2],"n":3,"other":1.0}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}

func TestValidateOneOf(t *testing.T) {
	t.Parallel()
	alt := func(title, field string) *Schema {
		return &Schema{Title: title, Type: TypeObject, Required: []string{"label", field}, Properties: map[string]*Schema{
			"label": {Type: TypeString, Enum: []any{title}}, field: {Type: TypeString},
		}}
	}
	s := &Schema{Type: TypeObject, Properties: map[string]*Schema{"t": {Type: TypeObject, OneOf: []*Schema{alt("Database", "dsn"), alt("Bucket", "bucket")}}}}
	if err := Validate(s, map[string]any{"t": map[string]any{"label": "Bucket", "bucket": "b"}}); err != nil {
		t.Fatal(err)
	}
	err := Validate(s, map[string]any{"t": map[string]any{"label": "Bucket", "dsn": "x"}})
	if err == nil || !strings.Contains(err.Error(), `parameter "t": matches none of the alternatives "Database", "Bucket"`) {
		t.Fatalf("err = %v", err)
	}
}
