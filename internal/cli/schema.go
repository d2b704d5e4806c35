package cli

import (
	"encoding/json"
	"fmt"
	"os"
)

func schemaCmd(argv []string, env Env) int {
	if len(argv) != 1 {
		fmt.Fprintln(env.Stderr, "usage: runlet schema FILE")
		return ExitUsage
	}
	file := argv[0]
	lang := languageOf(file)
	if lang != "go" && lang != "typescript" && lang != "javascript" && lang != "wasm" {
		fmt.Fprintf(env.Stderr, "runlet schema: %s: unsupported language %q (supported: .go, .ts, .js, .wasm)\n", file, lang)
		return ExitUsage
	}
	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet schema:", err)
		return ExitUsage
	}
	s, _, err := inferSchema(lang, file, src)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet schema:", err)
		return ExitFailed
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	fmt.Fprintf(env.Stdout, "%s\n", b)
	return ExitOK
}
