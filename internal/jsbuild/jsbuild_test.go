package jsbuild

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

const tsScript = `import { getState } from "windmill-client";

interface Input {
  name: string;
}

type Level = "low" | "high";

export async function main(who: Input, level: Level = "low"): Promise<string> {
  const prev = await getState();
  throw new Error("boom " + who.name + level + prev);
}
`

func TestBuildStripsTypesKeepsProvidedImports(t *testing.T) {
	t.Parallel()
	out, err := Build("f/ops/greet.ts", []byte(tsScript))
	if err != nil {
		t.Fatal(err)
	}
	code := string(out.Code)
	for _, want := range []string{`from "windmill-client"`, "export {", "async function main(who, level = \"low\")"} {
		if !strings.Contains(code, want) {
			t.Fatalf("output lacks %q:\n%s", want, code)
		}
	}
	if strings.Contains(code, "interface") || strings.Contains(code, ": string") {
		t.Fatalf("types left in output:\n%s", code)
	}
	// The generated line holding the throw maps back to line 11.
	var genLine int
	for i, l := range strings.Split(code, "\n") {
		if strings.Contains(l, "throw new Error") {
			genLine = i + 1
		}
	}
	if got := out.Map.Line(genLine); got != 11 {
		t.Fatalf("generated line %d maps to %d, want 11", genLine, got)
	}
	mapped := out.Map.MapStack("    at main (<script>:"+strconv.Itoa(genLine)+")", "f/ops/greet.ts")
	if mapped != "    at main (f/ops/greet.ts:11)" {
		t.Fatalf("mapped stack = %q", mapped)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, src, want string
	}{
		{"syntax", "a.ts", "export function main( {\n", "a.ts:2:1: Expected identifier"},
		{"npm import", "b.js", "import _ from \"lodash\";\nexport function main() { return _; }\n", `b.js:1:15: Could not resolve "lodash" (npm and relative imports are not supported yet`},
		{"relative import", "c.ts", "import x from \"./x\";\nexport const main = () => x;\n", `Could not resolve "./x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Build(tt.file, []byte(tt.src))
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeVLQ(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []int
	}{
		{"AAAA", []int{0, 0, 0, 0}},
		{"AACA", []int{0, 0, 1, 0}},
		{"D", []int{-1}},
		{"gB", []int{16}},
		{"2H", []int{123}},
	}
	for _, tt := range tests {
		got, err := decodeVLQ(tt.in)
		if err != nil || len(got) != len(tt.want) {
			t.Fatalf("%s: %v %v", tt.in, got, err)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Fatalf("%s: got %v, want %v", tt.in, got, tt.want)
			}
		}
	}
	if _, err := decodeVLQ("!"); err == nil {
		t.Fatal("bad character accepted")
	}
}
