package config_test

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/config"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	s, err := config.Load(config.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Serve{
		Data: "./runlet-data", Addr: "127.0.0.1:8000", QueueLimit: 10000, WaitLimit: 60 * time.Second,
		Grace: 30 * time.Second, Retention: 30 * 24 * time.Hour, MaxDepth: 8, ScheduleFirers: 128, LeaderLease: 15 * time.Second, MaxBody: 16 << 20,
		Timeout: 60 * time.Second, Memory: 256 << 20, LogFormat: "text", LogLevel: slog.LevelInfo,
		NPMRegistry: "https://registry.npmjs.org", FlowModules: 1000, FlowIterations: 10000,
		ExprTimeout: time.Second, ExprMemory: 64 << 20, StepFsync: false, SuspendTimeout: 30 * time.Minute,
	}
	if s != want {
		t.Fatalf("defaults:\n got %+v\nwant %+v", s, want)
	}
}

// TestPrecedence: flag > env > file > default, for every combination of
// sources setting one key.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		file, env, flag   string
		want              int
		wantAddr, wantLvl string
	}{
		{name: "default", want: 10000},
		{name: "file", file: "7", want: 7},
		{name: "env", env: "8", want: 8},
		{name: "flag", flag: "9", want: 9},
		{name: "env over file", file: "7", env: "8", want: 8},
		{name: "flag over file", file: "7", flag: "9", want: 9},
		{name: "flag over env", env: "8", flag: "9", want: 9},
		{name: "flag over env over file", file: "7", env: "8", flag: "9", want: 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := config.Sources{File: "runlet.yaml", Flags: map[string]string{}}
			env := map[string]string{}
			if tc.file != "" {
				src.Data = []byte("queue_limit: " + tc.file + "\n")
			}
			if tc.env != "" {
				env["RUNLET_QUEUE_LIMIT"] = tc.env
			}
			if tc.flag != "" {
				src.Flags["queue-limit"] = tc.flag
			}
			src.Env = envOf(env)
			s, err := config.Load(src)
			if err != nil {
				t.Fatal(err)
			}
			if s.QueueLimit != tc.want {
				t.Fatalf("queue_limit = %d, want %d", s.QueueLimit, tc.want)
			}
		})
	}
}

// TestEverySourceSetsEveryKey: each key is reachable by its file key, its
// variable and its flag.
func TestEverySourceSetsEveryKey(t *testing.T) {
	t.Parallel()
	values := map[string]string{
		"data": "/srv/runlet", "addr": "0.0.0.0:9000", "workers": "3", "runners": "5", "queue_limit": "42",
		"wait_limit": "5s", "grace": "1m", "retention": "-1s", "max_depth": "4", "max_body": "1MiB",
		"timeout": "10s", "memory": "64MiB", "log_format": "json", "log_level": "debug",
		"metrics_token": "s3cret", "npm_registry": "http://127.0.0.1:4873",
		"schedule_firers": "16", "leader_lease": "20s", "flow_max_modules": "50", "flow_max_iterations": "7",
		"expr_timeout": "2s", "expr_memory": "32MiB", "step_fsync": "true", "public_url": "https://runlet.example.com",
		"suspend_timeout": "1h",
	}
	want := config.Serve{
		Data: "/srv/runlet", Addr: "0.0.0.0:9000", Workers: 3, Runners: 5, QueueLimit: 42, WaitLimit: 5 * time.Second,
		Grace: time.Minute, Retention: -time.Second, MaxDepth: 4, MaxBody: 1 << 20, Timeout: 10 * time.Second,
		Memory: 64 << 20, LogFormat: "json", LogLevel: slog.LevelDebug, MetricsToken: "s3cret",
		NPMRegistry: "http://127.0.0.1:4873", ScheduleFirers: 16, LeaderLease: 20 * time.Second,
		FlowModules: 50, FlowIterations: 7, ExprTimeout: 2 * time.Second, ExprMemory: 32 << 20, StepFsync: true,
		PublicURL: "https://runlet.example.com", SuspendTimeout: time.Hour,
	}
	if len(values) != len(config.Keys) {
		t.Fatalf("the test sets %d keys; there are %d", len(values), len(config.Keys))
	}
	var file strings.Builder
	env, flags := map[string]string{}, map[string]string{}
	for _, k := range config.Keys {
		file.WriteString(k.Name + ": " + values[k.Name] + "\n")
		env[k.Env()] = values[k.Name]
		flags[k.Flag()] = values[k.Name]
	}
	for name, src := range map[string]config.Sources{
		"file":  {File: "f.yaml", Data: []byte(file.String())},
		"env":   {Env: envOf(env)},
		"flags": {Flags: flags},
	} {
		s, err := config.Load(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s != want {
			t.Fatalf("%s:\n got %+v\nwant %+v", name, s, want)
		}
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	k, ok := config.Lookup("queue-limit")
	if !ok || k.Name != "queue_limit" || k.Flag() != "queue-limit" || k.Env() != "RUNLET_QUEUE_LIMIT" {
		t.Fatalf("Lookup(queue-limit) = %+v %v", k, ok)
	}
	if _, ok := config.Lookup("nope"); ok {
		t.Fatal("Lookup(nope) found a key")
	}
}

// TestRefused: unknown keys and bad values are refused naming the key
// and where the value came from.
func TestRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		src     config.Sources
		key     string
		unknown bool
		want    []string // in the message
	}{
		{"unknown file key", config.Sources{File: "r.yaml", Data: []byte("addr: 127.0.0.1:1\nqueue_limt: 5\n")}, "queue_limt", true,
			[]string{"r.yaml", `unknown key "queue_limt"`, "did you mean queue_limit?"}},
		{"flag spelling in the file", config.Sources{File: "r.yaml", Data: []byte("queue-limit: 5\n")}, "queue-limit", true,
			[]string{`unknown key "queue-limit"`, "did you mean queue_limit?"}},
		{"far from any key", config.Sources{File: "r.yaml", Data: []byte("colour: blue\n")}, "colour", true,
			[]string{`unknown key "colour"`}},
		{"unknown flag", config.Sources{Flags: map[string]string{"nope": "1"}}, "nope", true, []string{"--nope"}},
		{"not an integer", config.Sources{File: "r.yaml", Data: []byte("workers: many\n")}, "workers", false,
			[]string{"workers (from r.yaml)", `"many"`, "want an integer"}},
		{"a float", config.Sources{File: "r.yaml", Data: []byte("queue_limit: 1.5\n")}, "queue_limit", false, []string{"want an integer"}},
		{"negative", config.Sources{Env: envOf(map[string]string{"RUNLET_WORKERS": "-1"})}, "workers", false,
			[]string{"workers (from RUNLET_WORKERS)", "at least 0"}},
		{"zero queue", config.Sources{Flags: map[string]string{"queue-limit": "0"}}, "queue_limit", false,
			[]string{"queue_limit (from --queue-limit)", "at least 1"}},
		{"bad duration", config.Sources{File: "r.yaml", Data: []byte("grace: 30\n")}, "grace", false, []string{"grace (from r.yaml)", "duration"}},
		{"zero duration", config.Sources{Flags: map[string]string{"wait-limit": "0s"}}, "wait_limit", false, []string{"positive"}},
		{"zero retention", config.Sources{Flags: map[string]string{"retention": "0"}}, "retention", false, []string{"keep jobs forever"}},
		{"bad size", config.Sources{Flags: map[string]string{"max-body": "lots"}}, "max_body", false, []string{"max_body (from --max-body)"}},
		{"memory too small", config.Sources{Flags: map[string]string{"memory": "1MiB"}}, "memory", false, []string{"memory", "outside"}},
		{"log format", config.Sources{Env: envOf(map[string]string{"RUNLET_LOG_FORMAT": "xml"})}, "log_format", false, []string{"text or json"}},
		{"log level", config.Sources{Flags: map[string]string{"log-level": "loud"}}, "log_level", false, []string{"log_level", "debug"}},
		{"addr", config.Sources{Flags: map[string]string{"addr": "8000"}}, "addr", false, []string{"addr", "host:port"}},
		{"registry", config.Sources{Flags: map[string]string{"npm-registry": "ftp://x"}}, "npm_registry", false, []string{"npm_registry", "http"}},
		{"a list", config.Sources{File: "r.yaml", Data: []byte("addr: [a, b]\n")}, "addr", false, []string{"addr", "single value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(tc.src)
			var ke *config.KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("Load = %v, want a *KeyError", err)
			}
			if ke.Key != tc.key {
				t.Fatalf("key %q, want %q (%v)", ke.Key, tc.key, err)
			}
			if errors.Is(err, config.ErrUnknownKey) != tc.unknown {
				t.Fatalf("errors.Is(ErrUnknownKey) = %v: %v", !tc.unknown, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("%q does not say %q", err, w)
				}
			}
		})
	}
}

func TestFileShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data string
		ok         bool
	}{
		{"empty", "", true},
		{"comments", "# nothing\n", true},
		{"no value", "metrics_token:\nworkers: 2\n", true},
		{"a list", "- workers\n", false},
		{"duplicate", "workers: 1\nworkers: 2\n", false},
		{"not yaml", "workers: [\n", false},
	} {
		_, err := config.Load(config.Sources{File: "r.yaml", Data: []byte(tc.data)})
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "r.yaml: ") {
			t.Errorf("%s: the error does not name the file: %v", tc.name, err)
		}
	}
}

// TestExampleFile: runlet.example.yaml loads and sets every key.
func TestExampleFile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../runlet.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(config.Sources{File: "runlet.example.yaml", Data: data}); err != nil {
		t.Fatal(err)
	}
	for _, k := range config.Keys {
		if !strings.Contains(string(data), "\n"+k.Name+":") && !strings.Contains(string(data), "\n# "+k.Name+":") {
			t.Errorf("runlet.example.yaml does not show %s", k.Name)
		}
	}
}

// TestREADME: README's configuration table documents every key with its
// variable, flag and default.
func TestREADME(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "### Configuration\n")
	if !ok {
		t.Fatal(`README has no "### Configuration" section`)
	}
	section, _, _ = strings.Cut(section, "\n#")
	for _, k := range config.Keys {
		row := "| `" + k.Name + "` | `" + k.Env() + "` | `--" + k.Flag() + "` | "
		i := strings.Index(section, row)
		if i < 0 {
			t.Errorf("README's configuration table has no row starting %s", row)
			continue
		}
		line, _, _ := strings.Cut(section[i+len(row):], "\n")
		def := "`" + k.Default + "`"
		if k.Default == "" {
			def = "none"
		}
		if !strings.HasPrefix(line, def+" |") {
			t.Errorf("README: %s's default should be %s: %s", k.Name, def, line)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("workers: 2\nqueue_limit: 5\n"))
	f.Add([]byte("grace: 30d\nmax_body: 1GiB\n"))
	f.Add([]byte("- x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := config.Load(config.Sources{File: "f.yaml", Data: data})
		if err == nil && (s.QueueLimit < 1 || s.MaxDepth < 1 || s.WaitLimit <= 0 || s.Memory <= 0) {
			t.Fatalf("accepted an invalid config: %+v", s)
		}
	})
}
