// Package cli implements the runlet command line. Main writes only to the
// writers it is given, so tests run it in-process or as the real binary.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	ExitOK     = 0 // success
	ExitFailed = 1 // the script failed to build or run
	ExitUsage  = 2 // bad command line or arguments
)

// Env is what a command may touch.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// Main runs the command line args (without the program name) and returns
// the exit code.
func Main(args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 {
		usage(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], env)
	case "schema":
		return schemaCmd(args[1:], env)
	case "serve":
		fmt.Fprintln(env.Stderr, "runlet serve: not available yet (the server lands with the server issue); use `runlet run FILE` meanwhile")
		return ExitFailed
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "runlet", Version)
		return ExitOK
	case "help", "-h", "--help":
		usage(env.Stdout)
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "runlet: unknown command %q\n", args[0])
	usage(env.Stderr)
	return ExitUsage
}

// Version is runlet's version, set at link time.
var Version = "dev"

func usage(w io.Writer) {
	fmt.Fprint(w, `runlet runs small scripts inside WebAssembly sandboxes.

Usage:
  runlet run FILE [--arg name=value]... [--args JSON] [--timeout D] [--memory SIZE]
                  [--allow-host HOST]... [--allow-private] [--warm] [--entry FUNC]
  runlet schema FILE
  runlet serve [--data DIR] [--addr HOST:PORT]   (not available yet)
  runlet version

FILE is a Go (.go), TypeScript (.ts) or JavaScript (.js) script, or an Extism
plugin (.wasm; its arguments schema, if any, in FILE.schema.json next to it).

Environment:
  RUNLET_CACHE_DIR     build and compilation cache (default: the user cache dir + /runlet)
  RUNLET_NPM_REGISTRY  npm registry for JS/TS imports (default https://registry.npmjs.org)
`)
}
