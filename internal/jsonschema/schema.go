// Package jsonschema holds the small subset of JSON Schema (draft 2020-12)
// that runlet infers from scripts, and the code that turns command-line
// arguments into typed values (Coerce) and checks job arguments (Validate)
// against such a schema.
package jsonschema

// Draft is the $schema URI of the JSON Schema dialect runlet produces.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// The values of Schema.Type that runlet produces and understands.
const (
	TypeObject  = "object"
	TypeArray   = "array"
	TypeString  = "string"
	TypeInteger = "integer"
	TypeNumber  = "number"
	TypeBoolean = "boolean"
)

// Well-known values of Schema.Format and Schema.ContentEncoding.
const (
	FormatDateTime = "date-time"
	// FormatResourcePrefix starts the format of an object that stands for a
	// resource, e.g. "resource-postgres_db".
	FormatResourcePrefix = "resource-"
	EncodingBase64       = "base64"
)

// Schema is the subset of JSON Schema 2020-12 runlet produces and understands.
//
// A Schema with an empty Type accepts any value. An object Schema without
// Properties is free-form: it accepts any object.
type Schema struct {
	Schema               string             `json:"$schema,omitempty"`
	Title                string             `json:"title,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	ContentEncoding      string             `json:"contentEncoding,omitempty"`
	Description          string             `json:"description,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Order                []string           `json:"order,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Default              any                `json:"default,omitempty"`
	Nullable             bool               `json:"nullable,omitempty"`
	AdditionalProperties *bool              `json:"additionalProperties,omitempty"`
	// OneOf lists the alternatives of a tagged union (Windmill's TypeScript
	// unions of objects with a string-literal label); a value must match
	// one of them.
	OneOf []*Schema `json:"oneOf,omitempty"`
}
