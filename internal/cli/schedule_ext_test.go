package cli_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/client/clienttest"
)

// TestSchedulePreview runs `schedule preview` with no server, URL or
// token: it computes the times itself.
func TestSchedulePreview(t *testing.T) {
	t.Parallel()
	// A closed port and no token: nothing may be asked of a server.
	env := []string{"RUNLET_URL=http://127.0.0.1:9"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "fall back in Paris fires once, at the first 02:30",
			args: []string{"30 2 * * *", "--tz", "Europe/Paris", "--from", "2026-10-24T12:00:00Z", "--count", "2"},
			want: "2026-10-25T02:30:00+02:00\n2026-10-26T02:30:00+01:00\n"},
		{name: "six fields with seconds, UTC by default",
			args: []string{"0 */15 * * * *", "--from", "2026-01-01T00:00:00Z", "--count", "3"},
			want: "2026-01-01T00:15:00Z\n2026-01-01T00:30:00Z\n2026-01-01T00:45:00Z\n"},
		{name: "every 15 minutes across the spring-forward gap",
			args: []string{"0 */15 * * * *", "--tz", "Europe/Paris", "--from", "2026-03-29T00:50:00Z", "--count", "3"},
			want: "2026-03-29T03:00:00+02:00\n2026-03-29T03:15:00+02:00\n2026-03-29T03:30:00+02:00\n"},
		{name: "flags before the expression, v1 dialect",
			args: []string{"--cron-version", "v1", "--from", "2026-01-01T00:00:00Z", "--count", "1", "0 0 9 * * 2"},
			want: "2026-01-05T09:00:00Z\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runletIn(t, t.TempDir(), "", env, append([]string{"schedule", "preview"}, tt.args...)...)
			wantExit(t, r, 0)
			if r.stdout != tt.want || r.stderr != "" {
				t.Fatalf("stdout %q stderr %q, want %q", r.stdout, r.stderr, tt.want)
			}
		})
	}

	// Defaults: five times from now.
	before := time.Now()
	r := runletIn(t, t.TempDir(), "", env, "schedule", "preview", "*/5 * * * *", "--tz", "America/New_York")
	wantExit(t, r, 0)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("default count: %q", r.stdout)
	}
	for _, l := range lines {
		at, err := time.Parse(time.RFC3339, l)
		if err != nil || !at.After(before) || !(strings.HasSuffix(l, "-05:00") || strings.HasSuffix(l, "-04:00")) || at.Minute()%5 != 0 {
			t.Fatalf("default from: %q (%v)", l, err)
		}
	}

	refusals := []struct {
		name, want string
		args       []string
	}{
		{"bad expression", `runlet schedule preview: cron "61 * * * *": minute field`, []string{"61 * * * *"}},
		{"unsupported L", `runlet schedule preview: cron "0 0 L * *"`, []string{"0 0 L * *"}},
		{"unknown zone", `runlet schedule preview: timezone "Mars/Olympus"`, []string{"* * * * *", "--tz", "Mars/Olympus"}},
		{"bad from", `runlet schedule preview: --from "noon"`, []string{"* * * * *", "--from", "noon"}},
		{"bad count", `runlet schedule preview: --count: must be positive`, []string{"* * * * *", "--count", "0"}},
		{"no expression", `usage: runlet schedule preview EXPR`, nil},
		{"two expressions", `usage: runlet schedule preview EXPR`, []string{"* * * * *", "0 * * * *"}},
	}
	for _, tt := range refusals {
		r := runletIn(t, t.TempDir(), "", env, append([]string{"schedule", "preview"}, tt.args...)...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Fatalf("%s: exit %d stdout %q stderr %q, want exit 2 and %q", tt.name, r.code, r.stdout, r.stderr, tt.want)
		}
	}
}

func TestScheduleCommands(t *testing.T) {
	t.Parallel()
	srv, cli := fake(t, nil)
	// A script with a schema types --arg values.
	dir := writeFiles(t, map[string]string{"p.wasm": "\x00asm",
		"p.schema.json": `{"type":"object","properties":{"n":{"type":"integer"},"s":{"type":"string"},"o":{"type":"object"}}}`})
	wantExit(t, cli("script", "push", filepath.Join(dir, "p.wasm"), "f/ops/p"), 0)

	r := cli("schedule", "create", "f/ops/nightly", "--cron", "0 30 2 * * *", "--tz", "Europe/Paris", "--script", "f/ops/p",
		"--arg", "n=3", "--arg", "s=4", "--arg", `o={"k":[1]}`, "--no-overlap", "--catch-up", "once",
		"--paused-until", "2036-12-24T18:00:00+01:00", "--on-failure", "f/ops/alert", "--on-failure-times", "2",
		"--on-recovery", "f/ops/alert", "--on-success", "f/ops/done", "--summary", "nightly", "--cron-version", "v2")
	if r.code != 0 || r.stdout != "created schedule f/ops/nightly\n" {
		t.Fatalf("create: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	req := lastRequest(t, srv, "/schedules/create")
	var body map[string]any
	json.Unmarshal(req.Body, &body)
	want := `{"args":{"n":3,"o":{"k":[1]},"s":"4"},"catch_up":"once","cron_version":"v2","no_flow_overlap":true,` +
		`"on_failure":"f/ops/alert","on_failure_times":2,"on_recovery":"f/ops/alert","on_success":"f/ops/done",` +
		`"path":"f/ops/nightly","paused_until":"2036-12-24T18:00:00+01:00","schedule":"0 30 2 * * *","script_path":"f/ops/p",` +
		`"summary":"nightly","timezone":"Europe/Paris"}`
	if asJSON(body) != want {
		t.Fatalf("create body:\n%s\nwant\n%s", asJSON(body), want)
	}
	// Without a schema (a flow), values are JSON when they parse, else strings.
	r = cli("schedule", "create", "f/etl/hourly", "--cron", "0 * * * *", "--flow", "f/etl/load", "--disabled",
		"--args", `{"keep":true}`, "--arg", "n=5", "--arg", "word=hello", "--arg", `list=[1,"a"]`)
	wantExit(t, r, 0)
	body = nil
	json.Unmarshal(lastRequest(t, srv, "/schedules/create").Body, &body)
	if body["is_flow"] != true || body["script_path"] != "f/etl/load" || body["enabled"] != false ||
		asJSON(body["args"]) != `{"keep":true,"list":[1,"a"],"n":5,"word":"hello"}` {
		t.Fatalf("flow create body: %s", asJSON(body))
	}

	r = cli("schedule", "list")
	wantExit(t, r, 0)
	table := regexp.MustCompile(`(?m)^PATH\s+CRON\s+TZ\s+TARGET\s+ENABLED\s+NEXT FIRE\n` +
		`f/etl/hourly\s+0 \* \* \* \*\s+UTC\s+flow f/etl/load\s+no\s+-\n` +
		`f/ops/nightly\s+0 30 2 \* \* \*\s+Europe/Paris\s+f/ops/p\s+paused\s+` + regexp.QuoteMeta(clienttest.NextFire) + `\n$`)
	if !table.MatchString(r.stdout) {
		t.Fatalf("list:\n%s", r.stdout)
	}
	r = cli("schedule", "list", "--json", "--prefix", "f/ops/")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || list[0]["path"] != "f/ops/nightly" {
		t.Fatalf("list --json: %v %s", err, r.stdout)
	}

	// update changes what is given and sends the rest as it was.
	r = cli("schedule", "update", "f/ops/nightly", "--cron", "0 0 3 * * *", "--arg", "n=4", "--paused-until", "", "--no-overlap=false")
	if r.code != 0 || r.stdout != "updated schedule f/ops/nightly\n" {
		t.Fatalf("update: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	body = nil
	json.Unmarshal(lastRequest(t, srv, "/schedules/update/f/ops/nightly").Body, &body)
	want = `{"args":{"n":4,"o":{"k":[1]},"s":"4"},"catch_up":"once","cron_version":"v2",` +
		`"on_failure":"f/ops/alert","on_failure_times":2,"on_recovery":"f/ops/alert","on_success":"f/ops/done",` +
		`"schedule":"0 0 3 * * *","script_path":"f/ops/p","summary":"nightly","timezone":"Europe/Paris"}`
	if asJSON(body) != want {
		t.Fatalf("update body:\n%s\nwant\n%s", asJSON(body), want)
	}
	if sc, _ := srv.Schedule("f/ops/nightly"); sc["schedule"] != "0 0 3 * * *" || sc["enabled"] != true || sc["paused_until"] != nil {
		t.Fatalf("stored after update: %v", sc)
	}

	r = cli("schedule", "disable", "f/ops/nightly")
	if r.code != 0 || r.stdout != "disabled schedule f/ops/nightly\n" {
		t.Fatalf("disable: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = cli("schedule", "enable", "f/ops/nightly")
	if r.code != 0 || r.stdout != "enabled schedule f/ops/nightly (next fire "+clienttest.NextFire+")\n" {
		t.Fatalf("enable: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = cli("schedule", "show", "f/ops/nightly")
	wantExit(t, r, 0)
	for _, line := range []string{`(?m)^cron:\s+0 0 3 \* \* \*$`, `(?m)^timezone:\s+Europe/Paris$`, `(?m)^target:\s+f/ops/p$`,
		`(?m)^on failure:\s+f/ops/alert \(after 2 failures in a row\)$`, `(?m)^next fire:\s+` + regexp.QuoteMeta(clienttest.NextFire) + `$`} {
		if !regexp.MustCompile(line).MatchString(r.stdout) {
			t.Fatalf("show: no %s in\n%s", line, r.stdout)
		}
	}

	srv.AddJob(clienttest.Job{ID: "0190a000-0000-7000-8000-aaaaaaaaaaaa", ScriptPath: "f/ops/p", SchedulePath: "f/ops/nightly", Trigger: "schedule",
		ScheduledFor: time.Date(2026, 11, 27, 2, 30, 0, 0, time.UTC), Args: json.RawMessage(`{"n":3}`)})
	srv.AddJob(clienttest.Job{ScriptPath: "f/ops/p", Trigger: "api"})
	r = cli("schedule", "runs", "f/ops/nightly", "--limit", "5")
	wantExit(t, r, 0)
	if !regexp.MustCompile(`(?m)^ID\s+SCRIPT\s+STATUS\s+SCHEDULED FOR\s+DURATION\s+ARGS\n0190a000-0000-7000-8000-aaaaaaaaaaaa\s+f/ops/p\s+success\s+2026-11-27T02:30:00Z\s+-\s+\{"n":3\}\n$`).MatchString(r.stdout) {
		t.Fatalf("runs:\n%s", r.stdout)
	}
	if q := lastRequest(t, srv, "/schedules/runs/").Query; q != "per_page=5" {
		t.Fatalf("runs query %q", q)
	}

	r = cli("schedule", "delete", "f/ops/nightly")
	if r.code != 0 || r.stdout != "deleted schedule f/ops/nightly\n" {
		t.Fatalf("delete: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = cli("schedule", "show", "f/ops/nightly")
	if r.code != 1 || r.stderr != "runlet: no schedule at f/ops/nightly\n" {
		t.Fatalf("show deleted: exit %d %q", r.code, r.stderr)
	}
}

func TestScheduleUsageErrors(t *testing.T) {
	t.Parallel()
	srv, cli := fake(t, nil)
	srv.AddSchedule(map[string]any{"path": "f/x/s", "schedule": "* * * * *", "script_path": "f/x/y"})
	n := len(srv.Requests())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no cron", []string{"create", "f/x/a", "--script", "f/x/y"}, "runlet schedule create: --cron is required"},
		{"no target", []string{"create", "f/x/a", "--cron", "* * * * *"}, "runlet schedule create: give the target"},
		{"two targets", []string{"create", "f/x/a", "--cron", "* * * * *", "--script", "f/x/y", "--flow", "f/x/z"}, "runlet schedule create: give --script or --flow, not both"},
		{"catch-up", []string{"create", "f/x/a", "--cron", "* * * * *", "--script", "f/x/y", "--catch-up", "all"}, `runlet schedule create: --catch-up "all": want skip or once`},
		{"paused-until", []string{"create", "f/x/a", "--cron", "* * * * *", "--script", "f/x/y", "--paused-until", "soon"}, `runlet schedule create: --paused-until "soon"`},
		{"bad --args", []string{"create", "f/x/a", "--cron", "* * * * *", "--script", "f/x/y", "--args", "[1]"}, "runlet schedule create: --args: not a JSON object"},
		{"bad --arg", []string{"create", "f/x/a", "--cron", "* * * * *", "--flow", "f/x/y", "--arg", "novalue"}, `runlet schedule create: --arg "novalue": want name=value`},
		{"no path", []string{"create", "--cron", "* * * * *", "--script", "f/x/y"}, "usage: runlet schedule create PATH"},
		{"update nothing", []string{"update", "f/x/s"}, "runlet schedule update: nothing to change"},
		{"runs limit", []string{"runs", "f/x/s", "--limit", "0"}, "runlet schedule runs: --limit: must be positive"},
		{"enable two", []string{"enable", "f/x/s", "f/x/t"}, "usage: runlet schedule enable PATH"},
	}
	for _, tt := range tests {
		r := cli(append([]string{"schedule"}, tt.args...)...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, tt.want) {
			t.Fatalf("%s: exit %d stderr %q, want exit 2 and %q", tt.name, r.code, r.stderr, tt.want)
		}
	}
	// None of them sent a schedules request.
	for _, req := range srv.Requests()[n:] {
		if strings.Contains(req.Path, "/schedules/") {
			t.Fatalf("a refused command sent %s %s", req.Method, req.Path)
		}
	}
	// Server refusals: exit 1, one line.
	r := cli("schedule", "create", "f/x/s", "--cron", "* * * * *", "--script", "f/x/y")
	if r.code != 1 || r.stderr != "runlet: schedule f/x/s exists\n" {
		t.Fatalf("create existing: exit %d %q", r.code, r.stderr)
	}
	r = cli("schedule", "update", "f/x/none", "--cron", "* * * * *")
	if r.code != 1 || r.stderr != "runlet: no schedule at f/x/none\n" {
		t.Fatalf("update missing: exit %d %q", r.code, r.stderr)
	}
	r = cli("schedule", "bogus")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown command "schedule bogus"`) || !strings.Contains(r.stderr, "runlet schedule preview EXPR") {
		t.Fatalf("unknown subcommand: exit %d %q", r.code, r.stderr)
	}
}
