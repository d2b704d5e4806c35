package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/runlet/runlet/internal/client"
)

// The script, flow, job, variable, resource and schedule commands talk to a running runlet
// server over its REST API (package client).

// Client option defaults.
const (
	defaultURL       = "http://127.0.0.1:8000"
	defaultWorkspace = "main"
	// tokenFile is where `runlet serve` (with its default --data) writes the
	// admin token; the client reads it, relative to the working directory,
	// when no token is given.
	tokenFile = "runlet-data/admin.token"
)

// clientSub is one client subcommand, such as "script push".
type clientSub struct {
	name  string
	args  string // the usage line after the command words
	brief string
	run   func(ctx context.Context, cc *clientCmd, argv []string) error
}

// clientCommands are the client command groups and their subcommands.
func clientCommands() map[string][]clientSub {
	return map[string][]clientSub{
		"script": {
			{"push", "FILE PATH [--summary S] [--description D] [--timeout D] [--memory SIZE] [--allow-host H]... [--allow-private] [--warm] [--retries N] [--kind script|trigger]", "store FILE as a new version of the script at PATH", scriptPushCmd},
			{"list", "[--prefix P] [--json]", "list scripts", scriptListCmd},
			{"show", "PATH [--json]", "show a script's latest version", scriptShowCmd},
			{"run", "PATH [--arg name=value]... [--args JSON] [--async]", "run a script and print its result (or, --async, the job id)", scriptRunCmd},
		},
		"flow": {
			{"push", "FILE PATH", "store FILE, an OpenFlow document (JSON or YAML), as the flow at PATH (its next version if it exists)", flowPushCmd},
			{"run", "PATH [--arg name=value]... [--args JSON] [--async]", "run a flow and print its result (or, --async, the job id)", flowRunCmd},
			{"show", "PATH [--version N] [--json]", "show a flow and its modules as a tree", flowShowCmd},
			{"list", "[PREFIX] [--json]", "list flows (latest versions)", flowListCmd},
			{"history", "PATH [--json]", "list a flow's versions, newest first", flowHistoryCmd},
			{"delete", "PATH", "delete every version of a flow (its runs stay)", flowDeleteCmd},
			{"status", "JOB_ID [--json]", "show a flow run's modules: id, type, status, job, iterations", flowStatusCmd},
		},
		"job": {
			{"list", "[--path P] [--limit N] [--json]", "list recent jobs, newest first", jobListCmd},
			{"get", "ID [--json]", "show a job", jobGetCmd},
			{"logs", "ID [--follow]", "print a job's logs", jobLogsCmd},
			{"cancel", "ID [--reason R]", "cancel a queued or running job", jobCancelCmd},
		},
		"variable": {
			{"set", "PATH VALUE|- [--secret] [--description D]", "create or update a variable (- reads VALUE from stdin)", variableSetCmd},
			{"get", "PATH [--json]", "print a variable's value", variableGetCmd},
			{"list", "[--json]", "list variables (secret values hidden)", variableListCmd},
		},
		"user": {
			{"add", "NAME [--role admin|developer|operator]", "add a user to the workspace", userAddCmd},
			{"list", "[--json]", "list the workspace's users", userListCmd},
			{"remove", "NAME", "remove a user and revoke their tokens", userRemoveCmd},
			{"set-role", "NAME ROLE", "change a user's role", userSetRoleCmd},
		},
		"token": {
			{"create", "[--user U | --service] [--role R] [--scope S]... [--expires 30d] [--label L]", "create a token and print it (once)", tokenCreateCmd},
			{"list", "[--json]", "list tokens (prefixes, never the tokens)", tokenListCmd},
			{"revoke", "PREFIX", "revoke the token starting with PREFIX", tokenRevokeCmd},
		},
		"resource": {
			{"set", "PATH --type T (--value JSON | --file F) [--description D]", "create or replace a resource", resourceSetCmd},
			{"get", "PATH [--json]", "print a resource's value", resourceGetCmd},
			{"list", "[--json]", "list resources", resourceListCmd},
		},
		"schedule": {
			{"create", "PATH --cron EXPR [--tz ZONE] (--script PATH | --flow PATH) [--arg name=value]... [--args JSON] [--no-overlap] [--catch-up skip|once] [--paused-until TIME] [--on-failure PATH] [--on-failure-times N] [--on-recovery PATH] [--on-success PATH] [--cron-version v1] [--summary S] [--disabled]", "create a schedule (--arg values typed by the script's schema; without one, JSON if they parse, else strings)", scheduleCreateCmd},
			{"update", "PATH [the create flags]", "change the settings given, keep the others", scheduleUpdateCmd},
			{"enable", "PATH", "enable a schedule", scheduleEnableCmd},
			{"disable", "PATH", "disable a schedule", scheduleDisableCmd},
			{"delete", "PATH", "delete a schedule (its jobs stay)", scheduleDeleteCmd},
			{"show", "PATH [--json]", "show a schedule and when it fires next", scheduleShowCmd},
			{"list", "[--prefix P] [--json]", "list schedules: path, cron, zone, target, enabled, next fire", scheduleListCmd},
			{"runs", "PATH [--limit N] [--json]", "list the jobs a schedule started, newest first", scheduleRunsCmd},
			{"preview", "EXPR [--tz ZONE] [--from TIME] [--count N] [--cron-version v1]", "print the next fire times, one RFC 3339 time a line (no server needed)", schedulePreviewCmd},
		},
	}
}

// clientOptionNames are the options every client command takes, also
// before the command words.
var clientOptionNames = []string{"url", "token", "workspace"}

// isClientOption reports whether arg is a client option (--url, -url=X, ...).
func isClientOption(arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	if !strings.HasPrefix(arg, "-") {
		return false
	}
	for _, n := range clientOptionNames {
		if name == n {
			return true
		}
	}
	return false
}

// leadingOptions splits the client options at the start of args from the
// rest.
func leadingOptions(args []string) (opts, rest []string, err error) {
	for len(args) > 0 && isClientOption(args[0]) {
		if strings.Contains(args[0], "=") {
			opts, args = append(opts, args[0]), args[1:]
			continue
		}
		if len(args) < 2 {
			return nil, nil, fmt.Errorf("flag needs an argument: %s", args[0])
		}
		opts, args = append(opts, args[0], args[1]), args[2:]
	}
	return opts, args, nil
}

// clientMain runs a client command: args are [options] GROUP [options] SUB ...
func clientMain(ctx context.Context, args []string, env Env) int {
	pre, args, err := leadingOptions(args)
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet:", err)
		return ExitUsage
	}
	groups := clientCommands()
	if len(args) == 0 || groups[args[0]] == nil {
		fmt.Fprintln(env.Stderr, "runlet: want a command after the options (script, flow, job, variable, resource, schedule, user or token)")
		usage(env.Stderr)
		return ExitUsage
	}
	group, subs := args[0], groups[args[0]]
	more, args, err := leadingOptions(args[1:])
	if err != nil {
		fmt.Fprintln(env.Stderr, "runlet:", err)
		return ExitUsage
	}
	pre = append(pre, more...)
	if len(args) == 0 {
		groupUsage(env.Stderr, group, subs)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		groupUsage(env.Stdout, group, subs)
		return ExitOK
	}
	for _, s := range subs {
		if s.name == args[0] {
			cc := newClientCmd(env, group, s)
			return cc.exit(s.run(ctx, cc, append(pre, args[1:]...)))
		}
	}
	fmt.Fprintf(env.Stderr, "runlet: unknown command \"%s %s\"\n", group, args[0])
	groupUsage(env.Stderr, group, subs)
	return ExitUsage
}

func groupUsage(w io.Writer, group string, subs []clientSub) {
	fmt.Fprintf(w, "Usage:\n")
	for _, s := range subs {
		fmt.Fprintf(w, "  runlet %s %s %s\n      %s\n", group, s.name, s.args, s.brief)
	}
	fmt.Fprint(w, clientOptionsHelp)
}

const clientOptionsHelp = `
Client options (before or after the command words):
  --url URL         the server (env RUNLET_URL; default ` + defaultURL + `)
  --token TOKEN     API token (env RUNLET_TOKEN; default the contents of ./` + tokenFile + `)
  --workspace W     workspace (env RUNLET_WORKSPACE; default ` + defaultWorkspace + `)
`

// clientCmd is one client command being run: its flags (the client
// options among them) and where it writes.
type clientCmd struct {
	env  Env
	name string // "script push"
	sub  clientSub
	fs   *flag.FlagSet
	opts struct{ url, token, workspace string }
	// tokenFrom says where the token came from: "flag", "env", "file" or
	// "" (none).
	tokenFrom string
}

func newClientCmd(env Env, group string, sub clientSub) *clientCmd {
	cc := &clientCmd{env: env, name: group + " " + sub.name, sub: sub}
	cc.fs = flag.NewFlagSet("runlet "+cc.name, flag.ContinueOnError)
	cc.fs.SetOutput(env.Stderr)
	cc.fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: runlet %s %s\n", cc.name, sub.args)
		cc.fs.PrintDefaults()
	}
	cc.fs.StringVar(&cc.opts.url, "url", "", "the server `URL` (env RUNLET_URL; default "+defaultURL+")")
	cc.fs.StringVar(&cc.opts.token, "token", "", "API `token` (env RUNLET_TOKEN; default the contents of ./"+tokenFile+")")
	cc.fs.StringVar(&cc.opts.workspace, "workspace", "", "`workspace` (env RUNLET_WORKSPACE; default "+defaultWorkspace+")")
	return cc
}

// usageError is a bad command line: the command exits with ExitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// errFlags is a flag parse error the flag package already printed.
var errFlags = errors.New("bad flags")

// usagef is a usage error about this command.
func (cc *clientCmd) usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf("runlet %s: %s", cc.name, fmt.Sprintf(format, args...))}
}

// parse parses argv (flags and positional arguments in any order) and
// checks that there are between min and max positional arguments.
func (cc *clientCmd) parse(argv []string, min, max int) ([]string, error) {
	pos, err := parseInterleaved(cc.fs, argv)
	if errors.Is(err, flag.ErrHelp) {
		return nil, flag.ErrHelp
	}
	if err != nil {
		return nil, errFlags
	}
	if len(pos) < min || len(pos) > max {
		return nil, &usageError{fmt.Sprintf("usage: runlet %s %s", cc.name, cc.sub.args)}
	}
	return pos, nil
}

// set reports which flags the command line set.
func (cc *clientCmd) set() map[string]bool {
	m := map[string]bool{}
	cc.fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// client resolves the client options (flag, then environment, then
// default) and returns a client.
func (cc *clientCmd) client() (*client.Client, error) {
	getenv := cc.env.Getenv
	pick := func(flagVal, envName, def string) string {
		if flagVal != "" {
			return flagVal
		}
		if v := getenv(envName); v != "" {
			return v
		}
		return def
	}
	raw := pick(cc.opts.url, "RUNLET_URL", defaultURL)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, &usageError{fmt.Sprintf("runlet: --url %q: want http://HOST:PORT or https://HOST", raw)}
	}
	ws := pick(cc.opts.workspace, "RUNLET_WORKSPACE", defaultWorkspace)
	if strings.ContainsAny(ws, "/?#") || strings.TrimSpace(ws) == "" {
		return nil, &usageError{fmt.Sprintf("runlet: --workspace %q: not a workspace id", ws)}
	}
	token := cc.opts.token
	cc.tokenFrom = "flag"
	if token == "" {
		token, cc.tokenFrom = getenv("RUNLET_TOKEN"), "env"
	}
	if token == "" {
		b, err := os.ReadFile(tokenFile)
		switch {
		case err == nil:
			token, cc.tokenFrom = strings.TrimSpace(string(b)), "file"
		case errors.Is(err, fs.ErrNotExist):
			cc.tokenFrom = ""
		default:
			return nil, fmt.Errorf("read the admin token: %w", err)
		}
	}
	return client.New(raw, token, ws), nil
}

// exit prints err as the command line should and returns the exit code.
func (cc *clientCmd) exit(err error) int {
	var ue *usageError
	var je *client.JobError
	var ae *client.APIError
	var te *client.TransportError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.Is(err, errFlags):
		return ExitUsage
	case errors.As(err, &ue):
		fmt.Fprintln(cc.env.Stderr, ue.msg)
		return ExitUsage
	case errors.As(err, &je):
		// Like `runlet run`: the error document on stdout.
		return fail(cc.env, je.Name, je.Message, je.Stack)
	case errors.As(err, &ae) && ae.Status == 401 && cc.tokenFrom == "":
		fmt.Fprintf(cc.env.Stderr, "runlet: %s (no token: give one with --token or RUNLET_TOKEN, or run from the directory holding %s)\n", ae, tokenFile)
	case errors.As(err, &ae) && ae.Status == 401 && cc.tokenFrom == "file":
		fmt.Fprintf(cc.env.Stderr, "runlet: %s (the token in ./%s was refused)\n", ae, tokenFile)
	case errors.As(err, &te) && errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(cc.env.Stderr, "runlet: %s (is `runlet serve` running? set the address with --url or RUNLET_URL)\n", te)
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(cc.env.Stderr, "runlet: interrupted")
	default:
		fmt.Fprintln(cc.env.Stderr, "runlet:", err)
	}
	return ExitFailed
}

// Output helpers.

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeTable writes rows under header, aligned. Cells are made one-line.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = tableCell(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// writeDetails writes "key:  value" lines, aligned, skipping empty values.
func writeDetails(w io.Writer, pairs [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, p := range pairs {
		if p[1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", p[0], tableCell(p[1]))
		}
	}
	return tw.Flush()
}

// tableCell makes s fit a table cell: one line, no tabs, "-" when empty.
func tableCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return s
}

// truncate shortens s to n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// timeCell formats t in UTC, "-" when zero.
func timeCell(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// compactJSON is b on one line, "" when empty.
func compactJSON(b json.RawMessage) string {
	if len(b) == 0 {
		return ""
	}
	return string(compact(b))
}

// readArgFile reads the file name, or stdin when name is "-".
func readArgFile(env Env, name string) ([]byte, error) {
	if name == "-" {
		if env.Stdin == nil {
			return nil, errors.New("no standard input")
		}
		return io.ReadAll(env.Stdin)
	}
	return os.ReadFile(filepath.Clean(name))
}
