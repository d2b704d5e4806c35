package host

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Level is a log line's level.
type Level uint8

// Log levels, matching the pdk's level numbers.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

// String returns the level's lowercase name.
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	default:
		return "error"
	}
}

// Line is one log line of a job.
type Line struct {
	Time  time.Time `json:"t"`
	Level Level     `json:"l"`
	Text  string    `json:"m"`
}

// Logs collects a job's log lines up to a byte budget. Lines past the budget
// are dropped and the overflow is reported once through onOverflow. Writes
// from the guest's stdout and stderr are split into lines. Safe for
// concurrent use.
type Logs struct {
	mu         sync.Mutex
	max        int64
	used       int64
	lines      []Line
	overflow   bool
	onOverflow func()
	now        func() time.Time
	redact     []string
	oomSeen    bool
	fatal      string
}

// NewLogs returns a collector that keeps at most max bytes of text.
// onOverflow (may be nil) runs once, when the budget is first exceeded.
func NewLogs(max int64, onOverflow func()) *Logs {
	return &Logs{max: max, onOverflow: onOverflow, now: time.Now}
}

// Redact makes every later line replace each of secrets with "***".
func (l *Logs) Redact(secrets ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			l.redact = append(l.redact, s)
		}
	}
}

// Add appends one line.
func (l *Logs) Add(level Level, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(level, text)
}

func (l *Logs) addLocked(level Level, text string) {
	if level == LevelError {
		if strings.Contains(text, "fatal error: out of memory") || strings.HasPrefix(text, "runtime: out of memory") {
			l.oomSeen = true
		}
		if l.fatal == "" && (strings.HasPrefix(text, "fatal error: ") || strings.HasPrefix(text, "panic: ")) {
			l.fatal = text
		}
	}
	if l.overflow {
		return
	}
	for _, s := range l.redact {
		text = strings.ReplaceAll(text, s, "***")
	}
	n := int64(len(text)) + 1
	if l.used+n > l.max {
		l.overflow = true
		if l.onOverflow != nil {
			go l.onOverflow()
		}
		return
	}
	l.used += n
	l.lines = append(l.lines, Line{Time: l.now(), Level: level, Text: text})
}

// Lines returns the lines collected so far.
func (l *Logs) Lines() []Line {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Line(nil), l.lines...)
}

// Overflowed reports whether the byte budget was exceeded.
func (l *Logs) Overflowed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.overflow
}

// SawOutOfMemory reports whether the guest runtime printed an out-of-memory
// failure (how a Go guest reports a failed memory.grow).
func (l *Logs) SawOutOfMemory() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.oomSeen
}

// Fatal returns the first "fatal error: ..." or "panic: ..." line the guest
// runtime printed to stderr, if any: why a guest that crashed crashed.
func (l *Logs) Fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal
}

// Stream returns a writer that splits what is written into lines at level.
// Call Flush on it after the guest returns to emit a final partial line.
func (l *Logs) Stream(level Level) *Stream { return &Stream{logs: l, level: level} }

// Stream is an io.Writer feeding a [Logs] line by line.
type Stream struct {
	logs    *Logs
	level   Level
	partial []byte
}

// maxLine bounds a single line; longer lines are split.
const maxLine = 64 << 10

// Write implements io.Writer. It never fails, so a chatty guest is stopped
// by the budget, not by write errors it might ignore.
func (s *Stream) Write(p []byte) (int, error) {
	n := len(p)
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.partial = append(s.partial, p...)
			for len(s.partial) >= maxLine {
				s.logs.addLocked(s.level, string(s.partial[:maxLine]))
				s.partial = append(s.partial[:0], s.partial[maxLine:]...)
			}
			break
		}
		s.partial = append(s.partial, p[:i]...)
		s.logs.addLocked(s.level, string(s.partial))
		s.partial = s.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

// Flush emits a pending partial line.
func (s *Stream) Flush() {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	if len(s.partial) > 0 {
		s.logs.addLocked(s.level, string(s.partial))
		s.partial = s.partial[:0]
	}
}
