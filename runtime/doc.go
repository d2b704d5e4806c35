// Package runtime is runlet's execution engine: it compiles guest modules
// once, keeps instances ready in killable worker processes, runs jobs under
// per-script [Limits], and reports failures as typed errors.
//
// Guests never run on the server's goroutines. Each worker process runs one
// guest at a time at full speed (no wazero CloseOnContextDone); a rewritten
// module checks a stop flag at every loop header (a soft stop costing ~5%),
// and the parent kills the worker when a guest overruns its deadline by a
// grace period. See RATIONALE.md for the measurements behind this design.
//
// Note: this package is named runtime; files that also need Go's runtime
// package import it as goruntime.
package runtime
