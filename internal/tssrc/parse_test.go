package tssrc

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestFindMain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		hasMain bool
		async   bool
		params  []Param
	}{
		{"async function", "export async function main(a) {}", true, true, []Param{{"a", false}}},
		{"function", "export function main(a?) {}", true, false, []Param{{"a", true}}},
		{"const async arrow", "export const main = async (a, b = 1) => a", true, true, []Param{{"a", false}, {"b", true}}},
		{"const arrow with return type", "export const main = (a: string): string => a", true, false, []Param{{"a", false}}},
		{"let async function expression", "export let main = async function main(a) {}", true, true, []Param{{"a", false}}},
		{"arrow with lone parameter", "export const main = async a => a", true, true, []Param{{"a", false}}},
		{"workflow wrapper", "export const main = workflow(async (n: number, who = \"x\") => n)", true, true, []Param{{"n", false}, {"who", true}}},
		{"workflow wrapper, function", "export const main = workflow(async function (n: number) { return n })", true, true, []Param{{"n", false}}},
		{"not exported", "async function main(a) {}", false, false, nil},
		{"default export", "export default function main(a) {}", false, false, nil},
		{"other name", "export async function mainly(a) {}", false, false, nil},
		{"nested", "function f() { export function main(a) {} }", false, false, nil},
		{"inside class", "class C { export function main(a) {} }", false, false, nil},
		{"export list", "async function main(a) {}\nexport { main };", false, false, nil},
		{"async export const is not main", "export async const main = (a) => a", false, false, nil},
		{"after division and regex", "const r = a / b / c; const q = /[}{]/;\nexport function main(x) {}", true, false, []Param{{"x", false}}},
		{"after template", "const t = `${ `}` }`;\nexport function main(x) {}", true, false, []Param{{"x", false}}},
		{"first main wins", "export function main(a) {}\nexport async function main(b) {}", true, false, []Param{{"a", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("t.ts", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if s.HasMain != tt.hasMain || s.Async != tt.async || !reflect.DeepEqual(s.Params, tt.params) {
				t.Errorf("Parse = HasMain %v Async %v Params %v, want %v %v %v", s.HasMain, s.Async, s.Params, tt.hasMain, tt.async, tt.params)
			}
			if !s.HasMain && s.Schema.Properties != nil {
				t.Errorf("schema of a script without main has properties %v", s.Schema.Properties)
			}
		})
	}
}

func TestParamSchemas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		param string
		want  string // JSON of the property schema
	}{
		{`a: string`, `{"type":"string"}`},
		{`a: Readonly<string>`, `{"type":"object"}`},
		{`a: readonly string[]`, `{"type":"array","items":{"type":"string"}}`},
		{`a: ReadonlyArray<Date>`, `{"type":"array","items":{"type":"string","format":"date-time"}}`},
		{`a: Array<string[]>`, `{"type":"array","items":{"type":"array","items":{"type":"string"}}}`},
		{`a: Resource<"x"> | undefined`, `{"type":"object","format":"resource-x"}`},
		{`a: { "quoted key": string, 1: number }`, `{"type":"object","properties":{"1":{"type":"number"},"quoted key":{"type":"string"}},"required":["quoted key","1"]}`},
		{`a: { b: string | undefined; readonly c: number }`, `{"type":"object","properties":{"b":{"type":"string"},"c":{"type":"number"}},"required":["c"]}`},
		{`a: { [k: string]: number }`, `{"type":"object"}`},
		{`a: { f(): void }`, `{"type":"object"}`},
		{`a: typeof x`, `{"type":"object"}`},
		{`a: T extends string ? 1 : 2`, `{"type":"object"}`},
		{`a: [string, number]`, `{"type":"object"}`},
		{`a: Foo["bar"]`, `{"type":"object"}`},
		{"a: `x${string}`", `{"type":"object"}`},
		{`a: 42`, `{"type":"object"}`},
		{`a: -1 | 2`, `{"type":"object"}`},
		{`a: "only"`, `{"type":"string","enum":["only"]}`},
		{`a: "x" | "x" | "y"`, `{"type":"string","enum":["x","y"]}`},
		{`a: wmill.S3Bucket`, `{"type":"object","format":"resource-s3_bucket"}`},
		{`a: Sql = "select 1"`, `{"type":"string","format":"sql","default":"select 1"}`},
		{`a: number = 1e3`, `{"type":"number","default":1000}`},
		{`a = 1.5e300`, `{"type":"number","default":1.5e+300}`},
		{`a = 9007199254740993`, `{"type":"number","default":9.007199254740992e+15}`},
		{`a = 1_000`, `{"type":"integer","default":1000}`},
		{`a = .5`, `{"type":"number","default":0.5}`},
		{`a = -0`, `{"type":"integer","default":0}`},
		{`a = 0b101`, `{"type":"integer","default":5}`},
		{`a = 123456789012345678901234567890n`, `{"type":"integer","default":123456789012345678901234567890}`},
		{`a = 'it\'s\n\u{1F600}'`, `{"type":"string","default":"it's\n😀"}`},
		{`a = [[1], [2]]`, `{"type":"array","items":{"type":"array","items":{"type":"integer"}},"default":[[1],[2]]}`},
		{`a = [true]`, `{"type":"array","items":{"type":"boolean"},"default":[true]}`},
		{`a = [{}]`, `{"type":"array","items":{"type":"object"},"default":[{}]}`},
		{`a = null`, `{"type":"object"}`},
		{`a = x`, `{"type":"object"}`},
		{`a = { ...x }`, `{"type":"object"}`},
		{`a = [1, ...x]`, `{"type":"object"}`},
		{"a = `${x}`", `{"type":"object"}`},
		{`a = f(1, 2)`, `{"type":"object"}`},
		{`a = b < c`, `{"type":"object"}`},
	}
	for _, tt := range tests {
		t.Run(tt.param, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("t.ts", []byte("export function main("+tt.param+") {}"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(s.Schema.Properties["a"])
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("schema of %s = %s, want %s", tt.param, got, tt.want)
			}
		})
	}
}

func TestSnakeCase(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"PostgresDb": "postgres_db",
		"S3Bucket":   "s3_bucket",
		"HTTPClient": "http_client",
		"slack":      "slack",
		"Slack":      "slack",
		"myAPIKey":   "my_api_key",
		"Gcp2Auth":   "gcp2_auth",
		"already_ok": "already_ok",
	}
	for in, want := range tests {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
