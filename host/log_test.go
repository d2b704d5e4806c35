package host

import (
	"strings"
	"sync/atomic"
	"testing"
)

func TestStreamSplitsLines(t *testing.T) {
	t.Parallel()
	l := NewLogs(1<<20, nil)
	s := l.Stream(LevelInfo)
	s.Write([]byte("one\ntw"))
	s.Write([]byte("o\nthree"))
	s.Flush()
	var got []string
	for _, line := range l.Lines() {
		got = append(got, line.Text)
		if line.Level != LevelInfo || line.Time.IsZero() {
			t.Fatalf("line %+v", line)
		}
	}
	if strings.Join(got, "|") != "one|two|three" {
		t.Fatalf("lines = %q", got)
	}
}

func TestBudget(t *testing.T) {
	t.Parallel()
	var overflows atomic.Int32
	done := make(chan struct{})
	l := NewLogs(10, func() { overflows.Add(1); close(done) })
	l.Add(LevelInfo, "12345") // 6 bytes with the newline
	l.Add(LevelInfo, "123")   // 4 more: exactly 10
	l.Add(LevelInfo, "x")     // over
	l.Add(LevelInfo, "y")     // still over; reported once
	<-done
	if n := len(l.Lines()); n != 2 || !l.Overflowed() || overflows.Load() != 1 {
		t.Fatalf("lines=%d overflowed=%v overflows=%d", n, l.Overflowed(), overflows.Load())
	}
}

func TestRedactAndFatal(t *testing.T) {
	t.Parallel()
	l := NewLogs(1<<20, nil)
	l.Redact("s3cr3t", "")
	l.Add(LevelInfo, "token=s3cr3t and s3cr3t")
	l.Add(LevelError, "fatal error: stack overflow")
	l.Add(LevelError, "fatal error: later")
	if got := l.Lines()[0].Text; got != "token=*** and ***" {
		t.Fatalf("redacted = %q", got)
	}
	if l.Fatal() != "fatal error: stack overflow" || l.SawOutOfMemory() {
		t.Fatalf("fatal = %q oom = %v", l.Fatal(), l.SawOutOfMemory())
	}
	l.Add(LevelError, "fatal error: out of memory")
	if !l.SawOutOfMemory() {
		t.Fatal("out of memory not seen")
	}
}

func TestLongLineIsSplit(t *testing.T) {
	t.Parallel()
	l := NewLogs(1<<20, nil)
	s := l.Stream(LevelError)
	s.Write([]byte(strings.Repeat("a", maxLine+10)))
	s.Flush()
	lines := l.Lines()
	if len(lines) != 2 || len(lines[0].Text) != maxLine || len(lines[1].Text) != 10 {
		t.Fatalf("got %d lines", len(lines))
	}
}
