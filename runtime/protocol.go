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
	frameProgram   = 'G' // engine → worker: programMsg (JSON), once per program and worker
	frameJob       = 'J' // engine → worker: binary [u32 program id][u8 warm][args JSON]
	frameCall      = 'C' // worker → engine: callMsg (a host call needing the engine)
	frameCallReply = 'A' // engine → worker: callReply
	frameDone      = 'D' // worker → engine: doneMsg, binary (see encodeDone)
	frameLoad      = 'P' // engine → worker: moduleRef to compile before jobs use it
	frameLoaded    = 'L' // worker → engine: done loading or preparing; the payload is an error message or empty
	framePrepare   = 'W' // engine → worker: binary [u32 program id]: make an instance ready now
)

// maxFrame bounds a frame read from either side.
const maxFrame = 256 << 20

type moduleRef struct {
	Hash    string   `json:"hash"`
	Path    string   `json:"path"`
	Globals []string `json:"globals,omitempty"`
	Kind    string   `json:"kind,omitempty"`
}

type jobMsg struct {
	Module      moduleRef       `json:"module"`
	Warm        bool            `json:"warm,omitempty"`
	WarmRecycle int             `json:"warm_recycle,omitempty"`
	Limits      Limits          `json:"limits"`
	Args        json.RawMessage `json:"args"`
	Load        []byte          `json:"load,omitempty"`
	Entry       string          `json:"entry,omitempty"` // Extism plugins: the export to call
	key         string          // worker side: programKey of the above
}

// programMsg registers what every job of one program shares: the module,
// limits and script to load. Jobs then name the program by id.
type programMsg struct {
	ID          uint32    `json:"id"`
	Module      moduleRef `json:"module"`
	WarmRecycle int       `json:"warm_recycle,omitempty"`
	Limits      Limits    `json:"limits"`
	Load        []byte    `json:"load,omitempty"`
	Entry       string    `json:"entry,omitempty"`
}

func encodeJob(id uint32, warm bool, args []byte) []byte {
	b := make([]byte, 5, 5+len(args))
	binary.BigEndian.PutUint32(b, id)
	if warm {
		b[4] = 1
	}
	return append(b, args...)
}

func decodeJob(p []byte) (id uint32, warm bool, args []byte, err error) {
	if len(p) < 5 {
		return 0, false, nil, fmt.Errorf("runtime: short job frame")
	}
	return binary.BigEndian.Uint32(p), p[4] == 1, p[5:], nil
}

// encodeDone lays a doneMsg out as [u64 prepare][u64 run][u64 reset]
// [u8 fresh][u32 len][result][u32 len][error JSON][logs JSON to the end].
// The common case — a result, no error, few logs — needs no JSON encoding
// of the envelope.
func encodeDone(d *doneMsg) ([]byte, error) {
	var errJSON, logsJSON []byte
	var err error
	if d.Error != nil {
		if errJSON, err = json.Marshal(d.Error); err != nil {
			return nil, err
		}
	}
	if len(d.Logs) > 0 {
		if logsJSON, err = json.Marshal(d.Logs); err != nil {
			return nil, err
		}
	}
	b := make([]byte, 0, 33+len(d.Result)+4+len(errJSON)+len(logsJSON))
	b = binary.BigEndian.AppendUint64(b, uint64(d.Stats.Prepare))
	b = binary.BigEndian.AppendUint64(b, uint64(d.Stats.Run))
	b = binary.BigEndian.AppendUint64(b, uint64(d.Stats.Reset))
	fresh := byte(0)
	if d.Stats.Fresh {
		fresh = 1
	}
	b = append(b, fresh)
	b = binary.BigEndian.AppendUint32(b, uint32(len(d.Result)))
	b = append(b, d.Result...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(errJSON)))
	b = append(b, errJSON...)
	return append(b, logsJSON...), nil
}

func decodeDone(p []byte) (*doneMsg, error) {
	bad := fmt.Errorf("runtime: malformed done frame")
	if len(p) < 29 {
		return nil, bad
	}
	d := &doneMsg{Stats: Stats{
		Prepare: time.Duration(binary.BigEndian.Uint64(p)),
		Run:     time.Duration(binary.BigEndian.Uint64(p[8:])),
		Reset:   time.Duration(binary.BigEndian.Uint64(p[16:])),
		Fresh:   p[24] == 1,
	}}
	p = p[25:]
	n := binary.BigEndian.Uint32(p)
	if uint64(len(p)) < 4+uint64(n)+4 {
		return nil, bad
	}
	if n > 0 {
		d.Result = json.RawMessage(p[4 : 4+n])
	}
	p = p[4+n:]
	n = binary.BigEndian.Uint32(p)
	if uint64(len(p)) < 4+uint64(n) {
		return nil, bad
	}
	if n > 0 {
		d.Error = &wireError{}
		if err := json.Unmarshal(p[4:4+n], d.Error); err != nil {
			return nil, bad
		}
	}
	if logs := p[4+n:]; len(logs) > 0 {
		if err := json.Unmarshal(logs, &d.Logs); err != nil {
			return nil, bad
		}
	}
	return d, nil
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
