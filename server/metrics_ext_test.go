package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/runlet/runlet/server"
)

// scrape fetches /metrics (with token, when given) and parses it.
func (s *testServer) scrape(t *testing.T, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the sum over the samples of a family whose labels include
// labels (name=value pairs): a counter's or gauge's value, a histogram's
// count.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	var sum float64
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// TestMetrics: after a small load (sync and async runs, a failure, a
// timeout, refused requests) /metrics accounts for every run, request and
// refusal.
func TestMetrics(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.push(t, "f/m/ok", "typescript", `export function main(i: number) { return i * 2; }`, nil)
	s.push(t, "f/m/fail", "typescript", `export function main() { throw new Error("nope"); }`, nil)
	s.push(t, "f/m/slow", "typescript", `export async function main() { await new Promise((r) => setTimeout(r, 10000)); }`,
		map[string]any{"timeout": 1})
	s.push(t, "f/m/retry", "typescript", `export function main() { throw new Error("again"); }`,
		map[string]any{"retry": map[string]any{"constant": map[string]any{"attempts": 1, "seconds": 0}}})
	const syncOK, asyncOK = 4, 3
	for i := range syncOK {
		if r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/m/ok", map[string]any{"i": i}); r.Status != 200 {
			t.Fatalf("sync run: %d %s", r.Status, r.Body)
		}
	}
	var ids []string
	for i := range asyncOK {
		r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/m/ok", map[string]any{"i": i})
		if r.Status != 201 {
			t.Fatalf("async run: %d %s", r.Status, r.Body)
		}
		ids = append(ids, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/m/fail", `{}`); r.Status != 500 {
		t.Fatalf("failing run: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/jobs/run_wait_result/p/f/m/slow", `{}`); r.Status != 500 || !strings.Contains(r.Body, "Timeout") {
		t.Fatalf("slow run: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/m/retry", `{}`); r.Status != 201 {
		t.Fatalf("retried run: %d %s", r.Status, r.Body)
	} else {
		ids = append(ids, r.Body)
	}
	for _, id := range ids {
		s.waitJob(t, id)
	}
	// Refusals: 401, 404, 400.
	if r := s.do(t, "GET", "/api/w/main/scripts/list", nil, "Authorization", ""); r.Status != 401 {
		t.Fatalf("no token: %d", r.Status)
	}
	if r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/m/none", `{}`); r.Status != 404 {
		t.Fatalf("unknown script: %d", r.Status)
	}
	for range 2 {
		if r := s.do(t, "POST", "/api/w/main/jobs/run/p/f/m/ok", `{"i":`); r.Status != 400 {
			t.Fatalf("bad body: %d", r.Status)
		}
	}
	if r := s.do(t, "GET", "/nowhere", nil); r.Status != 404 {
		t.Fatalf("unmatched: %d", r.Status)
	}

	// A run's end is counted just after the job is stored: poll briefly.
	const ran = syncOK + asyncOK + 4 // + fail, slow, retry twice
	var fams map[string]*dto.MetricFamily
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		fams = s.scrape(t, "")
		if value(fams, "runlet_jobs_finished_total") == ran || time.Now().After(deadline) {
			break
		}
	}
	ts := []string{"language", "typescript"}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"runlet_jobs_accepted_total", []string{"mode", "sync", "trigger", "webhook"}, syncOK + 2},
		{"runlet_jobs_accepted_total", []string{"mode", "async", "trigger", "webhook"}, asyncOK + 1},
		{"runlet_jobs_started_total", ts, ran},
		{"runlet_jobs_finished_total", nil, ran},
		{"runlet_jobs_finished_total", append(ts, "outcome", "success"), syncOK + asyncOK},
		{"runlet_jobs_finished_total", append(ts, "outcome", "script_error"), 3},
		{"runlet_jobs_finished_total", append(ts, "outcome", "timeout"), 1},
		{"runlet_job_duration_seconds", ts, ran},
		{"runlet_job_duration_seconds", append(ts, "outcome", "success"), syncOK + asyncOK},
		{"runlet_job_retries_total", ts, 1},
		{"runlet_jobs_running", nil, 0},
		{"runlet_queue_depth", nil, 0},
		{"runlet_workers", nil, 2},
		{"runlet_workers_borrowed", nil, 0},
		{"runlet_http_request_duration_seconds", []string{"route", "POST /api/w/{ws}/jobs/run_wait_result/p/{path...}", "status_class", "2xx"}, syncOK},
		{"runlet_http_request_duration_seconds", []string{"route", "POST /api/w/{ws}/jobs/run_wait_result/p/{path...}", "status_class", "5xx"}, 2},
		{"runlet_http_request_duration_seconds", []string{"route", "POST /api/w/{ws}/jobs/run/p/{path...}", "status_class", "2xx"}, asyncOK + 1},
		{"runlet_http_request_duration_seconds", []string{"route", "POST /api/w/{ws}/jobs/run/p/{path...}", "status_class", "4xx"}, 3},
		{"runlet_http_request_duration_seconds", []string{"route", "unmatched", "status_class", "4xx"}, 1},
		{"runlet_http_requests_refused_total", []string{"reason", "unauthenticated"}, 1},
		{"runlet_http_requests_refused_total", []string{"reason", "not_found"}, 1},
		{"runlet_http_requests_refused_total", []string{"reason", "invalid_argument"}, 2},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Every run but the first on an instance follows a reset or starts fresh.
	if resets, fresh := value(fams, "runlet_clean_state_reset_seconds"), value(fams, "runlet_fresh_instances_total"); resets < 1 || fresh < 1 {
		t.Errorf("resets %v, fresh instances %v: want both ≥ 1", resets, fresh)
	}
	if idle := value(fams, "runlet_workers_idle"); idle < 0 || idle > 2 {
		t.Errorf("runlet_workers_idle = %v", idle)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}
}

// TestMetricsToken: with Config.MetricsToken, /metrics wants that bearer
// token (not an API token); without it, /metrics is open.
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{MetricsToken: "scrape-me"})
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer " + s.Token, 401}, {"Bearer wrong", 401}, {"Bearer scrape-me", 200}} {
		if r := s.do(t, "GET", "/metrics", nil, "Authorization", c.auth); r.Status != c.want {
			t.Errorf("Authorization %q: %d, want %d", c.auth, r.Status, c.want)
		}
	}
	fams := s.scrape(t, "scrape-me")
	if v := value(fams, "runlet_http_requests_refused_total", "reason", "unauthenticated"); v != 3 {
		t.Errorf("refused scrapes: %v, want 3", v)
	}
}
