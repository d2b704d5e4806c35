package host

import (
	"context"
	"sync"

	"github.com/runlet/runlet/host/fetch"
	"github.com/runlet/runlet/pdk"
)

// Caller carries out the host calls that need the job's owner: state,
// variables, resources and child jobs. The server implements it against its
// store and queue; `runlet run` keeps state in memory.
type Caller interface {
	Call(ctx context.Context, op pdk.Op, req []byte) ([]byte, error)
}

// ErrUnsupported may be returned by a Caller for an operation it does not
// offer; the guest sees status "unsupported".
var ErrUnsupported = unsupportedError{}

type unsupportedError struct{}

func (unsupportedError) Error() string { return "not supported by this host" }

// Job is everything one guest call may use and everything it hands back.
// Create one per job; it is not reusable.
type Job struct {
	Logs         *Logs          // log lines (required)
	MaxResult    int64          // result and error document byte limit
	MaxHostCalls int            // host calls allowed per job; 0 means unlimited
	Caller       Caller         // state, variables, resources, child jobs; nil answers "unsupported"
	Fetcher      *fetch.Fetcher // outbound HTTP; nil denies all HTTP
	Policy       fetch.Policy   // where HTTP may go
	Stop         func()         // asks the guest to stop (used when a limit is exceeded)

	mu      sync.Mutex
	result  []byte
	failure []byte
	limit   *LimitError
	pending []byte
	calls   int
}

// LimitError reports that the guest exceeded one of the job's limits.
type LimitError struct {
	Kind  string // "result", "logs", "host calls"
	Limit int64
}

func (e *LimitError) Error() string {
	return "limit exceeded: " + e.Kind
}

// Result returns the JSON result the guest set, if any.
func (j *Job) Result() []byte { j.mu.Lock(); defer j.mu.Unlock(); return j.result }

// Failure returns the error document the guest set, if any.
func (j *Job) Failure() []byte { j.mu.Lock(); defer j.mu.Unlock(); return j.failure }

// Limit returns the limit the guest exceeded, if any.
func (j *Job) Limit() *LimitError {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.limit == nil && j.Logs != nil && j.Logs.Overflowed() {
		return &LimitError{Kind: "logs", Limit: j.Logs.max}
	}
	return j.limit
}

func (j *Job) exceed(kind string, limit int64) {
	j.mu.Lock()
	if j.limit == nil {
		j.limit = &LimitError{Kind: kind, Limit: limit}
	}
	j.mu.Unlock()
	if j.Stop != nil {
		j.Stop()
	}
}

type jobKey struct{}

// WithJob returns a context carrying j to the host functions.
func WithJob(ctx context.Context, j *Job) context.Context {
	return context.WithValue(ctx, jobKey{}, j)
}

func jobFrom(ctx context.Context) *Job {
	j, _ := ctx.Value(jobKey{}).(*Job)
	return j
}

// The methods below serve guests that reach the host through another ABI
// (Extism plugins, whose host functions belong to the Extism SDK). They
// apply the same budgets and policy as the runlet import, but return a
// limit as an error instead of trapping the guest: the caller decides how
// to end the call.

// Log adds one guest log line. It counts as a host call; past the log
// budget the job records a "logs" LimitError and asks the guest to stop.
// It returns the job's LimitError once one is recorded.
func (j *Job) Log(level Level, text string) error {
	if err := j.count(); err != nil {
		return err
	}
	if level > LevelError {
		level = LevelError
	}
	j.Logs.Add(level, text)
	if j.Logs.Overflowed() {
		j.exceed("logs", j.Logs.max)
	}
	if l := j.Limit(); l != nil {
		return l
	}
	return nil
}

// Fetch sends an outbound HTTP request for the guest, exactly as the
// runlet import's OpHTTP call does: it counts as a host call and goes
// through the job's Fetcher under its Policy (no Fetcher: refused).
func (j *Job) Fetch(ctx context.Context, r fetch.Request) (*fetch.Response, error) {
	if err := j.count(); err != nil {
		return nil, err
	}
	return j.fetch(ctx, r)
}
