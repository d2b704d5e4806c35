// Package pdk is the guest-side kit that runlet scripts import.
//
// A Go script never calls the ABI directly: runlet generates a wrapper that
// decodes the job's arguments into main's parameters and registers it with
// [Register]. Scripts use the helpers in this package for logging, state,
// variables, resources, outbound HTTP, child jobs and workflows ([Task],
// [Step], [Sleep], [WaitForApproval]). Outside a runlet guest
// (any GOOS other than wasip1) every host call returns [ErrNotInGuest], so the
// package still compiles for editors and native tests.
//
// # Guest ABI, version 1
//
// The contract between a guest module and the runlet host is deliberately
// small: arguments in and result out with one copy each way, plus one generic
// host-call import whose operation codes can grow without breaking compiled
// scripts.
//
// Guest exports (all i32 values are unsigned addresses or lengths):
//
//	runlet_abi_v1()                   marker: the module speaks ABI v1
//	runlet_alloc(size i32) i32        a guest buffer of size bytes; valid until the next call
//	runlet_run(ptr i32, len i32) i32  run the entry with the JSON args at ptr; 0 ok, 1 failed
//	runlet_warmup()                   exercise lazy initialisation before the host snapshots
//	runlet_reseed()                   reseed guest randomness after the host restored a snapshot
//	runlet_begin(flags i32, timeout_ms i32, max_memory i64)
//	                                  optional, called before each runlet_run: flags bit 0 asks
//	                                  for a fresh scope (the instance ran a job without a reset,
//	                                  warm mode); timeout_ms is the in-guest deadline from now
//	                                  (0 none); max_memory the linear-memory limit in bytes
//
// A guest that stops itself at its in-guest deadline or heap limit says so in
// its error document with "timeout": true or "oom": true; the host then
// reports a timeout or out-of-memory with the guest's stack.
//
// Host imports, module "runlet":
//
//	result_set(ptr i32, len i32)       the JSON result of the job (host copies it)
//	error_set(ptr i32, len i32)        {"name","message","stack"} of a failed job
//	log(level i32, ptr i32, len i32)   one log line; level 0 debug, 1 info, 2 warn, 3 error
//	call(op i32, ptr i32, len i32) i64 a host call with a JSON request; returns status<<32|len
//	recv(ptr i32)                      copy the pending response of the last call into ptr
//
// Status of call: 0 ok (the response is JSON), 1 failed (the response is the
// error message), 2 the host does not know op (an older host). Operation codes
// are listed as the Op constants; a newer ABI adds operations, never changes
// the meaning of an existing one. Guest stdout and stderr (fd 1 and 2) are
// captured by the host as log lines at info and error level.
//
// A task job (see [OpTask]) runs the same module with an argument document
// that names the task instead of holding main's arguments: for a Go guest
// {"__runlet_task":NAME,"input":JSON}, which the pdk dispatches to the
// function registered with [Task]; for the QuickJS plugin
// {"args":[...],"task":NAME}.
//
// # Isolation and randomness
//
// In runlet's default isolated mode every job starts from the same
// post-initialisation memory image of the script. Package-level variables
// therefore start fresh for every job. math/rand (v1) is reseeded per job
// from the host's randomness; math/rand/v2's top-level functions and map
// iteration order come from the Go runtime's internal state, which is part
// of the image, and can repeat between jobs started from one image. Use
// crypto/rand for anything that must be unpredictable: it asks the host on
// every call.
package pdk
