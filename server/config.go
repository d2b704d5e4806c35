package server

import (
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/runlet/runlet/runtime"
)

// Config holds every server limit; zero values take the documented
// defaults (see withDefaults and README "Server limits").
type Config struct {
	// DataDir holds the store, the secrets key and admin.token.
	DataDir string
	// Runners is how many jobs run at once; default: the engine's workers.
	Runners int
	// QueueLimit refuses new jobs (429) beyond this many queued; default 10,000.
	QueueLimit int
	// MaxBodyBytes bounds a request body (413 beyond); default 16 MiB.
	MaxBodyBytes int64
	// WaitLimit bounds run_wait_result (202 with the id beyond); default 60 s.
	WaitLimit time.Duration
	// ShutdownGrace lets running jobs finish on SIGTERM; default 30 s.
	ShutdownGrace time.Duration
	// Retention deletes completed jobs older than this; default 30 days,
	// negative keeps them forever.
	Retention time.Duration
	// MaxDepth bounds child-job nesting (RunScript from a script); default 8.
	MaxDepth int
	// Lease is how long a claimed job stays with its runner without a
	// heartbeat; default 30 s.
	Lease time.Duration
	// Limits are the defaults for scripts that do not set their own.
	Limits runtime.Limits
	// NPMRegistry for JS/TS npm imports; default https://registry.npmjs.org.
	NPMRegistry string
	// CacheDir holds builds and compiled modules; default DataDir/cache.
	CacheDir string
	// MetricsToken, when set, is the bearer token GET /metrics requires;
	// default "" (metrics open to anyone who reaches the port).
	MetricsToken string
	// Logger receives the server's logs; default slog.Default().
	Logger *slog.Logger
	// Clock drives the scheduler: cron ticks, paused_until, and the instant
	// a schedule's creation or edit takes effect. Tests pass a
	// clockwork.NewFakeClockAt(...) and advance it. Jobs' own times
	// (created, started, completed) and the scheduler's leader lease use
	// the real clock. Default: the real clock.
	Clock clockwork.Clock
	// ScheduleFirers is how many schedule ticks are turned into jobs at
	// once (the rest wait their turn). Each fire waits for two fsyncs
	// (the job, then the schedule's LastTick) that concurrent fires share,
	// so more firers absorb a burst (many schedules on the same second)
	// faster; default 128.
	ScheduleFirers int
	// LeaderLease is how long the scheduler's leadership lasts without
	// renewal; the leader renews it every third of that. After a crash,
	// schedules resume (with their catch-up policy) within this time;
	// default 15 s.
	LeaderLease time.Duration
}

func (c Config) withDefaults() Config {
	if c.QueueLimit <= 0 {
		c.QueueLimit = 10000
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 16 << 20
	}
	if c.WaitLimit <= 0 {
		c.WaitLimit = 60 * time.Second
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.Retention == 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = 8
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.ScheduleFirers <= 0 {
		c.ScheduleFirers = 128
	}
	if c.LeaderLease <= 0 {
		c.LeaderLease = 15 * time.Second
	}
	c.Limits = c.Limits.WithDefaults()
	return c
}
