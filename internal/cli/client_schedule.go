package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/client"
	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/server"
)

// scheduleFlags are the settings flags of schedule create and update.
type scheduleFlags struct {
	cron, tz, cronVersion, script, flow, argsJSON, summary *string
	catchUp, pausedUntil, onFailure, onRecovery, onSuccess *string
	onFailureTimes                                         *int
	noOverlap, disabled                                    *bool
	args                                                   multiFlag
}

// settingFlags are the flags that change a schedule (update wants one).
var settingFlags = []string{"cron", "tz", "cron-version", "script", "flow", "arg", "args", "summary", "catch-up",
	"paused-until", "on-failure", "on-failure-times", "on-recovery", "on-success", "no-overlap", "disabled"}

func addScheduleFlags(cc *clientCmd) *scheduleFlags {
	f := &scheduleFlags{}
	fs := cc.fs
	f.cron = fs.String("cron", "", "the cron `EXPR`: 5 fields, or 6 with leading seconds")
	f.tz = fs.String("tz", "", "IANA time `ZONE` the expression is read in (default UTC)")
	f.cronVersion = fs.String("cron-version", "", "cron dialect `V`: v2 (standard, default) or v1 (Windmill's legacy)")
	f.script = fs.String("script", "", "run the latest version of the script at `PATH`")
	f.flow = fs.String("flow", "", "run the flow at `PATH` (its latest version)")
	fs.Var(&f.args, "arg", "argument `name=value`, typed by the script's schema; without one, JSON if it parses, else a string (repeatable)")
	f.argsJSON = fs.String("args", "", "arguments as a JSON `object` (--arg values override; on update it replaces the arguments)")
	f.summary = fs.String("summary", "", "a one-line `description`")
	f.catchUp = fs.String("catch-up", "", "after downtime: `skip` missed ticks (default) or run `once`")
	f.pausedUntil = fs.String("paused-until", "", "no runs before this RFC 3339 `TIME` (\"\" on update: resume)")
	f.onFailure = fs.String("on-failure", "", "script `PATH` run when jobs fail")
	f.onFailureTimes = fs.Int("on-failure-times", 0, "run --on-failure after `N` consecutive failures (default 1)")
	f.onRecovery = fs.String("on-recovery", "", "script `PATH` run when a job succeeds after failures")
	f.onSuccess = fs.String("on-success", "", "script `PATH` run after every successful job")
	f.noOverlap = fs.Bool("no-overlap", false, "skip a tick while the previous run is still going")
	f.disabled = fs.Bool("disabled", false, "store the schedule disabled (update: --disabled=false enables)")
	return f
}

// apply writes the flags the command line set into ns: its arguments
// typed by the target script's schema (fetched through c when --arg is
// given).
func (f *scheduleFlags) apply(ctx context.Context, cc *clientCmd, c *client.Client, ns *client.NewSchedule) error {
	set := cc.set()
	str := func(name string, dst *string, v *string) {
		if set[name] {
			*dst = *v
		}
	}
	str("cron", &ns.Schedule, f.cron)
	str("tz", &ns.Timezone, f.tz)
	str("cron-version", &ns.CronVersion, f.cronVersion)
	str("summary", &ns.Summary, f.summary)
	str("catch-up", &ns.CatchUp, f.catchUp)
	str("on-failure", &ns.OnFailure, f.onFailure)
	str("on-recovery", &ns.OnRecovery, f.onRecovery)
	str("on-success", &ns.OnSuccess, f.onSuccess)
	switch {
	case set["script"] && set["flow"]:
		return cc.usagef("give --script or --flow, not both")
	case set["script"]:
		ns.ScriptPath, ns.IsFlow = *f.script, false
	case set["flow"]:
		ns.ScriptPath, ns.IsFlow = *f.flow, true
	}
	if set["catch-up"] && *f.catchUp != "skip" && *f.catchUp != "once" {
		return cc.usagef("--catch-up %q: want skip or once", *f.catchUp)
	}
	if set["paused-until"] {
		ns.PausedUntil = time.Time{}
		if *f.pausedUntil != "" {
			t, err := time.Parse(time.RFC3339, *f.pausedUntil)
			if err != nil {
				return cc.usagef("--paused-until %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", *f.pausedUntil)
			}
			ns.PausedUntil = t
		}
	}
	if set["on-failure-times"] {
		if *f.onFailureTimes < 0 {
			return cc.usagef("--on-failure-times: must not be negative")
		}
		ns.OnFailureTimes = *f.onFailureTimes
	}
	if set["no-overlap"] {
		ns.NoOverlap = *f.noOverlap
	}
	if set["disabled"] {
		enabled := !*f.disabled
		ns.Enabled = &enabled
	}
	if !set["args"] && len(f.args) == 0 {
		return nil
	}
	args := map[string]any{}
	raw := ns.Args
	if set["args"] {
		raw = json.RawMessage(*f.argsJSON)
	}
	if len(bytes.TrimSpace(raw)) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&args); err != nil || args == nil {
			if set["args"] {
				return cc.usagef("--args: not a JSON object")
			}
			return fmt.Errorf("the schedule's arguments are not a JSON object: %s", raw)
		}
	}
	if len(f.args) > 0 {
		schema, err := targetSchema(ctx, c, ns)
		if err != nil {
			return err
		}
		for _, p := range f.args {
			name, v, ok := strings.Cut(p, "=")
			if !ok || name == "" {
				return cc.usagef("--arg %q: want name=value", p)
			}
			x, err := jsonschema.Coerce(schema, name, v)
			if err != nil {
				return cc.usagef("%v", err)
			}
			args[name] = x
		}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return err
	}
	ns.Args = b
	return nil
}

// targetSchema is the arguments schema of the script a schedule runs; nil
// (values typed by their look) for a flow, a script without one, or one
// not stored yet (the server has the last word).
func targetSchema(ctx context.Context, c *client.Client, ns *client.NewSchedule) (*jsonschema.Schema, error) {
	if ns.IsFlow || ns.ScriptPath == "" {
		return nil, nil
	}
	s, err := c.GetScript(ctx, ns.ScriptPath)
	if errors.Is(err, client.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(s.Schema) == 0 || bytes.Equal(s.Schema, []byte("null")) {
		return nil, nil
	}
	schema := new(jsonschema.Schema)
	if json.Unmarshal(s.Schema, schema) != nil {
		return nil, nil
	}
	return schema, nil
}

func scheduleCreateCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	f := addScheduleFlags(cc)
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	set := cc.set()
	if !set["cron"] {
		return cc.usagef("--cron is required")
	}
	if !set["script"] && !set["flow"] {
		return cc.usagef("give the target: --script PATH or --flow PATH")
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	ns := client.NewSchedule{Path: pos[0]}
	if err := f.apply(ctx, cc, c, &ns); err != nil {
		return err
	}
	if err := c.CreateSchedule(ctx, ns); err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "created schedule %s\n", pos[0])
	return nil
}

// scheduleUpdateCmd changes the settings given and keeps the others: it
// reads the schedule, applies the flags and sends the whole.
func scheduleUpdateCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	f := addScheduleFlags(cc)
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	set, changed := cc.set(), false
	for _, n := range settingFlags {
		changed = changed || set[n]
	}
	if !changed {
		return cc.usagef("nothing to change (give --cron, --tz, --script, --arg, ...)")
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	cur, err := c.GetSchedule(ctx, pos[0])
	if err != nil {
		return err
	}
	ns := cur.Edit()
	if err := f.apply(ctx, cc, c, &ns); err != nil {
		return err
	}
	if err := c.UpdateSchedule(ctx, pos[0], ns); err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "updated schedule %s\n", pos[0])
	return nil
}

func scheduleEnableCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	return setEnabled(ctx, cc, argv, true)
}

func scheduleDisableCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	return setEnabled(ctx, cc, argv, false)
}

func setEnabled(ctx context.Context, cc *clientCmd, argv []string, enabled bool) error {
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	s, err := c.SetScheduleEnabled(ctx, pos[0], enabled)
	if err != nil {
		return err
	}
	if !enabled {
		fmt.Fprintf(cc.env.Stdout, "disabled schedule %s\n", pos[0])
		return nil
	}
	next := ""
	if !s.NextFire.IsZero() {
		next = " (next fire " + s.NextFire.Format(time.RFC3339) + ")"
	}
	fmt.Fprintf(cc.env.Stdout, "enabled schedule %s%s\n", pos[0], next)
	return nil
}

func scheduleDeleteCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	if err := c.DeleteSchedule(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "deleted schedule %s\n", pos[0])
	return nil
}

// scheduleTarget is what a schedule runs, as tables show it.
func scheduleTarget(s *client.Schedule) string {
	if s.IsFlow {
		return "flow " + s.ScriptPath
	}
	return s.ScriptPath
}

// zoneCell is a schedule's zone, UTC when empty.
func zoneCell(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

// localTime formats t with its own offset (a schedule's times come in its
// zone), "" when zero.
func localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

func scheduleShowCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	s, err := c.GetSchedule(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(cc.env.Stdout, s)
	}
	yes := map[bool]string{true: "yes", false: "no"}
	onFailure := s.OnFailure
	if onFailure != "" && s.OnFailureTimes > 1 {
		onFailure += fmt.Sprintf(" (after %d failures in a row)", s.OnFailureTimes)
	}
	failures := ""
	if s.ConsecutiveFailures > 0 {
		failures = strconv.Itoa(s.ConsecutiveFailures)
	}
	return writeDetails(cc.env.Stdout, [][2]string{
		{"path", s.Path},
		{"cron", s.Schedule},
		{"cron version", s.CronVersion},
		{"timezone", zoneCell(s.Timezone)},
		{"target", scheduleTarget(s)},
		{"args", compactJSON(s.Args)},
		{"enabled", yes[s.Enabled]},
		{"paused until", localTime(s.PausedUntil)},
		{"next fire", localTime(s.NextFire)},
		{"summary", s.Summary},
		{"no overlap", map[bool]string{true: "yes"}[s.NoOverlap]},
		{"catch up", s.CatchUp},
		{"retry", compactJSON(s.Retry)},
		{"on failure", onFailure},
		{"on recovery", s.OnRecovery},
		{"on success", s.OnSuccess},
		{"last tick", localTime(s.LastTick)},
		{"failures", failures},
		{"error", s.Error},
		{"created", timeCell(s.CreatedAt) + " by " + s.CreatedBy},
	})
}

func scheduleListCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	prefix := cc.fs.String("prefix", "", "only schedules whose path starts with `P`")
	asJSON := cc.fs.Bool("json", false, "print JSON")
	if _, err := cc.parse(argv, 0, 0); err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	list, err := c.ListSchedules(ctx, *prefix)
	if err != nil {
		return err
	}
	if *asJSON {
		if list == nil {
			list = []client.Schedule{}
		}
		return printJSON(cc.env.Stdout, list)
	}
	rows := make([][]string, len(list))
	for i := range list {
		s := &list[i]
		enabled := "yes"
		switch {
		case !s.Enabled:
			enabled = "no"
		case s.PausedUntil.After(time.Now()):
			enabled = "paused"
		}
		rows[i] = []string{s.Path, s.Schedule, zoneCell(s.Timezone), scheduleTarget(s), enabled, localTime(s.NextFire)}
	}
	return writeTable(cc.env.Stdout, []string{"PATH", "CRON", "TZ", "TARGET", "ENABLED", "NEXT FIRE"}, rows)
}

func scheduleRunsCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	limit := cc.fs.Int("limit", 20, "at most `N` jobs")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	if *limit <= 0 {
		return cc.usagef("--limit: must be positive")
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	jobs, err := c.ScheduleRuns(ctx, pos[0], *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		if jobs == nil {
			jobs = []client.Job{}
		}
		return printJSON(cc.env.Stdout, jobs)
	}
	rows := make([][]string, len(jobs))
	for i, j := range jobs {
		rows[i] = []string{j.ID, j.ScriptPath, j.State(), timeCell(j.ScheduledFor), jobDuration(&j), truncate(compactJSON(j.Args), 60)}
	}
	return writeTable(cc.env.Stdout, []string{"ID", "SCRIPT", "STATUS", "SCHEDULED FOR", "DURATION", "ARGS"}, rows)
}

// schedulePreviewCmd prints an expression's next fire times, computed
// here: it needs no server, URL or token.
func schedulePreviewCmd(_ context.Context, cc *clientCmd, argv []string) error {
	tz := cc.fs.String("tz", "", "IANA time `ZONE` (default UTC)")
	from := cc.fs.String("from", "", "fire times after this RFC 3339 `TIME` (default now)")
	count := cc.fs.Int("count", 5, "how many fire times (`N`, 1 to 1000)")
	version := cc.fs.String("cron-version", "", "cron dialect `V`: v2 (standard, default) or v1 (Windmill's legacy)")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	start := time.Now()
	if *from != "" {
		if start, err = time.Parse(time.RFC3339, *from); err != nil {
			return cc.usagef("--from %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", *from)
		}
	}
	if *count < 1 {
		return cc.usagef("--count: must be positive")
	}
	times, err := server.PreviewSchedule(pos[0], *version, *tz, start, *count)
	if err != nil {
		return cc.usagef("%v", err)
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return cc.usagef("%v", err)
	}
	var b strings.Builder
	for _, t := range times {
		b.WriteString(t.In(loc).Format(time.RFC3339) + "\n")
	}
	_, err = fmt.Fprint(cc.env.Stdout, b.String())
	return err
}
