package tssrc

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want string // the whole error text
	}{
		{"rest parameter", "export async function main(a: string, ...xs: string[]) {}\n",
			"bad.ts:1:39: rest parameter of main is not supported"},
		{"unterminated double-quoted string", "const a = 1;\nconst s = \"abc\nexport function main() {}\n",
			"bad.ts:2:11: unterminated string"},
		{"unterminated single-quoted string at EOF", "export function main(x = 'abc",
			"bad.ts:1:26: unterminated string"},
		{"unterminated comment", "export function main() {}\n  /* never closed\n",
			"bad.ts:2:3: unterminated comment"},
		{"unterminated template", "const t = `abc ${1}\n",
			"bad.ts:1:11: unterminated template literal"},
		{"unterminated substitution", "const t = `abc ${ {a: 1} `\n",
			"bad.ts:1:26: unterminated template literal"},
		{"unbalanced paren", "export async function main(a: string {\n}\n",
			"bad.ts:1:27: unclosed '('"},
		{"mismatched bracket", "export async function main(a: string[) {\n}\n",
			"bad.ts:1:38: ')' does not close '[' at 1:37"},
		{"unclosed paren", "export async function main(a: string\n",
			"bad.ts:1:27: unclosed '('"},
		{"extra closer", "export function main() {}\n}\n",
			"bad.ts:2:1: unbalanced '}'"},
		{"missing comma", "export function main(a: string b: number) {}\n",
			`bad.ts:1:32: expected ',' or ')' after parameter "a", found 'b'`},
		{"bad parameter name", "export function main(a, 42) {}\n",
			"bad.ts:1:25: expected parameter name, found number 42"},
		{"duplicate parameter", "export function main(a, a) {}\n",
			`bad.ts:1:25: duplicate parameter "a"`},
		{"missing type", "export function main(a: , b) {}\n",
			"bad.ts:1:25: expected type, found ','"},
		{"missing default", "export function main(a = ) {}\n",
			"bad.ts:1:26: expected default value, found ')'"},
		{"columns count characters", "const é = 'ü';\nexport function main(ü, ...r) {}\n",
			"bad.ts:2:25: rest parameter of main is not supported"},
		{"deep type", "export function main(a: " + strings.Repeat("(", 70) + "string" + strings.Repeat(")", 70) + ") {}\n",
			"bad.ts:1:"},
		{"deep array type", "export function main(a: string" + strings.Repeat("[]", 70) + ") {}\n",
			"bad.ts:1:"},
		{"deep default", "export function main(a = " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + ") {}\n",
			"bad.ts:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("bad.ts", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %d params, want error %q", len(s.Params), tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if s != nil {
				t.Error("Parse returned a script with its error")
			}
			if strings.HasSuffix(tt.want, ":") {
				if !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "more than 64 levels") {
					t.Errorf("error = %q, want a depth error at %q", err, tt.want)
				}
				return
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: "a.ts", Line: 3, Col: 7, Msg: "boom"}, "a.ts:3:7: boom"},
		{&Error{File: "a.ts", Msg: "boom"}, "a.ts: boom"},
		{&Error{Msg: "boom"}, "boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
