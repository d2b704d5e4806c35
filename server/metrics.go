package server

import (
	"context"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/runtime"
)

// metrics are one server's Prometheus metrics, in a registry of its own:
// several servers may share a process (tests do). Every method is safe on
// a nil *metrics (a Service used without a Server records nothing).
// README "Metrics" lists them.
type metrics struct {
	reg *prometheus.Registry

	accepted     *prometheus.CounterVec   // mode, trigger
	started      *prometheus.CounterVec   // language
	finished     *prometheus.CounterVec   // language, outcome
	retries      *prometheus.CounterVec   // language
	duration     *prometheus.HistogramVec // language, outcome
	running      prometheus.Gauge         //
	resets       prometheus.Histogram     //
	fresh        prometheus.Counter       //
	httpDuration *prometheus.HistogramVec // route, status_class
	refused      *prometheus.CounterVec   // reason
}

// Histogram buckets, in seconds.
var (
	jobBuckets   = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600}
	httpBuckets  = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	resetBuckets = []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3}
)

// newMetrics registers the server's metrics; the queue depth and the
// worker pool are read from st and eng at scrape time.
func newMetrics(st store.Store, eng *runtime.Engine) *metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &metrics{
		reg: reg,
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runlet_jobs_accepted_total",
			Help: "Jobs queued, by mode (sync: the caller waits for the result; async) and trigger (webhook, cli, child, ...).",
		}, []string{"mode", "trigger"}),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runlet_jobs_started_total",
			Help: "Job runs started by this process (each retry attempt counts), by script language.",
		}, []string{"language"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runlet_jobs_finished_total",
			Help: "Job runs ended, by language and outcome: success, canceled, requeued (at shutdown) or the error name in snake_case (timeout, script_error, out_of_memory, ...). A failed attempt that is retried counts with its error.",
		}, []string{"language", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runlet_job_retries_total",
			Help: "Failed job attempts requeued by the script's retry policy, by language.",
		}, []string{"language"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "runlet_job_duration_seconds",
			Help:    "Job run time from start (build, arguments, worker wait, run) to end, by language and outcome.",
			Buckets: jobBuckets,
		}, []string{"language", "outcome"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "runlet_jobs_running",
			Help: "Jobs running in this process now.",
		}),
		resets: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "runlet_clean_state_reset_seconds",
			Help:    "Time a worker spent restoring an instance's clean state after a job (its count is the number of resets).",
			Buckets: resetBuckets,
		}),
		fresh: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "runlet_fresh_instances_total",
			Help: "Jobs that ran on a newly created instance (compiled and initialised for them) rather than a reset or warm one.",
		}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "runlet_http_request_duration_seconds",
			Help:    "HTTP request latency (REST, webhooks, operator endpoints), by route pattern and status class (2xx, 4xx, ...). Sync runs include the wait.",
			Buckets: httpBuckets,
		}, []string{"route", "status_class"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runlet_http_requests_refused_total",
			Help: "Requests refused with a 4xx error, by reason (the error code: unauthenticated, permission_denied, not_found, invalid_argument, conflict, too_large, queue_full, ...).",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{
		m.accepted, m.started, m.finished, m.retries, m.duration, m.running, m.resets, m.fresh, m.httpDuration, m.refused,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		f(c)
	}
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "runlet_queue_depth",
		Help: "Jobs waiting in the queue (NaN when the store does not answer).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := st.QueueDepth(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}))
	pool := func(name, help string, v func(runtime.PoolStats) int) {
		f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(v(eng.Stats())) }))
	}
	pool("runlet_workers", "Worker processes in the engine's pool, busy or idle (the spare not counted).", func(p runtime.PoolStats) int { return p.Workers })
	pool("runlet_workers_idle", "Worker processes waiting for a job.", func(p runtime.PoolStats) int { return p.Idle })
	pool("runlet_workers_borrowed", "Extra workers lent while parent jobs wait for their children.", func(p runtime.PoolStats) int { return p.Borrowed })
	return m
}

// handler serves the registry in the Prometheus exposition formats.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// accept counts a queued job.
func (m *metrics) accept(req RunRequest) {
	if m == nil {
		return
	}
	mode := "async"
	if req.Sync {
		mode = "sync"
	}
	trigger := req.Trigger
	if trigger == "" {
		trigger = "api"
	}
	m.accepted.WithLabelValues(mode, trigger).Inc()
}

// start counts a job run starting.
func (m *metrics) start(lang string) {
	if m == nil {
		return
	}
	m.started.WithLabelValues(lang).Inc()
	m.running.Inc()
}

// end counts a job run ending after d.
func (m *metrics) end(lang, outcome string, d time.Duration, retried bool) {
	if m == nil {
		return
	}
	m.running.Dec()
	m.finished.WithLabelValues(lang, outcome).Inc()
	m.duration.WithLabelValues(lang, outcome).Observe(d.Seconds())
	if retried {
		m.retries.WithLabelValues(lang).Inc()
	}
}

// observeRun records what the engine reports about a run's instance.
func (m *metrics) observeRun(res *runtime.Result) {
	if m == nil || res == nil {
		return
	}
	if res.Stats.Reset > 0 {
		m.resets.Observe(res.Stats.Reset.Seconds())
	}
	if res.Stats.Fresh {
		m.fresh.Inc()
	}
}

// refuse counts a refused request (4xx) by its error code.
func (m *metrics) refuse(e *Error) {
	if m == nil || e.Status < 400 || e.Status >= 500 {
		return
	}
	m.refused.WithLabelValues(e.Code).Inc()
}

// instrument wraps the server's handler to record each request's latency
// by the route pattern the mux matched ("unmatched" for none).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r) // the mux sets r.Pattern
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		m.httpDuration.WithLabelValues(route, statusClass(status)).Observe(time.Since(t).Seconds())
	})
}

func statusClass(status int) string {
	return string(rune('0'+status/100)) + "xx"
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outcome names how a job run ended: success, canceled, or its error
// name in snake_case (Timeout → timeout, OutOfMemory → out_of_memory).
func outcome(j *store.Job) string {
	switch {
	case j.Status == store.StatusSkipped:
		return "skipped"
	case j.Status == store.StatusSuccess:
		return "success"
	case j.Status == store.StatusCanceled:
		return "canceled"
	case j.Error == nil || j.Error.Name == "":
		return "failure"
	}
	return snake(j.Error.Name)
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
