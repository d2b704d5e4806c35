package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/server"
)

// decode unmarshals a JSON answer into v.
func decode(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("not JSON (%d): %q", r.Status, r.Body)
	}
}

// wantError fails unless r is an error document with status and field.
func wantError(t *testing.T, what string, r response, status int, field string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.Status, r.Body, status)
	}
	if e := errorOf(t, r.Body); field != "" && e["field"] != field {
		t.Fatalf("%s: field %v, want %q (%s)", what, e["field"], field, r.Body)
	}
}

const handlerTS = `export async function main() { return "handled"; }`

func TestSchedulePreviewREST(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	tests := []struct {
		name string
		body map[string]any
		want []string
	}{
		{name: "fall back in Paris fires once at the first 02:30",
			body: map[string]any{"schedule": "30 2 * * *", "timezone": "Europe/Paris", "from": "2026-10-24T12:00:00Z", "count": 2},
			want: []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{name: "six fields with seconds, UTC by default",
			body: map[string]any{"schedule": "0 */15 * * * *", "from": "2026-01-01T00:00:00Z", "count": 3},
			want: []string{"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z"}},
		{name: "spring forward skips the missing hour",
			body: map[string]any{"schedule": "0 */30 * * * *", "timezone": "Europe/Paris", "from": "2026-03-29T00:40:00Z", "count": 2},
			want: []string{"2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"}},
		{name: "v1 dialect counts days from Sunday=1",
			body: map[string]any{"schedule": "0 0 9 * * 2", "cron_version": "v1", "timezone": "UTC", "from": "2026-01-01T00:00:00Z", "count": 1},
			want: []string{"2026-01-05T09:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := s.do(t, "POST", "/api/schedules/preview", tt.body)
			var got []string
			decode(t, r, &got)
			if r.Status != http.StatusOK || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("preview %v: %d %v, want %v", tt.body, r.Status, got, tt.want)
			}
		})
	}

	// Defaults: five times, after now.
	before := time.Now()
	r := s.do(t, "POST", "/api/schedules/preview", map[string]any{"schedule": "* * * * *", "timezone": "Asia/Tokyo"})
	var got []string
	decode(t, r, &got)
	if r.Status != http.StatusOK || len(got) != 5 {
		t.Fatalf("defaults: %d %s", r.Status, r.Body)
	}
	for _, g := range got {
		at, err := time.Parse(time.RFC3339, g)
		if err != nil || !at.After(before) || !strings.HasSuffix(g, "+09:00") {
			t.Fatalf("defaults: %q (err %v), want after %s in +09:00", g, err, before)
		}
	}

	refusals := []struct {
		name  string
		body  any
		field string
	}{
		{"bad expression", map[string]any{"schedule": "61 * * * *"}, "schedule"},
		{"empty expression", map[string]any{}, "schedule"},
		{"unknown zone", map[string]any{"schedule": "* * * * *", "timezone": "Mars/Olympus"}, "timezone"},
		{"bad from", map[string]any{"schedule": "* * * * *", "from": "yesterday"}, "from"},
		{"too many", map[string]any{"schedule": "* * * * *", "count": 1001}, "count"},
		{"unknown dialect", map[string]any{"schedule": "* * * * *", "cron_version": "v9"}, "schedule"},
		{"not JSON", "{", "body"},
	}
	for _, tt := range refusals {
		wantError(t, tt.name, s.do(t, "POST", "/api/schedules/preview", tt.body), http.StatusBadRequest, tt.field)
	}
	// Global, but not anonymous.
	r = s.do(t, "POST", "/api/schedules/preview", map[string]any{"schedule": "* * * * *"}, "Authorization", "")
	wantError(t, "no token", r, http.StatusUnauthorized, "")
}

// TestScheduleRESTRefusals covers what the REST layer refuses before it
// asks the service.
func TestScheduleRESTRefusals(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	const w = "/api/w/main/"
	wantError(t, "paused_until", s.do(t, "POST", w+"schedules/create", map[string]any{
		"path": "f/ops/x", "schedule": "* * * * *", "script_path": "f/ops/greet", "paused_until": "tomorrow"}), 400, "paused_until")
	wantError(t, "rename", s.do(t, "POST", w+"schedules/update/f/ops/x", map[string]any{
		"path": "f/ops/y", "schedule": "* * * * *"}), 400, "path")
	wantError(t, "setenabled without enabled", s.do(t, "POST", w+"schedules/setenabled/f/ops/x", map[string]any{}), 400, "enabled")
	wantError(t, "per_page", s.do(t, "GET", w+"schedules/runs/f/ops/x?per_page=0", nil), 400, "per_page")
	wantError(t, "per_page", s.do(t, "GET", w+"schedules/runs/f/ops/x?per_page=1001", nil), 400, "per_page")
	wantError(t, "not JSON", s.do(t, "POST", w+"schedules/create", "{"), 400, "body")
	wantError(t, "no token", s.do(t, "GET", w+"schedules/list", nil, "Authorization", ""), 401, "")
}

// scheduleDoc is a schedule as the REST API shows it.
type scheduleDoc struct {
	Path               string         `json:"path"`
	Schedule           string         `json:"schedule"`
	Timezone           string         `json:"timezone"`
	ScriptPath         string         `json:"script_path"`
	IsFlow             bool           `json:"is_flow"`
	Args               map[string]any `json:"args"`
	Enabled            bool           `json:"enabled"`
	PausedUntil        string         `json:"paused_until"`
	Summary            string         `json:"summary"`
	NoFlowOverlap      bool           `json:"no_flow_overlap"`
	CatchUp            string         `json:"catch_up"`
	Retry              map[string]any `json:"retry"`
	OnFailure          string         `json:"on_failure"`
	OnFailureTimes     int            `json:"on_failure_times"`
	OnFailureExtraArgs map[string]any `json:"on_failure_extra_args"`
	OnRecovery         string         `json:"on_recovery"`
	OnSuccess          string         `json:"on_success"`
	CreatedBy          string         `json:"created_by"`
	NextFire           string         `json:"next_fire"`
}

func getSchedule(t *testing.T, s *testServer, path string) scheduleDoc {
	t.Helper()
	r := s.do(t, "GET", "/api/w/main/schedules/get/"+path, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get %s: %d %s", path, r.Status, r.Body)
	}
	var d scheduleDoc
	decode(t, r, &d)
	return d
}

func TestScheduleREST(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	const w = "/api/w/main/"
	s.push(t, "f/ops/greet", "typescript", greetTS, nil)
	s.push(t, "f/ops/alert", "typescript", handlerTS, nil)

	// Windmill's NewSchedule, handler path with its "script/" prefix.
	create := map[string]any{
		"path": "f/ops/nightly", "schedule": "0 30 2 * * *", "timezone": "Europe/Paris", "script_path": "f/ops/greet",
		"is_flow": false, "args": map[string]any{"name": "night", "times": 2}, "enabled": true, "summary": "nightly greeting",
		"no_flow_overlap": true, "catch_up": "once", "retry": map[string]any{"constant": map[string]any{"attempts": 2, "seconds": 1}},
		"on_failure": "script/f/ops/alert", "on_failure_times": 2, "on_failure_extra_args": map[string]any{"channel": "#ops"},
		"on_recovery": "f/ops/alert", "on_success": "f/ops/alert",
	}
	r := s.do(t, "POST", w+"schedules/create", create)
	if r.Status != http.StatusCreated || r.Body != "f/ops/nightly" {
		t.Fatalf("create: %d %q", r.Status, r.Body)
	}
	wantError(t, "create again", s.do(t, "POST", w+"schedules/create", create), http.StatusConflict, "")

	d := getSchedule(t, s, "f/ops/nightly")
	if d.Path != "f/ops/nightly" || d.Schedule != "0 30 2 * * *" || d.Timezone != "Europe/Paris" || d.ScriptPath != "f/ops/greet" ||
		d.IsFlow || !d.Enabled || d.Summary != "nightly greeting" || !d.NoFlowOverlap || d.CatchUp != "once" ||
		d.OnFailure != "f/ops/alert" || d.OnFailureTimes != 2 || d.OnFailureExtraArgs["channel"] != "#ops" ||
		d.OnRecovery != "f/ops/alert" || d.OnSuccess != "f/ops/alert" || d.Retry["constant"] == nil || d.CreatedBy == "" {
		t.Fatalf("get: %+v", d)
	}
	if a, _ := json.Marshal(d.Args); string(a) != `{"name":"night","times":2}` {
		t.Fatalf("args = %s", a)
	}
	next, err := time.Parse(time.RFC3339, d.NextFire)
	if err != nil || !next.After(time.Now()) || next.Format("15:04:05") != "02:30:00" ||
		!(strings.HasSuffix(d.NextFire, "+01:00") || strings.HasSuffix(d.NextFire, "+02:00")) {
		t.Fatalf("next_fire %q: want the next 02:30 in Paris, in Paris's offset", d.NextFire)
	}

	for path, want := range map[string]string{"f/ops/nightly": "true", "f/ops/none": "false"} {
		if r := s.do(t, "GET", w+"schedules/exists/"+path, nil); r.Status != 200 || strings.TrimSpace(r.Body) != want {
			t.Fatalf("exists %s: %d %q", path, r.Status, r.Body)
		}
	}

	// A second schedule, for the lists.
	r = s.do(t, "POST", w+"schedules/create", map[string]any{"path": "f/etl/hourly", "schedule": "0 * * * *", "script_path": "f/ops/greet",
		"args": map[string]any{"name": "etl"}, "enabled": false})
	if r.Status != http.StatusCreated {
		t.Fatalf("create hourly: %d %s", r.Status, r.Body)
	}
	var list []scheduleDoc
	decode(t, s.do(t, "GET", w+"schedules/list", nil), &list)
	slices.SortFunc(list, func(a, b scheduleDoc) int { return strings.Compare(a.Path, b.Path) })
	if len(list) != 2 || list[0].Path != "f/etl/hourly" || list[1].Path != "f/ops/nightly" {
		t.Fatalf("list: %+v", list)
	}
	if list[0].Enabled || list[0].NextFire != "" || list[1].NextFire != d.NextFire {
		t.Fatalf("list next_fire: disabled %q, enabled %q (get said %q)", list[0].NextFire, list[1].NextFire, d.NextFire)
	}
	decode(t, s.do(t, "GET", w+"schedules/list?path_start=f/ops/", nil), &list)
	if len(list) != 1 || list[0].Path != "f/ops/nightly" {
		t.Fatalf("list path_start=f/ops/: %+v", list)
	}

	// Windmill's EditSchedule has no path or script_path: the target stays;
	// every other setting is replaced; enabled is left alone.
	r = s.do(t, "POST", w+"schedules/update/f/ops/nightly", map[string]any{"schedule": "0 0 3 * * *", "timezone": "UTC", "args": map[string]any{"name": "three"}})
	if r.Status != http.StatusOK || r.Body != "f/ops/nightly" {
		t.Fatalf("update: %d %q", r.Status, r.Body)
	}
	d = getSchedule(t, s, "f/ops/nightly")
	if d.ScriptPath != "f/ops/greet" || d.Schedule != "0 0 3 * * *" || d.Timezone != "UTC" || d.Args["name"] != "three" ||
		!d.Enabled || d.Summary != "" || d.NoFlowOverlap || d.OnFailure != "" || !strings.HasSuffix(d.NextFire, "T03:00:00Z") {
		t.Fatalf("after update: %+v", d)
	}
	wantError(t, "update missing", s.do(t, "POST", w+"schedules/update/f/ops/none", map[string]any{"schedule": "* * * * *", "script_path": "f/ops/greet", "args": map[string]any{"name": "x"}}), http.StatusNotFound, "")

	r = s.do(t, "POST", w+"schedules/setenabled/f/ops/nightly", map[string]any{"enabled": false})
	var off, on scheduleDoc
	decode(t, r, &off)
	if r.Status != http.StatusOK || off.Enabled || off.NextFire != "" || getSchedule(t, s, "f/ops/nightly").Enabled {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	r = s.do(t, "POST", w+"schedules/setenabled/f/ops/nightly", map[string]any{"enabled": true})
	decode(t, r, &on)
	if r.Status != http.StatusOK || !on.Enabled || on.NextFire == "" {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}

	// Refused by the service: a flow (for now), a bad expression, zone or
	// path, a missing script.
	for name, body := range map[string]map[string]any{
		"flow":       {"path": "f/ops/flowy", "schedule": "* * * * *", "script_path": "f/ops/greet", "is_flow": true},
		"expression": {"path": "f/ops/bad", "schedule": "0 0 31 2 *", "script_path": "f/ops/greet"},
		"zone":       {"path": "f/ops/bad", "schedule": "* * * * *", "timezone": "Mars/Olympus", "script_path": "f/ops/greet"},
		"path":       {"path": "nightly", "schedule": "* * * * *", "script_path": "f/ops/greet"},
	} {
		r := s.do(t, "POST", w+"schedules/create", body)
		if r.Status < 400 || r.Status == http.StatusInternalServerError {
			t.Fatalf("create with bad %s: %d %s", name, r.Status, r.Body)
		}
		errorOf(t, r.Body)
	}
	if r := s.do(t, "GET", w+"schedules/exists/f/ops/flowy", nil); strings.TrimSpace(r.Body) != "false" {
		t.Fatalf("a refused flow schedule was stored: %s", r.Body)
	}

	r = s.do(t, "DELETE", w+"schedules/delete/f/ops/nightly", nil)
	if r.Status != http.StatusOK || r.Body != "f/ops/nightly" {
		t.Fatalf("delete: %d %q", r.Status, r.Body)
	}
	wantError(t, "get deleted", s.do(t, "GET", w+"schedules/get/f/ops/nightly", nil), http.StatusNotFound, "")
	wantError(t, "delete again", s.do(t, "DELETE", w+"schedules/delete/f/ops/nightly", nil), http.StatusNotFound, "")
	if r := s.do(t, "GET", w+"schedules/exists/f/ops/nightly", nil); strings.TrimSpace(r.Body) != "false" {
		t.Fatalf("exists after delete: %s", r.Body)
	}
}

func TestScheduleRunsREST(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	const w = "/api/w/main/"
	s.push(t, "f/ops/greet", "typescript", greetTS, nil)
	r := s.do(t, "POST", w+"schedules/create", map[string]any{"path": "f/ops/often", "schedule": "* * * * * *",
		"script_path": "f/ops/greet", "args": map[string]any{"name": "tick"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var jobs []map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for {
		r = s.do(t, "GET", w+"schedules/runs/f/ops/often?per_page=2", nil)
		decode(t, r, &jobs)
		if r.Status != http.StatusOK {
			t.Fatalf("runs: %d %s", r.Status, r.Body)
		}
		if len(jobs) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(jobs) != 2 {
		t.Fatalf("runs after a minute of a schedule every second: %d jobs", len(jobs))
	}
	for _, j := range jobs {
		if j["schedule_path"] != "f/ops/often" || j["trigger"] != "schedule" || j["script_path"] != "f/ops/greet" {
			t.Fatalf("run: %v", j)
		}
	}
	a, _ := time.Parse(time.RFC3339, jobs[0]["scheduled_for"].(string))
	b, _ := time.Parse(time.RFC3339, jobs[1]["scheduled_for"].(string))
	if !a.After(b) {
		t.Fatalf("runs not newest first: %v then %v", a, b)
	}
	s.do(t, "POST", w+"schedules/setenabled/f/ops/often", map[string]any{"enabled": false})
}
