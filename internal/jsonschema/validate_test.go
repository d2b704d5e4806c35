package jsonschema

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

// script is the schema of
//
//	func main(n int, f float64, s string, ok bool, at time.Time, bin []byte,
//		items []int, cfg struct{...}, db PostgresDB, opt *int, level Level)
var script = &Schema{
	Schema: Draft,
	Type:   TypeObject,
	Properties: map[string]*Schema{
		"n":     {Type: TypeInteger},
		"f":     {Type: TypeNumber},
		"s":     {Type: TypeString},
		"ok":    {Type: TypeBoolean},
		"at":    {Type: TypeString, Format: FormatDateTime},
		"bin":   {Type: TypeString, ContentEncoding: EncodingBase64},
		"items": {Type: TypeArray, Items: &Schema{Type: TypeInteger}},
		"cfg": {
			Type: TypeObject,
			Properties: map[string]*Schema{
				"host": {Type: TypeString},
				"port": {Type: TypeInteger},
				"tags": {Type: TypeArray, Items: &Schema{Type: TypeString}},
				"tls":  {Type: TypeObject, Properties: map[string]*Schema{"skip": {Type: TypeBoolean}}, AdditionalProperties: ptr(false)},
			},
			Required: []string{"host"},
		},
		"db":    {Type: TypeObject, Format: FormatResourcePrefix + "postgres_db"},
		"opt":   {Type: TypeInteger, Nullable: true},
		"level": {Type: TypeString, Enum: []any{"debug", "info"}},
		"pick":  {Type: TypeInteger, Enum: []any{1, 2}},
		"any":   {},
	},
	Required: []string{"n", "f", "s", "ok", "at", "bin", "items", "cfg", "db", "level"},
	Order:    []string{"n", "f", "s", "ok", "at", "bin", "items", "cfg", "db", "opt", "level", "pick", "any"},
}

// validArgs returns arguments that fit script, as decoded with UseNumber.
func validArgs() map[string]any {
	return decode(`{
		"n": 3, "f": 2.5, "s": "x", "ok": true,
		"at": "2024-05-01T10:00:00Z", "bin": "aGVsbG8=",
		"items": [1, 2, 3],
		"cfg": {"host": "h", "port": 5432, "extra": "ignored", "tls": {"skip": false}},
		"db": {"dsn": "postgres://"},
		"level": "info"
	}`)
}

func decode(s string) map[string]any {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		panic(err)
	}
	return m
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		schema *Schema
		change func(args map[string]any)
	}{
		{"valid args", script, func(map[string]any) {}},
		{"optional given", script, func(a map[string]any) { a["opt"] = json.Number("7") }},
		{"nullable null", script, func(a map[string]any) { a["opt"] = nil }},
		{"whole json.Number with fraction", script, func(a map[string]any) { a["n"] = json.Number("3.0") }},
		{"whole json.Number with exponent", script, func(a map[string]any) { a["n"] = json.Number("1.5e3") }},
		{"zero with exponent", script, func(a map[string]any) { a["n"] = json.Number("0e999999999999") }},
		{"min int64", script, func(a map[string]any) { a["n"] = json.Number("-9223372036854775808") }},
		{"max int64 with exponent", script, func(a map[string]any) { a["n"] = json.Number("9.223372036854775807e18") }},
		{"float64 integer", script, func(a map[string]any) { a["n"] = 3.0 }},
		{"int integer", script, func(a map[string]any) { a["n"] = 3 }},
		{"int64 integer", script, func(a map[string]any) { a["n"] = int64(3) }},
		{"int number", script, func(a map[string]any) { a["f"] = 2 }},
		{"float64 number", script, func(a map[string]any) { a["f"] = 2.5 }},
		{"date-time with offset and fraction", script, func(a map[string]any) { a["at"] = "2024-05-01T10:00:00.123+02:00" }},
		{"empty base64", script, func(a map[string]any) { a["bin"] = "" }},
		{"empty array", script, func(a map[string]any) { a["items"] = []any{} }},
		{"enum number by value", script, func(a map[string]any) { a["pick"] = json.Number("2.0") }},
		{"untyped property takes anything", script, func(a map[string]any) { a["any"] = []any{"x", nil} }},
		{"free-form schema takes anything", &Schema{Type: TypeObject}, func(a map[string]any) { a["zzz"] = 1 }},
		{"additional properties allowed", &Schema{Properties: script.Properties, Required: script.Required, AdditionalProperties: ptr(true)}, func(a map[string]any) { a["zzz"] = 1 }},
		{"nil schema", nil, func(a map[string]any) { a["n"] = "x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := validArgs()
			tt.change(args)
			if err := Validate(tt.schema, args); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(args map[string]any)
		want   []Problem
	}{
		{"missing required", func(a map[string]any) { delete(a, "n"); delete(a, "s") },
			[]Problem{{"n", "missing required value"}, {"s", "missing required value"}}},
		{"null for required", func(a map[string]any) { a["n"] = nil },
			[]Problem{{"n", "want integer, got null"}}},
		{"string for integer", func(a map[string]any) { a["n"] = "3" },
			[]Problem{{"n", "want integer, got string"}}},
		{"fraction for integer", func(a map[string]any) { a["n"] = json.Number("3.5") },
			[]Problem{{"n", "want integer, got 3.5"}}},
		{"tiny fraction for integer", func(a map[string]any) { a["n"] = json.Number("1e-999999999999") },
			[]Problem{{"n", "want integer, got 1e-999999999999"}}},
		{"float64 fraction for integer", func(a map[string]any) { a["n"] = 3.25 },
			[]Problem{{"n", "want integer, got 3.25"}}},
		{"integer above int64", func(a map[string]any) { a["n"] = json.Number("9223372036854775808") },
			[]Problem{{"n", "integer 9223372036854775808 out of int64 range"}}},
		{"integer below int64", func(a map[string]any) { a["n"] = json.Number("-9.223372036854775809e18") },
			[]Problem{{"n", "integer -9.223372036854775809e18 out of int64 range"}}},
		{"huge exponent", func(a map[string]any) { a["n"] = json.Number("1e999999999999") },
			[]Problem{{"n", "integer 1e999999999999 out of int64 range"}}},
		{"float64 2^63", func(a map[string]any) { a["n"] = math.Pow(2, 63) },
			[]Problem{{"n", "integer 9.223372036854776e+18 out of int64 range"}}},
		{"uint64 above int64", func(a map[string]any) { a["n"] = uint64(math.MaxUint64) },
			[]Problem{{"n", "integer 18446744073709551615 out of int64 range"}}},
		{"bad json.Number", func(a map[string]any) { a["n"] = json.Number("x") },
			[]Problem{{"n", `want integer, got "x"`}}},
		{"bool for number", func(a map[string]any) { a["f"] = true },
			[]Problem{{"f", "want number, got boolean"}}},
		{"NaN for number", func(a map[string]any) { a["f"] = math.NaN() },
			[]Problem{{"f", "want finite number, got NaN"}}},
		{"number for string", func(a map[string]any) { a["s"] = json.Number("1") },
			[]Problem{{"s", "want string, got number"}}},
		{"string for boolean", func(a map[string]any) { a["ok"] = "true" },
			[]Problem{{"ok", "want boolean, got string"}}},
		{"bad date-time", func(a map[string]any) { a["at"] = "2024-05-01 10:00" },
			[]Problem{{"at", `want RFC 3339 date-time, got "2024-05-01 10:00"`}}},
		{"bad base64", func(a map[string]any) { a["bin"] = "not base64!" },
			[]Problem{{"bin", `want standard base64, got "not base64!"`}}},
		{"url base64", func(a map[string]any) { a["bin"] = "-_8=" },
			[]Problem{{"bin", `want standard base64, got "-_8="`}}},
		{"array items", func(a map[string]any) { a["items"] = []any{json.Number("1"), "two", json.Number("3"), nil} },
			[]Problem{{"items[1]", "want integer, got string"}, {"items[3]", "want integer, got null"}}},
		{"object for array", func(a map[string]any) { a["items"] = map[string]any{} },
			[]Problem{{"items", "want array, got object"}}},
		{"nested field", func(a map[string]any) {
			a["cfg"] = map[string]any{"port": "80", "tags": []any{true}, "tls": map[string]any{"skip": 1.0, "x": 1}}
		}, []Problem{
			{"cfg.host", "missing required value"},
			{"cfg.port", "want integer, got string"},
			{"cfg.tags[0]", "want string, got boolean"},
			{"cfg.tls.skip", "want boolean, got number"},
			{"cfg.tls.x", msgUnknown},
		}},
		{"array for resource", func(a map[string]any) { a["db"] = []any{} },
			[]Problem{{"db", "want object, got array"}}},
		{"not in enum", func(a map[string]any) { a["level"] = "trace" },
			[]Problem{{"level", `want one of ["debug","info"], got "trace"`}}},
		{"number not in enum", func(a map[string]any) { a["pick"] = json.Number("3") },
			[]Problem{{"pick", `want one of [1,2], got 3`}}},
		{"unknown parameters", func(a map[string]any) { a["zz"] = 1; a["aa"] = nil },
			[]Problem{{"aa", msgUnknown}, {"zz", msgUnknown}}},
		{"Go type for integer", func(a map[string]any) { a["n"] = struct{}{} },
			[]Problem{{"n", "want integer, got struct {}"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := validArgs()
			tt.change(args)
			err := Validate(script, args)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate = %v, want an *Error", err)
			}
			if !reflect.DeepEqual(e.Problems, tt.want) {
				t.Errorf("problems =\n%q\nwant\n%q", e.Problems, tt.want)
			}
		})
	}
}

func TestValidateErrorText(t *testing.T) {
	t.Parallel()
	args := validArgs()
	args["n"] = "3"
	args["x"] = true
	delete(args, "s")
	err := Validate(script, args)
	want := `parameter "s": missing required value; parameter "n": want integer, got string; unknown parameter "x"`
	if err == nil || err.Error() != want {
		t.Errorf("Validate error =\n%v\nwant\n%s", err, want)
	}
}

func TestValidateEmptyArgs(t *testing.T) {
	t.Parallel()
	s := &Schema{Type: TypeObject, Properties: map[string]*Schema{"p": {Type: TypeString, Nullable: true}}}
	if err := Validate(s, nil); err != nil {
		t.Errorf("Validate(nil args) with no required parameter: %v", err)
	}
}

func TestJSONNumberInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		in                string
		whole, fits, isOK bool
	}{
		{"plain", "12", true, true, true},
		{"negative zero", "-0.0", true, true, true},
		{"fraction", "12.5", false, false, true},
		{"trailing zeros", "12.500e1", true, true, true},
		{"exponent plus", "1E+2", true, true, true},
		{"negative exponent whole", "1200e-2", true, true, true},
		{"negative exponent fraction", "1201e-2", false, false, true},
		{"too big", "1e19", true, false, true},
		{"just too big", "9223372036854775808", true, false, true},
		{"min", "-9223372036854775808", true, true, true},
		{"empty", "", false, false, false},
		{"letters", "1x", false, false, false},
		{"bare dot", "1.", false, false, false},
		{"bad exponent", "1e", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			whole, fits, ok := jsonNumberInt(tt.in)
			if whole != tt.whole || fits != tt.fits || ok != tt.isOK {
				t.Errorf("jsonNumberInt(%q) = %v, %v, %v; want %v, %v, %v", tt.in, whole, fits, ok, tt.whole, tt.fits, tt.isOK)
			}
		})
	}
}

// FuzzJSONNumberInt compares jsonNumberInt with exact big.Rat arithmetic on
// JSON numbers small enough for big.Rat to handle quickly.
func FuzzJSONNumberInt(f *testing.F) {
	for _, s := range []string{"0", "-1", "1.5", "12.500e1", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "1e-3", "100e-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var n json.Number
		if len(s) > 60 || json.Unmarshal([]byte(s), &n) != nil || string(n) != s {
			return
		}
		if _, exp, ok := strings.Cut(strings.ToLower(s), "e"); ok && len(strings.TrimLeft(exp, "+-0")) > 3 {
			return // exponent too large for big.Rat to be quick
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("big.Rat cannot parse %q", s)
		}
		whole := r.IsInt()
		fits := whole && r.Num().IsInt64()
		gw, gf, gok := jsonNumberInt(s)
		if !gok || gw != whole || gf != fits {
			t.Fatalf("jsonNumberInt(%q) = %v, %v, %v; want %v, %v, true", s, gw, gf, gok, whole, fits)
		}
	})
}
