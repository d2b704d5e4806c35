package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runlet/runlet/host"
)

// Sentinels.
var (
	// ErrClosed is returned by an engine that was stopped.
	ErrClosed = errors.New("runtime: engine stopped")
	// ErrWorkerLost is returned when a worker process died for a reason
	// other than a deadline (the job may be retried).
	ErrWorkerLost = errors.New("runtime: worker process lost")
)

// TimeoutError reports a job stopped at its deadline. It satisfies
// errors.Is(err, context.DeadlineExceeded).
type TimeoutError struct {
	Limit time.Duration
	Hard  bool   // the worker process had to be killed
	Stack string // where the script was, when it stopped itself (JS)
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timeout: job exceeded its %s limit", e.Limit)
}

// Is reports true for context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// OutOfMemoryError reports a guest that needed more linear memory than its
// limit allowed.
type OutOfMemoryError struct {
	Limit int64
}

func (e *OutOfMemoryError) Error() string {
	return fmt.Sprintf("out of memory: guest exceeded its %s memory limit", FormatSize(e.Limit))
}

// ScriptError is a failure of the script itself: it returned an error or
// panicked.
type ScriptError struct {
	Message string
	Stack   string
	Panic   bool
}

func (e *ScriptError) Error() string { return e.Message }

// ExitError reports a guest that called exit (os.Exit) with a code.
type ExitError struct {
	Code uint32
}

func (e *ExitError) Error() string { return fmt.Sprintf("exit: script exited with code %d", e.Code) }

// LimitError reports a guest that exceeded a limit other than time and
// memory: "result", "logs" or "host calls".
type LimitError = host.LimitError

// ModuleError is a module the engine could not compile or load.
type ModuleError struct {
	Message string
}

func (e *ModuleError) Error() string { return "module: " + e.Message }

// TrapError is a guest that crashed in a way it could not report itself
// (a Wasm trap other than a stop or an out-of-memory abort).
type TrapError struct {
	Message string
}

func (e *TrapError) Error() string { return "guest crashed: " + e.Message }

// ErrorName returns the CLI and API name of err's kind: "Timeout",
// "OutOfMemory", "LimitExceeded", "Exit", "ScriptError", "Canceled", or
// "InternalError" for everything else.
func ErrorName(err error) string {
	var (
		oom  *OutOfMemoryError
		lim  *LimitError
		exit *ExitError
		se   *ScriptError
		trap *TrapError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout"
	case errors.As(err, &oom):
		return "OutOfMemory"
	case errors.As(err, &lim):
		return "LimitExceeded"
	case errors.As(err, &exit):
		return "Exit"
	case errors.As(err, &se), errors.As(err, &trap):
		return "ScriptError"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	}
	return "InternalError"
}
