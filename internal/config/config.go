// Package config loads the settings of `runlet serve` from four sources,
// each overriding the one before: the defaults, a YAML file, RUNLET_*
// environment variables and command-line flags. Every setting has one
// name in all of them: the file's key (queue_limit), the variable
// (RUNLET_QUEUE_LIMIT) and the flag (--queue-limit). Loading is pure: the
// caller reads the file and passes the environment and the flags it saw.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/runlet/runlet/internal/npm"
	"github.com/runlet/runlet/runtime"
)

// Serve is the settings of `runlet serve`, loaded and checked.
type Serve struct {
	Data           string        // data directory: store, secrets key, admin.token
	Addr           string        // listen address
	Workers        int           // worker processes; 0: one per CPU
	Runners        int           // jobs running at once; 0: the workers
	QueueLimit     int           // queued jobs beyond which runs get 429
	WaitLimit      time.Duration // run_wait_result's wait before 202
	Grace          time.Duration // shutdown grace for running jobs
	Retention      time.Duration // completed-job retention; negative keeps them
	MaxDepth       int           // child-job nesting limit
	ScheduleFirers int           // schedule ticks handled at once
	LeaderLease    time.Duration // the scheduler leader's lease
	FlowModules    int           // modules per flow, nested ones included
	FlowIterations int           // while-loop iterations / for-loop items per loop
	ExprTimeout    time.Duration // one evaluation of a flow's expressions
	ExprMemory     int64         // memory of one evaluation, bytes
	StepFsync      bool          // fsync every flow step and workflow checkpoint
	PublicURL      string        // base of resume/approval URLs; "": http://<addr>
	SuspendTimeout time.Duration // default wait of a suspended step / approval
	MaxBody        int64         // request body limit, bytes
	Timeout        time.Duration // default script timeout
	Memory         int64         // default script memory limit, bytes
	LogFormat      string        // text or json
	LogLevel       slog.Level    // debug, info, warn or error
	MetricsToken   string        // bearer token for /metrics; "": open
	NPMRegistry    string        // npm registry for JS/TS imports
}

// Key is one setting.
type Key struct {
	// Name is the key in the file, e.g. queue_limit.
	Name string
	// Default is the value when no source sets it, written as in the file.
	Default string
	// Usage is a one-line description; its first `quoted` word names the
	// value in --help.
	Usage string
	set   func(*Serve, string) error
}

// Flag is the key's command-line flag, without dashes: queue-limit.
func (k Key) Flag() string { return strings.ReplaceAll(k.Name, "_", "-") }

// Env is the key's environment variable: RUNLET_QUEUE_LIMIT.
func (k Key) Env() string { return "RUNLET_" + strings.ToUpper(k.Name) }

// Keys lists every setting, in the order README's table documents them.
var Keys = []Key{
	{"data", "./runlet-data", "data `directory` (store, secrets key, admin.token)", func(s *Serve, v string) error {
		s.Data = v
		return nonEmpty(v)
	}},
	{"addr", "127.0.0.1:8000", "listen `address` (REST, webhooks, /metrics, /healthz, /readyz)", func(s *Serve, v string) error {
		s.Addr = v
		if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("want host:port: %v", err)
		}
		return nil
	}},
	{"workers", "0", "`N` worker processes running guests (0: one per CPU)", intAtLeast(0, func(s *Serve, n int) { s.Workers = n })},
	{"runners", "0", "`N` jobs running at once (0: as many as the workers)", intAtLeast(0, func(s *Serve, n int) { s.Runners = n })},
	{"queue_limit", "10000", "refuse runs (429) beyond `N` queued jobs", intAtLeast(1, func(s *Serve, n int) { s.QueueLimit = n })},
	{"wait_limit", "60s", "how long run_wait_result waits before answering 202, a `duration`", positive(func(s *Serve, d time.Duration) { s.WaitLimit = d })},
	{"grace", "30s", "on SIGTERM, how long running jobs may finish before they are requeued, a `duration`", positive(func(s *Serve, d time.Duration) { s.Grace = d })},
	{"retention", "30d", "delete completed jobs older than this `duration` (negative: keep them)", func(s *Serve, v string) error {
		d, err := parseDuration(v)
		if err == nil && d == 0 {
			err = errors.New("want a positive duration, or a negative one to keep jobs forever")
		}
		s.Retention = d
		return err
	}},
	{"max_depth", "8", "child-job nesting limit, `N` levels", intAtLeast(1, func(s *Serve, n int) { s.MaxDepth = n })},
	{"schedule_firers", "128", "schedule ticks handled at once, `N` (a burst of due schedules queues beyond it)", intAtLeast(1, func(s *Serve, n int) { s.ScheduleFirers = n })},
	{"leader_lease", "15s", "the scheduler leader's lease, a `duration` (after a crash another node takes over within it)", positive(func(s *Serve, d time.Duration) { s.LeaderLease = d })},
	{"flow_max_modules", "1000", "modules per flow, nested ones included, `N`", intAtLeast(1, func(s *Serve, n int) { s.FlowModules = n })},
	{"flow_max_iterations", "10000", "`N` iterations of a while loop (the run fails beyond) and items of a for loop", intAtLeast(1, func(s *Serve, n int) { s.FlowIterations = n })},
	{"expr_timeout", "1s", "time limit of one evaluation of a flow's JavaScript expressions, a `duration`", positive(func(s *Serve, d time.Duration) { s.ExprTimeout = d })},
	{"expr_memory", "64MiB", "memory limit of one evaluation of a flow's expressions, a `size` from 4MiB to 4GiB", func(s *Serve, v string) error {
		n, err := runtime.ParseSize(v)
		if err == nil && (n < runtime.MinMemory || n > runtime.MaxMemoryLimit) {
			err = fmt.Errorf("%s is outside [%s, %s]", runtime.FormatSize(n), runtime.FormatSize(runtime.MinMemory), runtime.FormatSize(runtime.MaxMemoryLimit))
		}
		s.ExprMemory = n
		return err
	}},
	{"step_fsync", "false", "fsync every flow step and workflow checkpoint (`bool`; false: steps survive a process crash, not a power loss)", func(s *Serve, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		s.StepFsync = b
		return nil
	}},
	{"public_url", "", "base `URL` of approval (resume/cancel) links (empty: http://<addr>)", func(s *Serve, v string) error {
		s.PublicURL = v
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an http or https URL")
		}
		return nil
	}},
	{"suspend_timeout", "30m", "how long a suspended flow step or approval waits when it sets no timeout, a `duration`", positive(func(s *Serve, d time.Duration) { s.SuspendTimeout = d })},
	{"max_body", "16MiB", "request body limit, a `size` (bytes, KiB, MiB, GiB; 413 beyond)", func(s *Serve, v string) error {
		n, err := runtime.ParseSize(v)
		if err == nil && n == 0 {
			err = errors.New("want a positive size")
		}
		s.MaxBody = n
		return err
	}},
	{"timeout", strconv.Itoa(int(runtime.DefaultTimeout/time.Second)) + "s", "default script timeout, a `duration`", positive(func(s *Serve, d time.Duration) { s.Timeout = d })},
	{"memory", runtime.FormatSize(runtime.DefaultMaxMemory), "default script memory limit, a `size` from 4MiB to 4GiB", func(s *Serve, v string) error {
		n, err := runtime.ParseSize(v)
		if err == nil && (n < runtime.MinMemory || n > runtime.MaxMemoryLimit) {
			err = fmt.Errorf("%s is outside [%s, %s]", runtime.FormatSize(n), runtime.FormatSize(runtime.MinMemory), runtime.FormatSize(runtime.MaxMemoryLimit))
		}
		s.Memory = n
		return err
	}},
	{"log_format", "text", "log `format`: text or json", func(s *Serve, v string) error {
		s.LogFormat = v
		return oneOf(v, "text", "json")
	}},
	{"log_level", "info", "log `level`: debug, info, warn or error", func(s *Serve, v string) error {
		if err := oneOf(strings.ToLower(v), "debug", "info", "warn", "error"); err != nil {
			return err
		}
		return s.LogLevel.UnmarshalText([]byte(v))
	}},
	{"metrics_token", "", "bearer `token` GET /metrics requires (empty: /metrics is open)", func(s *Serve, v string) error {
		s.MetricsToken = v
		return nil
	}},
	{"npm_registry", npm.DefaultRegistry, "npm registry `URL` for JS/TS imports", func(s *Serve, v string) error {
		s.NPMRegistry = v
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an http or https URL")
		}
		return nil
	}},
}

// Lookup returns the key with the given name, file key or flag name.
func Lookup(name string) (Key, bool) {
	name = strings.ReplaceAll(name, "-", "_")
	i := slices.IndexFunc(Keys, func(k Key) bool { return k.Name == name })
	if i < 0 {
		return Key{}, false
	}
	return Keys[i], true
}

// Sources are where settings come from, lowest precedence first.
type Sources struct {
	// File names the YAML file (for messages); Data is its contents. No
	// Data: no file.
	File string
	Data []byte
	// Env looks up environment variables (os.Getenv); nil: none. An empty
	// value counts as unset.
	Env func(string) string
	// Flags are the flags set on the command line: flag name → value.
	Flags map[string]string
}

// Load merges the sources (flag over environment over file over
// default) and checks every value. A bad value is a *KeyError naming the
// key and the source it came from; an unknown file key or flag is one too.
func Load(src Sources) (Serve, error) {
	type value struct{ v, from string }
	vals := make(map[string]value, len(Keys))
	for _, k := range Keys {
		vals[k.Name] = value{k.Default, "default"}
	}
	file := src.File
	if file == "" {
		file = "config file"
	}
	fileVals, err := parseFile(file, src.Data)
	if err != nil {
		return Serve{}, err
	}
	for k, v := range fileVals {
		vals[k] = value{v, file}
	}
	if src.Env != nil {
		for _, k := range Keys {
			if v := src.Env(k.Env()); v != "" {
				vals[k.Name] = value{v, k.Env()}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(src.Flags)) {
		k, ok := Lookup(name)
		if !ok || k.Flag() != name {
			return Serve{}, &KeyError{Key: name, Source: "--" + name, Err: ErrUnknownKey}
		}
		vals[k.Name] = value{src.Flags[name], "--" + name}
	}
	var s Serve
	for _, k := range Keys {
		v := vals[k.Name]
		if err := k.set(&s, strings.TrimSpace(v.v)); err != nil {
			return Serve{}, &KeyError{Key: k.Name, Source: v.from, Value: v.v, Err: err}
		}
	}
	return s, nil
}

// parseFile reads a flat YAML mapping of keys to scalars.
func parseFile(name string, data []byte) (map[string]string, error) {
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := make(map[string]string, len(doc))
	for _, item := range doc {
		key := fmt.Sprint(item.Key)
		if _, ok := Lookup(key); !ok || strings.Contains(key, "-") {
			return nil, &KeyError{Key: key, Source: name, Err: ErrUnknownKey}
		}
		switch v := item.Value.(type) {
		case nil: // "key:" with no value: unset
		case string, bool, int, int64, uint64, float64:
			out[key] = fmt.Sprint(v)
		default:
			return nil, &KeyError{Key: key, Source: name, Err: errors.New("want a single value, not a list or mapping")}
		}
	}
	return out, nil
}

func nonEmpty(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func oneOf(v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("want %s", strings.Join(allowed, " or "))
}

func intAtLeast(least int, set func(*Serve, int)) func(*Serve, string) error {
	return func(s *Serve, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("want an integer")
		}
		if n < least {
			return fmt.Errorf("want at least %d", least)
		}
		set(s, n)
		return nil
	}
}

func positive(set func(*Serve, time.Duration)) func(*Serve, string) error {
	return func(s *Serve, v string) error {
		d, err := parseDuration(v)
		if err != nil {
			return err
		}
		if d <= 0 {
			return errors.New("want a positive duration")
		}
		set(s, d)
		return nil
	}
}

// parseDuration is time.ParseDuration plus whole days ("30d", "-1d").
func parseDuration(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days > -1e5 && days < 1e5 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("want a duration such as 90s, 5m, 2h or 30d")
	}
	return d, nil
}
