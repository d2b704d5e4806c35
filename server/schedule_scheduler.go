package server

// The scheduler turns stored schedules into jobs.
//
// # How gocron drives it
//
// Each enabled schedule is one gocron CronJob whose fire times come from
// internal/cron through gocron's own hook for that, WithCronImplementation
// (gocron.Cron: IsValid and Next). gocron's built-in parser (robfig/cron)
// lacks our daylight-saving rules (a fixed wall time fires once at its
// first occurrence; wildcard hours fire in both passes of a repeated hour)
// and Windmill's v1 dialect, so it never parses anything here. The hook
// keeps gocron doing what it is good at — one timer per job on an
// injectable clock, a bounded pool of goroutines running the due tasks
// (WithLimitConcurrentJobs), a leader check before each run
// (WithDistributedElector) — with no re-arming code of ours, which a
// OneTimeJob re-created after every fire would need. Our Next returns UTC
// instants and the scheduler runs in UTC, so gocron's own fall-back
// de-duplication (which compares wall-clock fields of consecutive runs)
// never triggers: every instant internal/cron yields is fired.
//
// gocron is only the alarm clock. What a wake does is decided from the
// store: the task reads the schedule, and fires every tick after its
// LastTick up to now, each into a job whose id is derived from (workspace,
// schedule path, tick) — see tickJobID — and then advances LastTick
// (fsync'd). A crash after the enqueue and before the LastTick write makes
// the next process enqueue that tick again: Enqueue refuses the duplicate
// id (ErrConflict), which counts as fired. So a tick is never fired twice,
// and a tick is never dropped by a restart: ticks missed while no
// scheduler ran follow the schedule's catch-up policy.
//
// # Missed and late ticks
//
// Ticks at or before the instant this process became the leader ("since")
// and after LastTick passed with no scheduler running: catch_up "skip"
// (the default) records the latest as handled without a job; "once" fires
// one job for the latest. Ticks after since are live: each fires, in
// order, even when the wake comes late (a loaded machine) — unless more
// than maxLiveBurst are due at once (the process was stopped or the
// machine suspended), when only the latest fires and the gap is logged.
//
// # Leadership
//
// Only the holder of the store lease "scheduler" arms gocron jobs. Every
// node runs the lease loop: it renews (or tries to take) the lease every
// LeaderLease/3 on the real clock. A node that becomes leader lists the
// schedules and arms them; one that fails to renew shuts its gocron
// scheduler down, and the elector refuses every run once the lease may
// have expired (a sixth of the lease before its end, for clock skew), so
// a node cut off from the store stops firing before another can take
// over. The leader re-lists every reconcileEvery to pick up edits made
// through other nodes; edits through this node apply at once. On a clean
// shutdown the lease is released so a successor need not wait.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/runlet/runlet/internal/cron"
	"github.com/runlet/runlet/internal/store"
)

const (
	// leaseName is the store lease the scheduler's leader holds.
	leaseName = "scheduler"
	// maxLiveBurst bounds the live ticks one wake fires one by one.
	maxLiveBurst = 60
	// reconcileEvery is how often the leader re-reads every schedule.
	reconcileEvery = time.Minute
)

var errNotLeader = errors.New("not the scheduler's leader")

// scheduler arms the enabled schedules while this process holds the
// leader lease. Start and Stop are its lifecycle; Stop is idempotent and
// safe before Start.
type scheduler struct {
	svc    *Service
	st     store.Store
	log    *slog.Logger
	clock  clockwork.Clock
	owner  string
	ttl    time.Duration
	firers int

	// until is when this process's leadership may have lapsed (real
	// clock, Unix ns); 0: not the leader.
	until atomic.Int64

	mu            sync.Mutex
	ctx           context.Context // the wakes' context (Start's)
	gs            gocron.Scheduler
	since         time.Time // when this leadership began (scheduler clock)
	entries       map[string]*entry
	lastReconcile time.Time
	started       bool
	stopped       bool
	cancel        context.CancelFunc
	done          chan struct{}
}

// entry is one armed schedule.
type entry struct {
	ws, path string
	mu       sync.Mutex // one wake at a time
	since    time.Time  // the leadership's start, when armed
	job      uuid.UUID  // its gocron job
	timing   string     // what it was armed with (timingKey)
}

func newScheduler(svc *Service) *scheduler {
	return &scheduler{
		svc: svc, st: svc.st, log: svc.log.With("component", "scheduler"), clock: svc.cfg.Clock,
		owner: svc.owner, ttl: svc.cfg.LeaderLease, firers: svc.cfg.ScheduleFirers,
	}
}

// Start tries to take the lease at once (a single node leads from its
// first second), then keeps renewing it in the background until ctx ends
// or Stop.
func (sc *scheduler) Start(ctx context.Context) error {
	sc.mu.Lock()
	if sc.started || sc.stopped {
		sc.mu.Unlock()
		return nil
	}
	sc.started = true
	ctx, sc.cancel = context.WithCancel(ctx)
	sc.ctx = ctx
	sc.done = make(chan struct{})
	sc.mu.Unlock()
	err := sc.renew(ctx)
	go sc.loop(ctx)
	return err
}

// Stop stops firing, waits for wakes in progress, and releases the lease.
func (sc *scheduler) Stop() {
	sc.mu.Lock()
	if sc.stopped {
		sc.mu.Unlock()
		return
	}
	sc.stopped = true
	started := sc.started
	sc.mu.Unlock()
	if !started {
		return
	}
	sc.cancel()
	<-sc.done
	sc.follow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sc.st.ReleaseLease(ctx, leaseName, sc.owner); err != nil {
		sc.log.Warn("releasing the scheduler lease failed", "err", err)
	}
}

func (sc *scheduler) loop(ctx context.Context) {
	defer close(sc.done)
	t := time.NewTicker(sc.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := sc.renew(ctx); err != nil && ctx.Err() == nil {
			sc.log.Error("scheduler", "err", err)
		}
	}
}

// renew takes or renews the lease and leads or follows accordingly.
func (sc *scheduler) renew(ctx context.Context) error {
	start := time.Now()
	held, err := sc.st.AcquireLease(ctx, leaseName, sc.owner, sc.ttl)
	switch {
	case err != nil:
		if !sc.leader() {
			sc.follow()
		}
		return fmt.Errorf("scheduler lease: %w", err)
	case !held:
		if sc.leading() {
			sc.log.Warn("lost the scheduler lease: no longer firing schedules")
		}
		sc.until.Store(0)
		sc.follow()
		return nil
	}
	sc.until.Store(start.Add(sc.ttl - sc.ttl/6).UnixNano())
	if !sc.leading() {
		return sc.lead(ctx)
	}
	sc.mu.Lock()
	due := time.Since(sc.lastReconcile) >= reconcileEvery
	sc.mu.Unlock()
	if due {
		return sc.reconcile(ctx)
	}
	return nil
}

// leader reports whether the lease is ours and cannot have lapsed.
func (sc *scheduler) leader() bool { return time.Now().UnixNano() < sc.until.Load() }

// IsLeader is gocron's Elector: a run starts only while leader() holds.
func (sc *scheduler) IsLeader(context.Context) error {
	if !sc.leader() {
		return errNotLeader
	}
	return nil
}

// leading reports whether gocron jobs are armed.
func (sc *scheduler) leading() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.gs != nil
}

// lead creates a gocron scheduler and arms every enabled schedule.
func (sc *scheduler) lead(ctx context.Context) error {
	gs, err := gocron.NewScheduler(
		gocron.WithClock(sc.clock),
		gocron.WithLocation(time.UTC),
		gocron.WithLimitConcurrentJobs(uint(sc.firers), gocron.LimitModeWait),
		gocron.WithDistributedElector(sc),
		gocron.WithStopTimeout(10*time.Second),
	)
	if err != nil {
		return err
	}
	// The list is read under sc.mu, so an edit made meanwhile (changed)
	// waits and applies on top of it.
	sc.mu.Lock()
	if sc.stopped || sc.gs != nil {
		sc.mu.Unlock()
		gs.Shutdown()
		return nil
	}
	all, err := sc.st.ListSchedules(ctx, "", "")
	if err != nil {
		sc.mu.Unlock()
		gs.Shutdown()
		return fmt.Errorf("list schedules: %w", err)
	}
	sc.gs, sc.since, sc.entries, sc.lastReconcile = gs, sc.clock.Now(), map[string]*entry{}, time.Now()
	armed := 0
	for i := range all {
		if all[i].Enabled && sc.armLocked(&all[i]) {
			armed++
		}
	}
	sc.mu.Unlock()
	gs.Start()
	sc.log.Info("leading the scheduler", "schedules", armed, "since", sc.since.UTC().Format(time.RFC3339))
	return nil
}

// follow disarms everything (after the lease is lost, or at Stop). It
// waits for wakes in progress.
func (sc *scheduler) follow() {
	sc.mu.Lock()
	gs := sc.gs
	sc.gs, sc.entries = nil, nil
	sc.mu.Unlock()
	if gs != nil {
		if err := gs.Shutdown(); err != nil {
			sc.log.Warn("stopping gocron", "err", err)
		}
	}
}

// reconcile re-reads every schedule: arms new and changed ones, disarms
// deleted and disabled ones (edits made through other nodes).
func (sc *scheduler) reconcile(ctx context.Context) error {
	sc.mu.Lock() // as in lead: no edit through this node interleaves
	defer sc.mu.Unlock()
	if sc.gs == nil {
		return nil
	}
	all, err := sc.st.ListSchedules(ctx, "", "")
	if err != nil {
		return fmt.Errorf("list schedules: %w", err)
	}
	sc.lastReconcile = time.Now()
	seen := make(map[string]bool, len(all))
	for i := range all {
		if all[i].Enabled {
			seen[entryKey(all[i].Workspace, all[i].Path)] = true
			sc.armLocked(&all[i])
		}
	}
	for k, e := range sc.entries {
		if !seen[k] {
			sc.disarmLocked(e)
		}
	}
	return nil
}

// changed applies an edit made through this node: (re)arms rec when
// enabled, disarms it otherwise. Not leading: nothing (the leader's
// reconcile picks it up).
func (sc *scheduler) changed(rec *store.Schedule) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.gs == nil {
		return
	}
	if rec.Enabled {
		sc.armLocked(rec)
	} else if e := sc.entries[entryKey(rec.Workspace, rec.Path)]; e != nil {
		sc.disarmLocked(e)
	}
}

// deleted disarms a deleted schedule.
func (sc *scheduler) deleted(ws, path string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if e := sc.entries[entryKey(ws, path)]; e != nil && sc.gs != nil {
		sc.disarmLocked(e)
	}
}

func entryKey(ws, path string) string { return ws + "\x00" + path }

// timingKey is what arming depends on.
func timingKey(rec *store.Schedule) string {
	return rec.Cron + "\x00" + rec.CronVersion + "\x00" + rec.Timezone + "\x00" + rec.PausedUntil.UTC().Format(time.RFC3339Nano)
}

// armLocked arms (or re-arms, when its timing changed) one schedule and
// reports whether it is armed. sc.mu is held and sc.gs is set.
func (sc *scheduler) armLocked(rec *store.Schedule) bool {
	k := entryKey(rec.Workspace, rec.Path)
	e := sc.entries[k]
	timing := timingKey(rec)
	if e != nil && e.timing == timing {
		return true
	}
	cs, loc, err := scheduleTiming(rec)
	if err != nil {
		sc.log.Error("schedule not armed", "workspace", rec.Workspace, "schedule", rec.Path, "err", err)
		if e != nil {
			sc.disarmLocked(e)
		}
		return false
	}
	if e == nil {
		e = &entry{ws: rec.Workspace, path: rec.Path, since: sc.since}
	} else if err := sc.gs.RemoveJob(e.job); err != nil && !errors.Is(err, gocron.ErrJobNotFound) {
		sc.log.Warn("re-arming a schedule", "schedule", rec.Path, "err", err)
	}
	opts := []gocron.JobOption{
		gocron.WithCronImplementation(&cronHook{sched: cs, loc: loc, pausedUntil: rec.PausedUntil}),
		gocron.WithName(rec.Workspace + ":" + rec.Path),
	}
	// Ticks already due (missed while no scheduler ran): wake at once.
	if next, err := cs.Next(fireBase(rec), loc); err == nil && !next.After(sc.clock.Now()) {
		opts = append(opts, gocron.WithStartAt(gocron.WithStartImmediately()))
	}
	j, err := sc.gs.NewJob(gocron.CronJob(rec.Cron, true), gocron.NewTask(sc.wake, e), opts...)
	if err != nil {
		sc.log.Error("schedule not armed", "workspace", rec.Workspace, "schedule", rec.Path, "err", err)
		delete(sc.entries, k)
		return false
	}
	e.job, e.timing = j.ID(), timing
	sc.entries[k] = e
	return true
}

func (sc *scheduler) disarmLocked(e *entry) {
	if err := sc.gs.RemoveJob(e.job); err != nil && !errors.Is(err, gocron.ErrJobNotFound) {
		sc.log.Warn("disarming a schedule", "schedule", e.path, "err", err)
	}
	delete(sc.entries, entryKey(e.ws, e.path))
}

// disarm disarms e if it is still the armed entry (from a wake that found
// its schedule gone or disabled).
func (sc *scheduler) disarm(e *entry) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.gs != nil && sc.entries[entryKey(e.ws, e.path)] == e {
		sc.disarmLocked(e)
	}
}

// cronHook is gocron's Cron over internal/cron, in the schedule's zone,
// skipping ticks before paused_until.
type cronHook struct {
	sched       *cron.Schedule
	loc         *time.Location
	pausedUntil time.Time
}

var _ gocron.Cron = (*cronHook)(nil)

// IsValid accepts: the service validated the expression when saving.
func (c *cronHook) IsValid(string, *time.Location, time.Time) error { return nil }

// Next is the first fire time after t, in UTC. It is never zero (gocron
// would loop): an expression that never fires again gets a time a
// century away.
func (c *cronHook) Next(t time.Time) time.Time {
	from := t
	if p := c.pausedUntil.Add(-time.Nanosecond); p.After(from) {
		from = p
	}
	next, err := c.sched.Next(from, c.loc)
	if err != nil {
		return from.AddDate(100, 0, 0).UTC()
	}
	return next.UTC()
}

// scheduleTiming parses a stored schedule's expression and zone.
func scheduleTiming(rec *store.Schedule) (*cron.Schedule, *time.Location, error) {
	cs, err := cron.Parse(rec.Cron, rec.CronVersion)
	if err != nil {
		return nil, nil, err
	}
	loc, err := loadZone(rec.Timezone)
	if err != nil {
		return nil, nil, fmt.Errorf("timezone %q: %w", rec.Timezone, err)
	}
	return cs, loc, nil
}

// zones caches time.LoadLocation, which reads the zone's file and
// allocates its tables (~2.5 KB) at each call.
var zones sync.Map // name → *time.Location

func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}

// fireBase is the instant after which a schedule's ticks are due: its
// LastTick, or just before paused_until when that is later.
func fireBase(rec *store.Schedule) time.Time {
	base := rec.LastTick
	if p := rec.PausedUntil.Add(-time.Nanosecond); !rec.PausedUntil.IsZero() && p.After(base) {
		base = p
	}
	return base
}

// latestTick is the last tick at or before bound, given first, a tick at
// or before bound. It probes backwards in growing windows so that the walk
// forward stays short whatever the gap (a year of downtime of an
// every-second schedule takes a few steps, not 31 million).
func latestTick(cs *cron.Schedule, loc *time.Location, first, bound time.Time) time.Time {
	t := first
	for _, w := range []time.Duration{time.Second, time.Minute, time.Hour, 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour} {
		probe := bound.Add(-w)
		if !probe.After(first) {
			break
		}
		if n, err := cs.Next(probe, loc); err == nil && !n.After(bound) {
			t = n
			break
		}
	}
	for {
		n, err := cs.Next(t, loc)
		if err != nil || n.After(bound) {
			return t
		}
		t = n
	}
}

// wake is the gocron task of schedule e: it fires what is due.
func (sc *scheduler) wake(e *entry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	sc.mu.Lock()
	ctx := sc.ctx
	sc.mu.Unlock()
	rec, err := sc.st.GetSchedule(ctx, e.ws, e.path)
	switch {
	case errors.Is(err, store.ErrNotFound):
		go sc.disarm(e)
		return
	case err != nil:
		sc.log.Error("reading a schedule to fire it", "schedule", e.path, "err", err)
		return
	case !rec.Enabled:
		go sc.disarm(e)
		return
	}
	cs, loc, err := scheduleTiming(rec)
	if err != nil {
		sc.log.Error("schedule cannot fire", "schedule", e.path, "err", err)
		return
	}
	now := sc.clock.Now()
	base := fireBase(rec)
	// Ticks that passed while no scheduler ran: the catch-up policy.
	if first, err := cs.Next(base, loc); err == nil && !first.After(e.since) {
		latest := latestTick(cs, loc, first, e.since)
		if rec.CatchUp == catchUpOnce {
			sc.log.Info("catching up missed ticks with one run", "workspace", rec.Workspace, "schedule", rec.Path, "from", first, "scheduled_for", latest)
			if rec, err = sc.fire(ctx, rec, latest); err != nil {
				return
			}
		} else {
			sc.log.Info("skipping ticks missed while no scheduler ran", "workspace", rec.Workspace, "schedule", rec.Path, "from", first, "to", latest)
			if rec, err = sc.advance(ctx, rec, latest, "", ""); err != nil {
				return
			}
		}
		base = latest
	}
	// Live ticks: each one.
	for n := 0; ; n++ {
		t, err := cs.Next(base, loc)
		if err != nil || t.After(now) {
			return
		}
		if n == maxLiveBurst {
			latest := latestTick(cs, loc, t, now)
			sc.log.Warn("more ticks due at once than a wake fires (was the process stopped?): firing only the latest",
				"workspace", rec.Workspace, "schedule", rec.Path, "skipped_from", t, "scheduled_for", latest)
			t = latest
		}
		if !sc.leader() {
			return
		}
		if rec, err = sc.fire(ctx, rec, t); err != nil || n == maxLiveBurst {
			return
		}
		base = t
	}
}

// fire turns one tick into a job (or skips it under no_overlap) and
// advances LastTick. An error means the tick stays due (a store failure,
// shutdown): the next wake tries again.
func (sc *scheduler) fire(ctx context.Context, rec *store.Schedule, tick time.Time) (*store.Schedule, error) {
	log := sc.log.With("workspace", rec.Workspace, "schedule", rec.Path, "scheduled_for", tick)
	if rec.NoOverlap && rec.LastJob != "" {
		if j, err := sc.st.GetJob(ctx, rec.Workspace, rec.LastJob); err == nil && !j.Done() {
			log.Info("tick skipped: the previous run is still going (no_overlap)", "job", j.ID, "status", j.Status)
			return sc.advance(ctx, rec, tick, "", rec.LastError)
		}
	}
	id := tickJobID(rec.Workspace, rec.Path, tick)
	req := RunRequest{
		Path: rec.ScriptPath, Args: rec.Args, JobID: id, ScheduledFor: tick,
		Trigger: triggerSchedule, SchedulePath: rec.Path, Retry: rec.Retry,
	}
	if rec.FlowPath != "" {
		req.Path, req.Flow, req.Retry = rec.FlowPath, true, nil
	}
	_, err := sc.svc.Run(ctx, scheduleActor(rec), rec.Workspace, req)
	var ae *Error
	switch {
	case err == nil:
		log.Debug("fired", "job", id)
	case errors.As(err, &ae) && ae.Status == 409:
		// Enqueued by an earlier process that stopped before recording it.
		log.Info("tick already fired", "job", id)
	case errors.As(err, &ae):
		// Refused (the script is gone, the arguments no longer fit, the
		// queue is full): the tick is spent and the error kept.
		log.Warn("tick not fired", "err", err)
		return sc.advance(ctx, rec, tick, "", fmt.Sprintf("%s: %s", tick.UTC().Format(time.RFC3339), ae.Message))
	default:
		if ctx.Err() == nil {
			log.Error("firing a tick failed; it stays due", "err", err)
		}
		return rec, err
	}
	return sc.advance(ctx, rec, tick, id, "")
}

// advance records tick as handled (LastTick only moves forward), with the
// job it fired and the scheduling error ("" clears it).
func (sc *scheduler) advance(ctx context.Context, rec *store.Schedule, tick time.Time, job, lastErr string) (*store.Schedule, error) {
	up, err := sc.st.UpdateSchedule(ctx, rec.Workspace, rec.Path, func(s *store.Schedule) error {
		if tick.After(s.LastTick) {
			s.LastTick = tick.UTC()
		}
		if job != "" {
			s.LastJob = job
		}
		s.LastError = lastErr
		return nil
	})
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			sc.log.Error("recording a schedule's tick failed", "schedule", rec.Path, "err", err)
		}
		return rec, err
	}
	return up, nil
}

// scheduleActor is who a schedule's jobs run as: its last editor, with a
// developer's rights in its workspace (Windmill's permissioned_as).
func scheduleActor(rec *store.Schedule) *Principal {
	user := rec.EditedBy
	if user == "" {
		user = rec.CreatedBy
	}
	return &Principal{Workspace: rec.Workspace, User: user, Role: store.RoleDeveloper}
}

// tickJobID is the id of a schedule's job for one tick: a UUIDv7 whose
// timestamp is the tick and whose other bits are a SHA-256 of (workspace,
// path, tick). The same tick always gets the same id — so an enqueue
// repeated after a crash is refused as a duplicate — and ids still sort by
// time, as ListJobs expects.
func tickJobID(ws, path string, tick time.Time) string {
	return derivedID(tick, "tick", ws, path, strconv.FormatInt(tick.UnixNano(), 10))
}

// derivedID is a UUIDv7 with at's millisecond timestamp and the rest
// taken from a hash of parts.
func derivedID(at time.Time, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	var u uuid.UUID
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(max(at.UnixMilli(), 0)))
	copy(u[:6], ms[2:])
	copy(u[6:], sum[:10])
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String()
}
