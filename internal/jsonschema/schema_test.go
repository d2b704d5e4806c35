package jsonschema

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestSchemaJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		schema *Schema
		want   string
	}{
		{
			name:   "empty fields are left out",
			schema: &Schema{Schema: Draft, Type: TypeObject},
			want:   `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object"}`,
		},
		{
			name: "properties sorted, lists in order",
			schema: &Schema{
				Type: TypeObject,
				Properties: map[string]*Schema{
					"b": {Type: TypeString, ContentEncoding: EncodingBase64, Nullable: true},
					"a": {Type: TypeArray, Items: &Schema{Type: TypeString, Format: FormatDateTime}},
				},
				Required:             []string{"b", "a"},
				Order:                []string{"b", "a"},
				AdditionalProperties: ptr(false),
			},
			want: `{"type":"object","properties":{"a":{"type":"array","items":{"type":"string","format":"date-time"}},` +
				`"b":{"type":"string","contentEncoding":"base64","nullable":true}},"required":["b","a"],"order":["b","a"],"additionalProperties":false}`,
		},
		{
			name:   "enum, default, description",
			schema: &Schema{Type: TypeString, Description: "level", Enum: []any{"a", "b"}, Default: "a"},
			want:   `{"type":"string","description":"level","enum":["a","b"],"default":"a"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.schema)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal =\n%s\nwant\n%s", got, tt.want)
			}
			var back Schema
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&back, tt.schema) {
				t.Errorf("round trip = %+v, want %+v", back, *tt.schema)
			}
		})
	}
}
