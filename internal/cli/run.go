package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/gobuild"
	"github.com/runlet/runlet/internal/jsbuild"
	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/internal/scriptbuild"
	"github.com/runlet/runlet/runtime"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parseInterleaved parses flags that may come before or after positional
// arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

type runOpts struct {
	args       multiFlag
	argsJSON   string
	timeout    time.Duration
	memory     string
	allowHosts multiFlag
	private    bool
	warm       bool
	entry      string
}

func runCmd(ctx context.Context, argv []string, env Env) int {
	var o runOpts
	fs := flag.NewFlagSet("runlet run", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Var(&o.args, "arg", "argument `name=value`, coerced by the script's schema (repeatable)")
	fs.StringVar(&o.argsJSON, "args", "", "arguments as a JSON `object` (--arg values override)")
	fs.DurationVar(&o.timeout, "timeout", runtime.DefaultTimeout, "wall-clock limit")
	fs.StringVar(&o.memory, "memory", runtime.FormatSize(runtime.DefaultMaxMemory), "memory limit: bytes or e.g. 64MiB, 1GiB")
	fs.Var(&o.allowHosts, "allow-host", "a `host` outbound HTTP may reach (repeatable; *.example.com, host:port)")
	fs.BoolVar(&o.private, "allow-private", false, "let HTTP reach loopback and private networks")
	fs.BoolVar(&o.warm, "warm", false, "reuse a warm instance (no per-job clean state)")
	fs.StringVar(&o.entry, "entry", "", "the `function` an Extism plugin (.wasm) runs (default main)")
	pos, err := parseInterleaved(fs, argv)
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "usage: runlet run FILE [flags]")
		return ExitUsage
	}
	file := pos[0]
	mem, err := runtime.ParseSize(o.memory)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet run: --memory:", err)
		return ExitUsage
	}
	if o.timeout <= 0 {
		fmt.Fprintln(env.Stderr, "runlet run: --timeout: must be positive")
		return ExitUsage
	}
	limits := runtime.Limits{MaxMemory: mem, Timeout: o.timeout, AllowedHosts: o.allowHosts, AllowPrivate: o.private}
	if err := limits.Validate(); err != nil {
		fmt.Fprintln(env.Stderr, "runlet run:", err)
		return ExitUsage
	}
	lang := languageOf(file)
	if lang != "go" && lang != "typescript" && lang != "javascript" && lang != "wasm" {
		fmt.Fprintf(env.Stderr, "runlet run: %s: unsupported language %q (supported: .go, .ts, .js, .wasm)\n", file, lang)
		return ExitUsage
	}
	if o.entry != "" && lang != "wasm" {
		fmt.Fprintln(env.Stderr, "runlet run: --entry applies to .wasm (Extism) plugins only")
		return ExitUsage
	}
	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet run:", err)
		return ExitUsage
	}
	schema, params, err := inferSchema(lang, file, src)
	if err != nil {
		return fail(env, "BuildError", err.Error(), "")
	}
	args, err := buildArgs(schema, o.argsJSON, o.args)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet run:", err)
		return ExitUsage
	}
	cache := cacheDir(env)
	prep, err := buildScript(ctx, cache, lang, file, src, params)
	if err == nil {
		args, err = prep.Args(args)
	}
	if err != nil {
		var be *gobuild.BuildError
		var je *jsbuild.Error
		switch {
		case errors.As(err, &be):
			return fail(env, "BuildError", be.Message, "")
		case errors.As(err, &je):
			return fail(env, "BuildError", je.Error(), "")
		}
		return fail(env, "BuildError", err.Error(), "")
	}
	mod := prep.Module
	eng, err := runtime.New(runtime.Config{Workers: 1, CacheDir: filepath.Join(cache, "wazero"), Stderr: env.Stderr})
	if err != nil {
		return fail(env, "InternalError", err.Error(), "")
	}
	defer eng.Stop()
	job := runtime.Job{Module: mod, Args: args, Load: prep.Load, Limits: limits, Caller: newMemCaller(), Entry: o.entry}
	if o.warm {
		job.Mode = runtime.Warm
	}
	res, err := eng.Run(ctx, job)
	if res != nil {
		writeLogs(env.Stderr, res)
	}
	if err != nil {
		name := runtime.ErrorName(err)
		msg, stack := err.Error(), ""
		var se *runtime.ScriptError
		if errors.As(err, &se) {
			msg, stack = prep.MapStack(se.Message), prep.MapStack(se.Stack)
		}
		return fail(env, name, msg, stack)
	}
	fmt.Fprintf(env.Stdout, "%s\n", compact(res.Output))
	return ExitOK
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	return out.Bytes()
}

func languageOf(file string) string {
	if l := scriptbuild.LanguageOf(file); l != "" {
		return l
	}
	return strings.TrimPrefix(filepath.Ext(file), ".")
}

func cacheDir(env Env) string {
	if d := env.Getenv("RUNLET_CACHE_DIR"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "runlet")
}

// buildArgs merges --args and --arg by the schema and validates the result.
func buildArgs(s *jsonschema.Schema, argsJSON string, pairs []string) (json.RawMessage, error) {
	args := map[string]any{}
	if argsJSON != "" {
		d := json.NewDecoder(strings.NewReader(argsJSON))
		d.UseNumber()
		if err := d.Decode(&args); err != nil {
			return nil, fmt.Errorf("--args: not a JSON object: %v", err)
		}
	}
	for _, p := range pairs {
		name, raw, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--arg %q: want name=value", p)
		}
		v, err := jsonschema.Coerce(s, name, raw)
		if err != nil {
			return nil, err
		}
		args[name] = v
	}
	if err := jsonschema.Validate(s, args); err != nil {
		return nil, err
	}
	return json.Marshal(jsonschema.Normalize(s, args))
}

type errorDoc struct {
	Error struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Stack   string `json:"stack"`
	} `json:"error"`
}

func fail(env Env, name, msg, stack string) int {
	var d errorDoc
	d.Error.Name, d.Error.Message, d.Error.Stack = name, msg, stack
	b, _ := json.Marshal(d)
	fmt.Fprintf(env.Stdout, "%s\n", b)
	return ExitFailed
}

func writeLogs(w io.Writer, res *runtime.Result) {
	for _, l := range res.Logs {
		fmt.Fprintf(w, "%s %-5s %s\n", l.Time.UTC().Format("2006-01-02T15:04:05.000Z"), strings.ToUpper(l.Level.String()), l.Text)
	}
}
