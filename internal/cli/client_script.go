package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml"

	"github.com/runlet/runlet/internal/client"
	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/runtime"
)

// scriptMeta is a script's settings as FILE.script.yaml (next to FILE, its
// extension replaced, as in Windmill) holds them. Flags on `script push`
// win over it.
type scriptMeta struct {
	Summary      string   `yaml:"summary"`
	Description  string   `yaml:"description"`
	Kind         string   `yaml:"kind"`          // script (default) or trigger
	Timeout      int      `yaml:"timeout"`       // seconds
	Memory       string   `yaml:"memory"`        // a size: 64MiB, 1GiB, bytes
	AllowedHosts []string `yaml:"allowed_hosts"` // outbound HTTP allow-list
	AllowPrivate bool     `yaml:"allow_private"`
	Warm         bool     `yaml:"warm"`
	Retries      int      `yaml:"retries"` // retry a failed job this many times, 1 s apart
}

// scriptMetaPath is where FILE's settings live: dir/name.script.yaml for
// dir/name.ext.
func scriptMetaPath(file string) string {
	return strings.TrimSuffix(file, filepath.Ext(file)) + ".script.yaml"
}

// readScriptMeta reads FILE.script.yaml; a missing one is zero settings.
// Unknown keys are errors, so that a misspelt limit is not silently ignored.
func readScriptMeta(file string) (scriptMeta, error) {
	var m scriptMeta
	path := scriptMetaPath(file)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if err := yaml.UnmarshalWithOptions(b, &m, yaml.DisallowUnknownField()); err != nil {
		return m, fmt.Errorf("%s: %s", path, strings.Join(strings.Fields(yaml.FormatError(err, false, false)), " "))
	}
	return m, nil
}

// secondsFlag is a timeout in whole seconds, given as a duration ("90s",
// "2m") or a number of seconds ("90").
type secondsFlag int

func (s *secondsFlag) String() string {
	if s == nil || *s == 0 {
		return ""
	}
	return (time.Duration(*s) * time.Second).String()
}

func (s *secondsFlag) Set(v string) error {
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return errors.New("must be positive")
		}
		*s = secondsFlag(n)
		return nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return errors.New("want a duration such as 30s or 5m, or whole seconds")
	case d <= 0:
		return errors.New("must be positive")
	case d%time.Second != 0:
		return errors.New("must be a whole number of seconds")
	}
	*s = secondsFlag(d / time.Second)
	return nil
}

func scriptPushCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	var (
		flags   scriptMeta
		timeout secondsFlag
		hosts   multiFlag
	)
	fs := cc.fs
	fs.StringVar(&flags.Summary, "summary", "", "one-line `summary`")
	fs.StringVar(&flags.Description, "description", "", "longer `description`")
	fs.Var(&timeout, "timeout", "wall-clock limit per job: a `duration` (30s, 5m) or whole seconds (server default if unset)")
	fs.StringVar(&flags.Memory, "memory", "", "memory limit: bytes or e.g. 64MiB, 1GiB (server default if unset)")
	fs.Var(&hosts, "allow-host", "a `host` outbound HTTP may reach (repeatable; *.example.com, host:port)")
	fs.BoolVar(&flags.AllowPrivate, "allow-private", false, "let HTTP reach loopback and private networks")
	fs.BoolVar(&flags.Warm, "warm", false, "reuse warm instances (no per-job clean state)")
	fs.IntVar(&flags.Retries, "retries", 0, "retry a failed job `N` times, 1 s apart")
	fs.StringVar(&flags.Kind, "kind", "", "`script` (default) or trigger")
	pos, err := cc.parse(argv, 2, 2)
	if err != nil {
		return err
	}
	file, path := pos[0], pos[1]
	lang := languageOf(file)
	if lang != "go" && lang != "typescript" && lang != "javascript" && lang != "wasm" {
		return cc.usagef("%s: unsupported language %q (supported: .go, .ts, .js, .mjs, .wasm)", file, lang)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return cc.usagef("%v", err)
	}
	meta, err := readScriptMeta(file)
	if err != nil {
		return cc.usagef("%v", err)
	}
	// Flags win over FILE.script.yaml.
	set := cc.set()
	flags.Timeout, flags.AllowedHosts = int(timeout), hosts
	for name, apply := range map[string]func(){
		"summary":       func() { meta.Summary = flags.Summary },
		"description":   func() { meta.Description = flags.Description },
		"timeout":       func() { meta.Timeout = flags.Timeout },
		"memory":        func() { meta.Memory = flags.Memory },
		"allow-host":    func() { meta.AllowedHosts = flags.AllowedHosts },
		"allow-private": func() { meta.AllowPrivate = flags.AllowPrivate },
		"warm":          func() { meta.Warm = flags.Warm },
		"retries":       func() { meta.Retries = flags.Retries },
		"kind":          func() { meta.Kind = flags.Kind },
	} {
		if set[name] {
			apply()
		}
	}
	req, err := newScript(file, path, lang, src, meta)
	if err != nil {
		return cc.usagef("%v", err)
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	// The new version follows the current one, if any.
	cur, err := c.GetScript(ctx, path)
	switch {
	case err == nil:
		req.ParentHash = cur.Hash
	case !errors.Is(err, client.ErrNotFound):
		return err
	}
	hash, err := c.CreateScript(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "pushed %s %s\n", path, hash)
	return nil
}

// newScript checks the settings and makes the scripts/create body.
func newScript(file, path, lang string, src []byte, m scriptMeta) (client.NewScript, error) {
	req := client.NewScript{Path: path, Language: lang, Summary: m.Summary, Description: m.Description, Kind: m.Kind,
		AllowedHosts: m.AllowedHosts, AllowPrivate: m.AllowPrivate, Warm: m.Warm}
	switch m.Kind {
	case "":
		req.Kind = client.KindScript
	case client.KindScript, client.KindTrigger:
	default:
		return req, fmt.Errorf("kind %q: want script or trigger", m.Kind)
	}
	if m.Timeout < 0 {
		return req, fmt.Errorf("timeout %d: must be positive", m.Timeout)
	}
	req.Timeout = m.Timeout
	if m.Memory != "" {
		n, err := runtime.ParseSize(m.Memory)
		if err != nil {
			return req, fmt.Errorf("memory: %v", err)
		}
		req.MaxMemory = n
	}
	limits := runtime.Limits{MaxMemory: req.MaxMemory, AllowedHosts: req.AllowedHosts, AllowPrivate: req.AllowPrivate}
	if err := limits.Validate(); err != nil {
		return req, err
	}
	switch {
	case m.Retries < 0:
		return req, fmt.Errorf("retries %d: must not be negative", m.Retries)
	case m.Retries > 0:
		req.Retry = &client.Retry{Constant: &client.ConstantRetry{Attempts: m.Retries, Seconds: 1}}
	}
	if lang != "wasm" {
		if !utf8.Valid(src) {
			return req, fmt.Errorf("%s: not UTF-8 text", file)
		}
		req.Content = string(src)
		return req, nil
	}
	req.ContentBase64 = base64.StdEncoding.EncodeToString(src)
	// A plugin's arguments schema, checked as `runlet run` checks it, is
	// sent as written.
	b, err := os.ReadFile(wasmSchemaPath(file))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return req, nil
	case err != nil:
		return req, err
	}
	if _, err := wasmSchema(file); err != nil {
		return req, err
	}
	req.Schema = compact(b)
	return req, nil
}

func scriptListCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	prefix := cc.fs.String("prefix", "", "only scripts whose path starts with `P`")
	asJSON := cc.fs.Bool("json", false, "print JSON")
	if _, err := cc.parse(argv, 0, 0); err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	list, err := c.ListScripts(ctx, *prefix)
	if err != nil {
		return err
	}
	if *asJSON {
		if list == nil {
			list = []client.ScriptSummary{}
		}
		return printJSON(cc.env.Stdout, list)
	}
	rows := make([][]string, len(list))
	for i, s := range list {
		rows[i] = []string{s.Path, s.Hash, s.Language, s.Kind, timeCell(s.CreatedAt), s.CreatedBy, truncate(s.Summary, 60)}
	}
	return writeTable(cc.env.Stdout, []string{"PATH", "HASH", "LANGUAGE", "KIND", "CREATED", "BY", "SUMMARY"}, rows)
}

func scriptShowCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	s, err := c.GetScript(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(cc.env.Stdout, s)
	}
	set := s.Settings
	retry := ""
	if set.Retry != nil && set.Retry.Constant != nil {
		retry = fmt.Sprintf("%d attempts, %ds apart", set.Retry.Constant.Attempts, set.Retry.Constant.Seconds)
	}
	mem := ""
	if set.MaxMemory > 0 {
		mem = runtime.FormatSize(set.MaxMemory)
	}
	timeout := ""
	if set.Timeout > 0 {
		timeout = set.Timeout.String()
	}
	err = writeDetails(cc.env.Stdout, [][2]string{
		{"path", s.Path},
		{"hash", s.Hash},
		{"parent", s.ParentHash},
		{"language", s.Language},
		{"kind", s.Kind},
		{"summary", s.Summary},
		{"description", s.Description},
		{"created", timeCell(s.CreatedAt) + " by " + s.CreatedBy},
		{"archived", map[bool]string{true: "yes"}[s.Archived]},
		{"timeout", timeout},
		{"memory", mem},
		{"allowed hosts", strings.Join(set.AllowedHosts, ", ")},
		{"allow private", map[bool]string{true: "yes"}[set.AllowPrivate]},
		{"warm", map[bool]string{true: "yes"}[set.Warm]},
		{"retry", retry},
		{"schema", compactJSON(s.Schema)},
	})
	if err != nil {
		return err
	}
	switch {
	case s.Language == "wasm":
		fmt.Fprintln(cc.env.Stdout, "\n(Wasm module; content not shown)")
	case s.Content != "":
		fmt.Fprintf(cc.env.Stdout, "\n%s", s.Content)
		if !strings.HasSuffix(s.Content, "\n") {
			fmt.Fprintln(cc.env.Stdout)
		}
	}
	return nil
}

func scriptRunCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	return runPathCmd(ctx, cc, argv, runTarget{
		what: "script",
		schema: func(ctx context.Context, c *client.Client, path string) (json.RawMessage, error) {
			s, err := c.GetScript(ctx, path)
			if err != nil {
				return nil, err
			}
			return s.Schema, nil
		},
		async: (*client.Client).RunScript,
		wait:  (*client.Client).RunScriptWaitResult,
	})
}

// runTarget is what `script run` and `flow run` run: how to read its
// arguments schema, queue it and run it waiting.
type runTarget struct {
	what   string // script or flow
	schema func(ctx context.Context, c *client.Client, path string) (json.RawMessage, error)
	async  func(c *client.Client, ctx context.Context, path string, args json.RawMessage) (string, error)
	wait   func(c *client.Client, ctx context.Context, path string, args json.RawMessage) (json.RawMessage, string, error)
}

// runPathCmd runs the script or flow at PATH with --arg/--args: waiting
// for the result and printing it, or (--async) printing the job id.
func runPathCmd(ctx context.Context, cc *clientCmd, argv []string, t runTarget) error {
	var pairs multiFlag
	cc.fs.Var(&pairs, "arg", "argument `name=value`, coerced by the "+t.what+"'s schema (repeatable)")
	argsJSON := cc.fs.String("args", "", "arguments as a JSON `object` (--arg values override)")
	async := cc.fs.Bool("async", false, "queue the job and print its id instead of waiting")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	path := pos[0]
	args := map[string]any{}
	if *argsJSON != "" {
		d := json.NewDecoder(strings.NewReader(*argsJSON))
		d.UseNumber()
		if err := d.Decode(&args); err != nil || args == nil {
			return cc.usagef("--args: not a JSON object")
		}
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	if len(pairs) > 0 {
		// --arg values are typed by the schema, as `runlet run` types
		// them; the server validates the whole.
		raw, err := t.schema(ctx, c, path)
		if err != nil {
			return err
		}
		var schema *jsonschema.Schema
		if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
			schema = new(jsonschema.Schema)
			if json.Unmarshal(raw, schema) != nil {
				schema = nil
			}
		}
		for _, p := range pairs {
			name, raw, ok := strings.Cut(p, "=")
			if !ok || name == "" {
				return cc.usagef("--arg %q: want name=value", p)
			}
			v, err := jsonschema.Coerce(schema, name, raw)
			if err != nil {
				return cc.usagef("%v", err)
			}
			args[name] = v
		}
	}
	body, err := json.Marshal(args)
	if err != nil {
		return err
	}
	if *async {
		id, err := t.async(c, ctx, path, body)
		if err != nil {
			return err
		}
		fmt.Fprintln(cc.env.Stdout, id)
		return nil
	}
	prog := startProgress(cc.env.Stderr, "running "+path)
	res, pending, err := t.wait(c, ctx, path, body)
	if err == nil && pending != "" {
		prog.label("running " + path + " (job " + pending + ")")
		res, err = c.WaitJob(ctx, pending)
	}
	prog.stop()
	if err != nil {
		if ctx.Err() != nil && pending != "" {
			return fmt.Errorf("interrupted; job %s keeps running (stop it with: runlet job cancel %s)", pending, pending)
		}
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "%s\n", compact(res))
	return nil
}
