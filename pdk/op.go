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

	// Workflows as code: a script that starts tasks (child jobs running a
	// function of the same script version), checkpoints steps, sleeps and
	// waits for approval. The host keeps what makes a run durable; when the
	// job is started again after a restart, the guest replays it and the
	// host answers from what it kept. See [Task] and [Step].

	// OpTask starts a child job running task N of this same script
	// version with args A, or, on replay, finds the one already started;
	// it does not wait (use OpWaitJob). A Go task job gets the argument
	// document {"__runlet_task":N,"input":A}; a JavaScript one
	// {"args":A,"task":N} with A the positional arguments.
	OpTask Op = 10 // {"name":N,"args":A} → {"id":CHILD_JOB_ID}
	// OpStepGet looks up the checkpoint of the next occurrence of step N
	// (the host counts occurrences per name within the job).
	OpStepGet Op = 11 // {"name":N} → {"found":bool,"value":V}
	// OpStepSet checkpoints the result of the occurrence OpStepGet found
	// missing.
	OpStepSet Op = 12 // {"name":N,"value":V} → {}
	// OpSleep is a durable sleep: the host blocks, and after a restart
	// sleeps only what is left.
	OpSleep Op = 13 // {"seconds":S} → {}
	// OpResumeURLs returns the links that approve or cancel this job's
	// next OpWaitApproval.
	OpResumeURLs Op = 14 // {"approver":A} → {"approvalPage":U,"resume":U,"cancel":U}
	// OpWaitApproval suspends the job until it is approved; a cancel or
	// the timeout (seconds; 0 the host's default) fails the call.
	OpWaitApproval Op = 15 // {"timeout":S,"approver":A} → {"approved":true,"payload":V,"approver":A}
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
