package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/runlet/runlet/internal/gosrc"
)

func schemaCmd(argv []string, env Env) int {
	if len(argv) != 1 {
		fmt.Fprintln(env.Stderr, "usage: runlet schema FILE")
		return ExitUsage
	}
	file := argv[0]
	if lang := languageOf(file); lang != "go" {
		fmt.Fprintf(env.Stderr, "runlet schema: %s: unsupported language %q (supported: .go)\n", file, lang)
		return ExitUsage
	}
	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet schema:", err)
		return ExitUsage
	}
	s, err := gosrc.InferSchema(file, src)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet schema:", err)
		return ExitFailed
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	fmt.Fprintf(env.Stdout, "%s\n", b)
	return ExitOK
}
