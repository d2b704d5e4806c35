// Package flow defines runlet's flow documents — Windmill's OpenFlow
// shape — and parses and validates them. A flow is a DAG of modules
// (scripts, loops, branches, sub-flows) whose inputs are computed from the
// flow's inputs and earlier results by input transforms. The server's
// orchestrator (server/flow_run.go) executes them.
package flow

import (
	"encoding/json"

	"github.com/runlet/runlet/internal/store"
)

// Flow is an OpenFlow document: what a user pushes and what is stored.
type Flow struct {
	Summary     string          `json:"summary"`
	Description string          `json:"description,omitempty"`
	Value       Value           `json:"value"`
	Schema      json.RawMessage `json:"schema,omitempty"` // JSON Schema of the flow's inputs
}

// Value is the body of a flow.
type Value struct {
	Modules       []Module `json:"modules"`
	FailureModule *Module  `json:"failure_module,omitempty"` // id "failure"
	// EarlyReturn names the module whose result a sync caller gets as soon
	// as it completes (the flow goes on).
	EarlyReturn string `json:"early_return,omitempty"`
	SkipExpr    string `json:"skip_expr,omitempty"` // flow-level: skip the run when true (over flow_input)
}

// Module is one step of a flow.
type Module struct {
	ID                  string          `json:"id"`
	Summary             string          `json:"summary,omitempty"`
	Value               ModuleValue     `json:"value"`
	StopAfterIf         *StopAfterIf    `json:"stop_after_if,omitempty"`
	StopAfterAllItersIf *StopAfterIf    `json:"stop_after_all_iters_if,omitempty"` // loops
	SkipIf              *SkipIf         `json:"skip_if,omitempty"`
	Sleep               *InputTransform `json:"sleep,omitempty"`     // seconds, after the step
	CacheTTL            int             `json:"cache_ttl,omitempty"` // seconds; 0: no cache
	Timeout             int             `json:"timeout,omitempty"`   // seconds; 0: the script's
	Suspend             *Suspend        `json:"suspend,omitempty"`
	Retry               *Retry          `json:"retry,omitempty"`
	ContinueOnError     bool            `json:"continue_on_error,omitempty"`
	Priority            int             `json:"priority,omitempty"`
	Mock                *Mock           `json:"mock,omitempty"`
}

// Module value types (the "type" discriminator).
const (
	TypeRawScript = "rawscript"
	TypeScript    = "script"
	TypeFlow      = "flow"
	TypeForLoop   = "forloopflow"
	TypeWhileLoop = "whileloopflow"
	TypeBranchOne = "branchone"
	TypeBranchAll = "branchall"
	TypeIdentity  = "identity"
)

// ModuleValue is a module's body; which fields apply depends on Type.
type ModuleValue struct {
	Type string `json:"type"`

	// rawscript
	Content  string `json:"content,omitempty"`
	Language string `json:"language,omitempty"` // normalized at parse: go, typescript, javascript
	Lock     string `json:"lock,omitempty"`
	// rawscript, script, flow
	Path            string                    `json:"path,omitempty"`
	Hash            string                    `json:"hash,omitempty"` // script: pinned version
	InputTransforms map[string]InputTransform `json:"input_transforms,omitempty"`
	IsTrigger       bool                      `json:"is_trigger,omitempty"`
	ConcurrentLimit int                       `json:"concurrent_limit,omitempty"`

	// forloopflow, whileloopflow
	Modules      []Module        `json:"modules,omitempty"`
	Iterator     *InputTransform `json:"iterator,omitempty"` // forloopflow
	SkipFailures bool            `json:"skip_failures,omitempty"`
	Parallel     bool            `json:"parallel,omitempty"` // loops and branchall
	Parallelism  int             `json:"parallelism,omitempty"`

	// branchone, branchall
	Branches []Branch `json:"branches,omitempty"`
	Default  []Module `json:"default,omitempty"` // branchone

	// identity
	Flow bool `json:"flow,omitempty"`
}

// Branch is one branch of a branchone (Expr) or branchall (SkipFailure).
type Branch struct {
	Summary     string   `json:"summary,omitempty"`
	Expr        string   `json:"expr,omitempty"`
	SkipFailure bool     `json:"skip_failure,omitempty"`
	Modules     []Module `json:"modules"`
}

// InputTransform computes one input: a static JSON value or a JavaScript
// expression over flow_input, results, previous_result.
type InputTransform struct {
	Type  string          `json:"type"` // static, javascript
	Value json.RawMessage `json:"value,omitempty"`
	Expr  string          `json:"expr,omitempty"`
}

// StopAfterIf ends the flow (or loop) after a module when Expr (over
// result, flow_input, results) is true. SkipIfStopped marks the run
// skipped rather than successful (trigger heads).
type StopAfterIf struct {
	Expr          string `json:"expr"`
	SkipIfStopped bool   `json:"skip_if_stopped,omitempty"`
	ErrorMessage  string `json:"error_message,omitempty"`
}

// SkipIf skips a module when Expr is true; its result is the previous one.
type SkipIf struct {
	Expr string `json:"expr"`
}

// Suspend makes the flow wait, after the module, for RequiredEvents
// approvals through signed resume URLs (or a cancel), up to Timeout
// seconds.
type Suspend struct {
	RequiredEvents              int  `json:"required_events,omitempty"` // default 1
	Timeout                     int  `json:"timeout,omitempty"`         // seconds; 0: the server's default
	ContinueOnDisapproveTimeout bool `json:"continue_on_disapprove_timeout,omitempty"`
}

// Mock replaces a module's run with a fixed result.
type Mock struct {
	Enabled     bool            `json:"enabled"`
	ReturnValue json.RawMessage `json:"return_value,omitempty"`
}

// Retry is Windmill's retry policy, the same as a script's.
type Retry = store.Retry
