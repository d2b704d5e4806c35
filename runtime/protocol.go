package runtime

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/runlet/runlet/host"
)

// Frames between the engine and a worker process:
// [u32 big-endian length of kind+payload][u8 kind][payload]. Payloads are JSON.
const (
	frameReady     = 'R' // worker → engine: ready to take jobs
	frameJob       = 'J' // engine → worker: jobMsg
	frameCall      = 'C' // worker → engine: callMsg (a host call needing the engine)
	frameCallReply = 'A' // engine → worker: callReply
	frameDone      = 'D' // worker → engine: doneMsg
	frameLoad      = 'P' // engine → worker: moduleRef to compile before jobs use it
	frameLoaded    = 'L' // worker → engine: compiled; the payload is an error message or empty
)

// maxFrame bounds a frame read from either side.
const maxFrame = 256 << 20

type moduleRef struct {
	Hash    string   `json:"hash"`
	Path    string   `json:"path"`
	Globals []string `json:"globals,omitempty"`
}

type jobMsg struct {
	Module      moduleRef       `json:"module"`
	Warm        bool            `json:"warm,omitempty"`
	WarmRecycle int             `json:"warm_recycle,omitempty"`
	Limits      Limits          `json:"limits"`
	Args        json.RawMessage `json:"args"`
	Load        []byte          `json:"load,omitempty"`
}

type callMsg struct {
	Op  uint32 `json:"op"`
	Req []byte `json:"req"`
}

type callReply struct {
	Status      int    `json:"status"` // 0 ok, 1 failed, 2 unsupported
	Body        []byte `json:"body"`
	Unsupported bool   `json:"unsupported,omitempty"`
}

type wireError struct {
	Kind      string `json:"kind"` // timeout, oom, script, exit, limit, trap, internal
	Message   string `json:"message"`
	Stack     string `json:"stack,omitempty"`
	Panic     bool   `json:"panic,omitempty"`
	Code      uint32 `json:"code,omitempty"`
	LimitKind string `json:"limit_kind,omitempty"`
	Limit     int64  `json:"limit,omitempty"`
}

// Stats describes where a job's time went inside the worker.
type Stats struct {
	// Prepare is the time spent compiling or instantiating before the call
	// (zero when a ready instance was waiting).
	Prepare time.Duration `json:"prepare"`
	// Run is the guest call itself.
	Run time.Duration `json:"run"`
	// Reset is the time the worker spent restoring clean state after the
	// previous job on this instance (paid after that job's reply).
	Reset time.Duration `json:"reset"`
	// Fresh reports that the job ran on a newly created instance.
	Fresh bool `json:"fresh,omitempty"`
}

type doneMsg struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *wireError      `json:"error,omitempty"`
	Logs   []host.Line     `json:"logs,omitempty"`
	Stats  Stats           `json:"stats"`
}

type frameReader struct{ r *bufio.Reader }

func (f *frameReader) read() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n == 0 || n > maxFrame {
		return 0, nil, fmt.Errorf("runtime: bad frame length %d", n)
	}
	p := make([]byte, n-1)
	if _, err := io.ReadFull(f.r, p); err != nil {
		return 0, nil, err
	}
	return hdr[4], p, nil
}

func writeFrame(w io.Writer, kind byte, v any) error {
	var p []byte
	if v != nil {
		var err error
		if p, err = json.Marshal(v); err != nil {
			return err
		}
	}
	return writeRaw(w, kind, p)
}

func writeRaw(w io.Writer, kind byte, p []byte) error {
	if len(p)+1 > maxFrame {
		return fmt.Errorf("runtime: frame of %d bytes exceeds %d", len(p)+1, maxFrame)
	}
	buf := make([]byte, 5+len(p))
	binary.BigEndian.PutUint32(buf, uint32(len(p)+1))
	buf[4] = kind
	copy(buf[5:], p)
	_, err := w.Write(buf)
	return err
}
