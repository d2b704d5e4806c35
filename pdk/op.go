package pdk

// Op is a host-call operation code of ABI v1. Values are stable forever.
type Op uint32

// Host-call operations. New operations are appended; none is renumbered.
const (
	OpStateGet       Op = 1 // {} → JSON value or null
	OpStateSet       Op = 2 // {"value":V} → {}
	OpStateCAS       Op = 3 // {"old":V,"new":V} → {"swapped":bool,"current":V}
	OpVariableGet    Op = 4 // {"path":P} → string
	OpResourceGet    Op = 5 // {"path":P} → JSON value
	OpHTTP           Op = 6 // Request → Response
	OpRunScript      Op = 7 // {"path":P,"args":{...}} → result JSON
	OpRunScriptAsync Op = 8 // {"path":P,"args":{...}} → job id string
	OpWaitJob        Op = 9 // {"id":ID} → result JSON
)

// Host-call statuses returned in the upper 32 bits of call.
const (
	StatusOK          = 0
	StatusFailed      = 1
	StatusUnsupported = 2
)

// Log levels of the log import.
const (
	LevelDebug = 0
	LevelInfo  = 1
	LevelWarn  = 2
	LevelError = 3
)
