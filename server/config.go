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

	// FlowMaxModules bounds the modules of one flow, nested ones included;
	// default 1,000.
	FlowMaxModules int
	// FlowMaxIterations caps a while-loop's iterations (the run fails
	// beyond it) and a for-loop's items; default 10,000.
	FlowMaxIterations int
	// ExprTimeout and ExprMemory bound one evaluation of a flow's
	// JavaScript expressions (in the sandbox); defaults 1 s and 64 MiB.
	ExprTimeout time.Duration
	ExprMemory  int64
	// StepFsync makes every flow step's end and workflow checkpoint reach
	// the disk (fsync, shared by concurrent writers) before the flow goes
	// on: completed steps then survive a power loss. Default false: they
	// survive a process crash (kill -9; the record is in the store's log in
	// the kernel's page cache), and after a power loss the steps finished
	// since the last fsync run again. The flow run itself is always
	// fsync'd when accepted.
	StepFsync *bool
	// PublicURL is the base of the resume/cancel URLs of suspended flow
	// steps and approvals (e.g. https://runlet.example.com); default
	// http://<listen address>.
	PublicURL string
	// ResumeKey signs resume URLs (HMAC-SHA256); default: a random key
	// kept in DataDir/resume.key (created on first start).
	ResumeKey []byte
	// SuspendTimeout is how long a suspended step waits for approval when
	// the module sets no timeout; default 30 minutes.
	SuspendTimeout time.Duration
}

// stepFsync reports whether flow steps and checkpoints are fsync'd.
func (c Config) stepFsync() bool { return c.StepFsync != nil && *c.StepFsync }

func (c Config) withDefaults() Config {
	if c.QueueLimit <= 0 {
		c.QueueLimit = 10000
	}
	if c.FlowMaxModules <= 0 {
		c.FlowMaxModules = 1000
	}
	if c.FlowMaxIterations <= 0 {
		c.FlowMaxIterations = 10000
	}
	if c.ExprTimeout <= 0 {
		c.ExprTimeout = time.Second
	}
	if c.ExprMemory <= 0 {
		c.ExprMemory = 64 << 20
	}
	if c.SuspendTimeout <= 0 {
		c.SuspendTimeout = 30 * time.Minute
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
