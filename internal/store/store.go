// Package store defines runlet's persistent records and the Store
// interface the server's service layer uses. The default implementation is
// the embedded Badger store in internal/store/badgerstore; a distributed
// backend (NATS JetStream) will implement the same interface.
//
// Records are plain values; the store copies on the way in and out, so a
// caller may keep and change what it got back.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// Errors every implementation returns (wrapped with detail is fine; test
// with errors.Is).
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict") // duplicate id, stale parent hash, lost lease
)

// Workspace is a tenant: every other record belongs to one.
type Workspace struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Roles of users and tokens.
const (
	RoleAdmin     = "admin"
	RoleDeveloper = "developer"
	RoleOperator  = "operator" // runs and reads only
)

// User is a member of a workspace.
type User struct {
	Workspace string    `json:"workspace"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Token is an API token. Only its SHA-256 is stored; Prefix (the first
// characters of the token) identifies it in lists and for revocation.
type Token struct {
	Hash      string    `json:"hash"` // hex SHA-256 of the token
	Prefix    string    `json:"prefix"`
	Workspace string    `json:"workspace"`
	Owner     string    `json:"owner"` // user name; "" for a service token
	Role      string    `json:"role"`
	Label     string    `json:"label,omitempty"`
	Scopes    []string  `json:"scopes,omitempty"` // empty: everything the role allows
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

// Retry is a script's retry policy (Windmill's shape).
type Retry struct {
	Constant    *ConstantRetry    `json:"constant,omitempty"`
	Exponential *ExponentialRetry `json:"exponential,omitempty"`
}

// ConstantRetry waits Seconds between attempts.
type ConstantRetry struct {
	Attempts int `json:"attempts"`
	Seconds  int `json:"seconds"`
}

// ExponentialRetry waits Multiplier × Seconds^attempt (+ RandomFactor %).
type ExponentialRetry struct {
	Attempts     int `json:"attempts"`
	Multiplier   int `json:"multiplier"`
	Seconds      int `json:"seconds"`
	RandomFactor int `json:"random_factor,omitempty"`
}

// ScriptSettings are the settings of a script version that affect
// execution (they are part of its hash).
type ScriptSettings struct {
	Timeout          time.Duration     `json:"timeout,omitempty"`    // 0: the server default
	MaxMemory        int64             `json:"max_memory,omitempty"` // bytes; 0: the server default
	AllowedHosts     []string          `json:"allowed_hosts,omitempty"`
	AllowPrivate     bool              `json:"allow_private,omitempty"`
	Warm             bool              `json:"warm,omitempty"`
	Retry            *Retry            `json:"retry,omitempty"`
	ConcurrencyLimit int               `json:"concurrency_limit,omitempty"` // 0: unlimited
	Entry            string            `json:"entry,omitempty"`             // Extism export
	Env              map[string]string `json:"env,omitempty"`
}

// Script is one immutable version of a script at a path.
type Script struct {
	Workspace   string          `json:"workspace"`
	Path        string          `json:"path"`
	Hash        string          `json:"hash"` // 16 hex chars over everything that affects execution
	ParentHash  string          `json:"parent_hash,omitempty"`
	Language    string          `json:"language"` // go, typescript, javascript, wasm
	Kind        string          `json:"kind"`     // script, trigger
	Content     []byte          `json:"content"`
	Summary     string          `json:"summary,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Lock        json.RawMessage `json:"lock,omitempty"` // pinned dependencies (npm lock, Go lock)
	Settings    ScriptSettings  `json:"settings"`
	CreatedBy   string          `json:"created_by"`
	CreatedAt   time.Time       `json:"created_at"`
	Archived    bool            `json:"archived,omitempty"`
}

// Job statuses.
const (
	StatusQueued   = "queued"
	StatusRunning  = "running"
	StatusSuccess  = "success"
	StatusFailure  = "failure"
	StatusCanceled = "canceled"
	// StatusSkipped: a trigger script found nothing new (it returned an
	// empty array or null). Not a failure, not a success.
	StatusSkipped = "skipped"
)

// JobError is a failed job's error ({"name","message","stack"}).
type JobError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Stack   string `json:"stack,omitempty"`
}

// Job is one run of a script version.
type Job struct {
	ID           string          `json:"id"` // UUIDv7
	Workspace    string          `json:"workspace"`
	ScriptPath   string          `json:"script_path"`
	ScriptHash   string          `json:"script_hash"`
	Language     string          `json:"language,omitempty"`
	Args         json.RawMessage `json:"args"`
	Status       string          `json:"status"`
	Priority     int             `json:"priority,omitempty"` // higher runs first
	Trigger      string          `json:"trigger"`            // api, webhook, cli, schedule, child
	SchedulePath string          `json:"schedule_path,omitempty"`
	ParentJob    string          `json:"parent_job,omitempty"`
	RootJob      string          `json:"root_job,omitempty"`
	Depth        int             `json:"depth,omitempty"` // 0 for a top-level job
	CreatedBy    string          `json:"created_by"`
	CreatedAt    time.Time       `json:"created_at"`
	ScheduledFor time.Time       `json:"scheduled_for"` // not before; = CreatedAt unless delayed
	StartedAt    time.Time       `json:"started_at,omitzero"`
	CompletedAt  time.Time       `json:"completed_at,omitzero"`
	Attempt      int             `json:"attempt,omitempty"` // 0 for the first run
	// Retry overrides the script's retry policy (a schedule's); nil: the
	// script's.
	Retry        *Retry          `json:"retry,omitempty"`
	Result       json.RawMessage `json:"result,omitempty"`
	Error        *JobError       `json:"error,omitempty"`
	CancelReason string          `json:"cancel_reason,omitempty"`
	CanceledBy   string          `json:"canceled_by,omitempty"`
	// Lease: the runner that claimed a running job and until when.
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`

	// Kind is "" for a script's job, JobKindFlow for a flow run (then
	// ScriptPath is the flow's path and FlowVersion its version).
	Kind        string `json:"job_kind,omitempty"`
	FlowVersion int64  `json:"flow_version,omitempty"`
	// Flow is a flow run's progress, written by its orchestrator.
	Flow *FlowStatus `json:"flow_status,omitempty"`
	// StepID is the flow module a child job runs (e.g. "b", "c/2/d").
	StepID string `json:"flow_step_id,omitempty"`
	// FlowPath is, on a flow's child job, the flow's path (state keys
	// follow Windmill's {flow_path}/{step}_{trigger}).
	FlowPath string `json:"flow_path,omitempty"`
	// Task is the workflow-as-code task a child job runs instead of main;
	// Args is then {"args": <the task's arguments>}.
	Task string `json:"task,omitempty"`
	// Timeout overrides the script's timeout (a flow module's).
	Timeout time.Duration `json:"timeout,omitempty"`
}

// JobKindFlow marks a flow run.
const JobKindFlow = "flow"

// FlowStatus is a flow run's progress: one entry per top-level module
// (nested modules of loops and branches appear as their child jobs).
type FlowStatus struct {
	Step    int                `json:"step"` // index of the module running or next
	Modules []FlowModuleStatus `json:"modules"`
	Failure *FlowModuleStatus  `json:"failure_module,omitempty"`
	// EarlyReturn is the result handed to sync callers before the end.
	EarlyReturn json.RawMessage `json:"early_return,omitempty"`
}

// Flow module statuses.
const (
	FlowWaiting   = "waiting"
	FlowRunning   = "running"
	FlowSuspended = "suspended"
	FlowSuccess   = "success"
	FlowFailure   = "failure"
	FlowSkipped   = "skipped"
)

// FlowModuleStatus is one module's progress.
type FlowModuleStatus struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Status string `json:"status"`
	Job    string `json:"job,omitempty"` // the child job of a script step
	// Jobs are the child jobs of a loop's or branch's modules, in order.
	Jobs []string `json:"flow_jobs,omitempty"`
	// Iterations done (loops); Branch chosen (branchone, -1: default).
	Iterations int             `json:"iterations,omitempty"`
	Branch     *int            `json:"branch_chosen,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	// Approvals received while suspended.
	Approvers []string `json:"approvers,omitempty"`
}

// Flow is one version of a flow at a path. Definition is the OpenFlow
// document as pushed (validated by internal/flow); Steps maps each inline
// (rawscript) module id to the script version stored for it.
type Flow struct {
	Workspace   string            `json:"workspace"`
	Path        string            `json:"path"`
	Version     int64             `json:"version"` // 1, 2, … per path
	Summary     string            `json:"summary,omitempty"`
	Description string            `json:"description,omitempty"`
	Definition  json.RawMessage   `json:"definition"`
	Schema      json.RawMessage   `json:"schema,omitempty"`
	Steps       map[string]string `json:"steps,omitempty"`
	CreatedBy   string            `json:"created_by"`
	CreatedAt   time.Time         `json:"created_at"`
	Archived    bool              `json:"archived,omitempty"`
}

// Done reports whether the job reached a final status.
func (j *Job) Done() bool {
	return j.Status == StatusSuccess || j.Status == StatusFailure || j.Status == StatusCanceled || j.Status == StatusSkipped
}

// OK reports whether the job ended without an error (success or skipped).
func (j *Job) OK() bool { return j.Status == StatusSuccess || j.Status == StatusSkipped }

// JobFilter selects jobs for ListJobs; zero fields match everything.
type JobFilter struct {
	Workspace    string
	ScriptPath   string // exact
	PathPrefix   string
	SchedulePath string
	ParentJob    string
	Status       []string
	Limit        int    // 0: 100
	Before       string // job id to page from (exclusive), newest first
}

// Variable is a workspace variable; Secret values are encrypted at rest.
type Variable struct {
	Workspace   string    `json:"workspace"`
	Path        string    `json:"path"`
	Value       string    `json:"value"`
	Secret      bool      `json:"is_secret"`
	Description string    `json:"description,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Resource is a typed JSON value (a database connection, an API account).
type Resource struct {
	Workspace   string          `json:"workspace"`
	Path        string          `json:"path"`
	Type        string          `json:"resource_type"`
	Value       json.RawMessage `json:"value"`
	Description string          `json:"description,omitempty"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// Store is everything the service layer persists.
type Store interface {
	CreateWorkspace(ctx context.Context, w Workspace) error // ErrConflict if it exists
	GetWorkspace(ctx context.Context, id string) (*Workspace, error)
	ListWorkspaces(ctx context.Context) ([]Workspace, error)

	PutUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, ws, name string) (*User, error)
	ListUsers(ctx context.Context, ws string) ([]User, error)
	DeleteUser(ctx context.Context, ws, name string) error

	PutToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, hash string) (*Token, error)
	ListTokens(ctx context.Context, ws string) ([]Token, error)
	// DeleteTokens removes the workspace's tokens whose prefix starts with
	// prefix and returns how many; ErrNotFound when none matched.
	DeleteTokens(ctx context.Context, ws, prefix string) (int, error)

	// CreateScript stores a new version and makes it the path's latest.
	// When s.ParentHash is set it must be the current latest (else
	// ErrConflict); a version with the same hash is ErrConflict too.
	CreateScript(ctx context.Context, s Script) error
	GetScript(ctx context.Context, ws, path string) (*Script, error) // latest, not archived
	GetScriptByHash(ctx context.Context, ws, hash string) (*Script, error)
	ListScripts(ctx context.Context, ws, prefix string) ([]Script, error) // latest per path, sorted by path
	ScriptHistory(ctx context.Context, ws, path string) ([]Script, error) // newest first
	ArchiveScript(ctx context.Context, ws, path string, archived bool) error
	DeleteScript(ctx context.Context, ws, path string) error // every version

	PutVariable(ctx context.Context, v Variable) error
	GetVariable(ctx context.Context, ws, path string) (*Variable, error) // decrypted
	ListVariables(ctx context.Context, ws, prefix string) ([]Variable, error)
	DeleteVariable(ctx context.Context, ws, path string) error

	PutResource(ctx context.Context, r Resource) error
	GetResource(ctx context.Context, ws, path string) (*Resource, error)
	ListResources(ctx context.Context, ws, prefix string) ([]Resource, error)
	DeleteResource(ctx context.Context, ws, path string) error

	GetState(ctx context.Context, ws, key string) (json.RawMessage, error) // ErrNotFound on first read
	SetState(ctx context.Context, ws, key string, v json.RawMessage) error
	// CompareAndSetState sets v when the current value is old (nil: absent)
	// and reports whether it did.
	CompareAndSetState(ctx context.Context, ws, key string, old, v json.RawMessage) (bool, error)

	// Enqueue stores a new queued job. durable: return only after the
	// record survives a power loss (concurrent calls share one fsync);
	// otherwise it may sit in the write buffer. ErrConflict if the id
	// exists.
	Enqueue(ctx context.Context, j Job, durable bool) error
	// Claim takes the next runnable job (highest priority, then oldest
	// ScheduledFor, ScheduledFor <= now), marks it running with the given
	// lease, and returns it; nil, nil when there is none.
	Claim(ctx context.Context, owner string, now time.Time, lease time.Duration) (*Job, error)
	// NextScheduled is the earliest ScheduledFor of a queued job, or zero.
	NextScheduled(ctx context.Context) (time.Time, error)
	// Heartbeat extends a running job's lease; ErrConflict if owner lost it.
	Heartbeat(ctx context.Context, id, owner string, until time.Time) error
	// Finish writes a job's final status, result or error and removes it
	// from the queue (written with fsync when durable).
	Finish(ctx context.Context, j Job, durable bool) error
	// Requeue puts a running job back in the queue (retry or shutdown),
	// with j's Attempt and ScheduledFor.
	Requeue(ctx context.Context, j Job) error
	GetJob(ctx context.Context, ws, id string) (*Job, error)
	ListJobs(ctx context.Context, f JobFilter) ([]Job, error)
	QueueDepth(ctx context.Context) (int, error)
	// Running lists jobs in status running (after a restart: the ones the
	// previous process held).
	Running(ctx context.Context) ([]Job, error)
	// AppendLogs adds to a job's log text; Logs reads from byte offset.
	AppendLogs(ctx context.Context, id string, text []byte) error
	Logs(ctx context.Context, id string, offset int) ([]byte, error)
	// PurgeJobs deletes completed jobs (and their logs) finished before t.
	PurgeJobs(ctx context.Context, before time.Time) (int, error)

	// CreateSchedule stores a new schedule; ErrConflict if the path exists.
	CreateSchedule(ctx context.Context, sc Schedule) error
	// PutSchedule creates or replaces a schedule, run state included.
	PutSchedule(ctx context.Context, sc Schedule) error
	GetSchedule(ctx context.Context, ws, path string) (*Schedule, error)
	// ListSchedules returns the schedules whose path starts with prefix,
	// sorted by workspace then path; ws "" lists every workspace's (the
	// scheduler's view).
	ListSchedules(ctx context.Context, ws, prefix string) ([]Schedule, error)
	DeleteSchedule(ctx context.Context, ws, path string) error
	// UpdateSchedule applies fn to the stored schedule and writes the
	// result in one transaction (fn may run more than once when a
	// concurrent writer conflicts, so it must only change its argument).
	// An error from fn aborts the update and is returned. ErrNotFound when
	// the schedule does not exist. Returns the record as written. Durable
	// (the scheduler's LastTick depends on it).
	UpdateSchedule(ctx context.Context, ws, path string, fn func(*Schedule) error) (*Schedule, error)

	// CreateFlow stores a new version of a flow and makes it the path's
	// latest; it sets f.Version (the latest's + 1).
	CreateFlow(ctx context.Context, f *Flow) error
	// GetFlow returns version (0: the latest, ErrNotFound when archived).
	GetFlow(ctx context.Context, ws, path string, version int64) (*Flow, error)
	ListFlows(ctx context.Context, ws, prefix string) ([]Flow, error) // latest per path, not archived
	FlowHistory(ctx context.Context, ws, path string) ([]Flow, error) // newest first
	ArchiveFlow(ctx context.Context, ws, path string, archived bool) error
	DeleteFlow(ctx context.Context, ws, path string) error // every version
	// PutScriptVersion stores a script version by hash only (a flow's
	// inline script): no path points at it. Storing an existing hash is a
	// no-op.
	PutScriptVersion(ctx context.Context, s Script) error

	// UpdateFlowStatus writes a running flow job's progress: st's header
	// (Step, EarlyReturn, Failure) and the modules at the given indexes
	// (nil: all). GetJob returns it assembled in Job.Flow; Finish stores
	// the final one. ErrConflict unless the job is running under owner.
	UpdateFlowStatus(ctx context.Context, id, owner string, st *FlowStatus, modules []int) error
	// PutCheckpoint records a job's named checkpoint (a workflow step's
	// result, a task's start, a sleep's end, an approval).
	PutCheckpoint(ctx context.Context, jobID, name string, v json.RawMessage, durable bool) error
	// Checkpoints returns all of a job's checkpoints (empty map: none).
	Checkpoints(ctx context.Context, jobID string) (map[string]json.RawMessage, error)

	// AcquireLease takes or renews the lease name for owner until now+ttl
	// (the store's clock) and reports whether owner holds it: true when it
	// was free, expired or already owner's; false while another owner
	// holds it unexpired.
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up if owner holds it (a no-op otherwise),
	// so another node need not wait for it to expire.
	ReleaseLease(ctx context.Context, name, owner string) error

	// Backup writes a consistent copy of everything; Restore loads one into
	// an empty store.
	Backup(ctx context.Context, w io.Writer) error
	Restore(ctx context.Context, r io.Reader) error
	Close() error
}

// Schedule fires a script (or, later, a flow) on a cron expression.
type Schedule struct {
	Workspace   string         `json:"workspace"`
	Path        string         `json:"path"`
	Cron        string         `json:"schedule"`               // 5 or 6 fields (leading seconds)
	CronVersion string         `json:"cron_version,omitempty"` // "" / "v2" standard, "v1" Windmill legacy
	Timezone    string         `json:"timezone"`               // IANA; "" = UTC
	ScriptPath  string         `json:"script_path,omitempty"`
	FlowPath    string         `json:"flow_path,omitempty"` // flows come later
	Args        map[string]any `json:"args,omitempty"`
	Enabled     bool           `json:"enabled"`
	PausedUntil time.Time      `json:"paused_until,omitzero"`
	Summary     string         `json:"summary,omitempty"`
	NoOverlap   bool           `json:"no_overlap,omitempty"`
	CatchUp     string         `json:"catch_up,omitempty"` // "skip" (default) or "once"
	Retry       *Retry         `json:"retry,omitempty"`    // overrides the script's

	OnFailure          string         `json:"on_failure,omitempty"`       // handler script path
	OnFailureTimes     int            `json:"on_failure_times,omitempty"` // after N consecutive failures (default 1)
	OnFailureExtraArgs map[string]any `json:"on_failure_extra_args,omitempty"`
	OnRecovery         string         `json:"on_recovery,omitempty"`
	OnRecoveryExtra    map[string]any `json:"on_recovery_extra_args,omitempty"`
	OnSuccess          string         `json:"on_success,omitempty"`
	OnSuccessExtra     map[string]any `json:"on_success_extra_args,omitempty"`

	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	EditedBy  string    `json:"edited_by,omitempty"` // its jobs run as this user (Windmill's permissioned_as)
	EditedAt  time.Time `json:"edited_at"`

	// Run state, kept by the scheduler.
	//
	// LastTick is the last intended fire time handled: fired, or skipped
	// (no_overlap, catch-up skip, a refused run). Creating, enabling or
	// editing a schedule sets it to that instant, so earlier ticks never
	// count as missed. It only moves forward.
	LastTick            time.Time `json:"last_tick,omitzero"`
	LastJob             string    `json:"last_job,omitempty"` // the job of the last fired tick
	ConsecutiveFailures int       `json:"consecutive_failures,omitempty"`
	LastFailedJob       string    `json:"last_failed_job,omitempty"` // for on_recovery's error arguments
	LastError           string    `json:"error,omitempty"`           // the last scheduling error; "" after a fire
}
