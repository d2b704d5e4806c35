package wasmrewrite

import (
	"errors"
	"fmt"
)

// The sentinel errors below are wrapped by the errors Rewrite returns (which
// carry a "wasmrewrite: " prefix and details); test for them with errors.Is.
var (
	// ErrMalformed is wrapped by every error caused by input that is not a
	// well-formed WebAssembly binary (bad magic, truncation, bad LEB128,
	// section overruns, sections out of order, a branch to a label that
	// does not exist, ...).
	ErrMalformed = errors.New("malformed module")

	// ErrUnsupported is wrapped by errors for well-formed input the rewriter
	// does not understand, such as SIMD (0xFD) or an unknown opcode. The
	// rewriter refuses such modules rather than risk producing a broken one.
	ErrUnsupported = errors.New("unsupported")

	// ErrAlreadyRewritten is wrapped by the error for a module that already exports
	// StopGlobalName, i.e. it is the output of an earlier Rewrite.
	ErrAlreadyRewritten = errors.New("module already rewritten (it exports " + StopGlobalName + ")")
)

// malformedf returns an error wrapping ErrMalformed that reports the byte
// offset in the module at which the problem was detected.
func malformedf(off int, format string, args ...any) error {
	return fmt.Errorf("%w: %s (at offset %d)", ErrMalformed, fmt.Sprintf(format, args...), off)
}

// unsupportedf returns an error wrapping ErrUnsupported.
func unsupportedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}
