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
		return serveCmd(ctx, args[1:], env)
	case "backup":
		return backupCmd(ctx, args[1:], env)
	case "restore":
		return restoreCmd(args[1:], env)
	case "key":
		return keyRotateCmd(ctx, args[1:], env)
	case "script", "flow", "job", "variable", "resource", "schedule", "user", "token":
		return clientMain(ctx, args, env)
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "runlet", Version)
		return ExitOK
	case "help", "-h", "--help":
		usage(env.Stdout)
		return ExitOK
	}
	if isClientOption(args[0]) { // runlet --url U script list
		return clientMain(ctx, args, env)
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
  runlet serve [--config FILE] [--data DIR] [--addr HOST:PORT] [--workers N] [--runners N]
               [--queue-limit N] [--wait-limit D] [--grace D] [--retention D] [--max-depth N]
               [--max-body SIZE] [--timeout D] [--memory SIZE] [--log-format text|json]
               [--log-level L] [--metrics-token T] [--npm-registry URL]
               (every setting also as RUNLET_<KEY>, e.g. RUNLET_QUEUE_LIMIT; see README)
  runlet backup FILE|-            a running server's store (admin token; keep secret.key with it)
  runlet restore FILE [--data DIR]   into a data directory with an empty store, server stopped
  runlet key rotate               a new secrets key on a running server (admin token)
  runlet version

Client commands (talk to a running server):
  runlet script push FILE PATH [--summary S] [--description D] [--timeout D] [--memory SIZE]
                     [--allow-host H]... [--allow-private] [--warm] [--retries N] [--kind script|trigger]
  runlet script list [--prefix P] [--json]
  runlet script show PATH [--json]
  runlet script run PATH [--arg name=value]... [--args JSON] [--async]
  runlet flow push FILE PATH        FILE: an OpenFlow document, JSON or YAML (a new version if PATH exists)
  runlet flow run PATH [--arg name=value]... [--args JSON] [--async]
  runlet flow show PATH [--version N] [--json]      runlet flow list [PREFIX] [--json]
  runlet flow history PATH [--json]   runlet flow delete PATH   runlet flow status JOB_ID [--json]
  runlet job list [--path P] [--limit N] [--json]
  runlet job get ID [--json]
  runlet job logs ID [--follow]
  runlet job cancel ID [--reason R]
  runlet variable set PATH VALUE|- [--secret] [--description D]
  runlet variable get PATH [--json]
  runlet variable list [--json]
  runlet resource set PATH --type T (--value JSON | --file F) [--description D]
  runlet resource get PATH [--json]
  runlet resource list [--json]
  runlet schedule create PATH --cron EXPR [--tz ZONE] (--script PATH | --flow PATH)
                  [--arg name=value]... [--args JSON] [--no-overlap] [--catch-up skip|once]
                  [--paused-until TIME] [--on-failure PATH] [--on-failure-times N]
                  [--on-recovery PATH] [--on-success PATH] [--cron-version v1] [--summary S] [--disabled]
  runlet schedule update PATH [the create flags]     (changes only what is given)
  runlet schedule enable|disable|delete|show PATH    runlet schedule list [--prefix P] [--json]
  runlet schedule runs PATH [--limit N] [--json]
  runlet schedule preview EXPR [--tz ZONE] [--from TIME] [--count N]   (local; no server)
  runlet user add|list|remove|set-role ...   (admin)
  runlet token create [--user U | --service] [--role R] [--scope S]... [--expires 30d] [--label L]
  runlet token list [--json]        runlet token revoke PREFIX
  Options, before or after the command words: --url URL (env RUNLET_URL, default
  http://127.0.0.1:8000), --token T (env RUNLET_TOKEN, default ./runlet-data/admin.token),
  --workspace W (env RUNLET_WORKSPACE, default main). Settings for script push may
  also sit in NAME.script.yaml next to NAME.ext; flags win.

FILE is a Go (.go), TypeScript (.ts) or JavaScript (.js) script, or an Extism
plugin (.wasm; its arguments schema, if any, in FILE.schema.json next to it).

Environment:
  RUNLET_CACHE_DIR     build and compilation cache (default: the user cache dir + /runlet)
  RUNLET_NPM_REGISTRY  npm registry for JS/TS imports (default https://registry.npmjs.org)
`)
}
