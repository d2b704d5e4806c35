package badgerstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Key prefixes; see the package documentation for the layout. No prefix is
// a prefix of another.
const (
	pFormat    = "m/format"
	pWorkspace = "w/"
	pUser      = "u/"
	pToken     = "t/"
	pTokenIdx  = "ti/"
	pVersion   = "sv/"
	pLatest    = "sl/"
	pHistory   = "sh/"
	pVariable  = "v/"
	pResource  = "rs/"
	pState     = "st/"
	pJob       = "j/"
	pQueue     = "jq/"
	pRunning   = "jr/"
	pDone      = "jd/"
	pLog       = "l/"
	pSchedule  = "sc/"
	pLease     = "le/"
	pFlowVer   = "fv/" // fv/<ws>\0<path>\0<version u64> → Flow
	pFlowLast  = "fl/" // fl/<ws>\0<path> → flowLatest
	pCheck     = "ck/" // ck/<job>\0<name> → checkpoint value
	pFlowRun   = "jf/" // jf/<job>\0h → flow status header; jf/<job>\0m<u32> → module i
)

// key joins a prefix and 0-separated parts.
func key(prefix string, parts ...string) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, prefix...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// scope is the key prefix of everything under prefix+parts (a trailing 0
// after the last part, so "a" does not match "ab").
func scope(prefix string, parts ...string) []byte {
	return append(key(prefix, parts...), 0)
}

// check rejects empty and 0-containing key parts.
func check(what string, parts ...string) error {
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("empty %s: %w", what, ErrInvalid)
		}
		if strings.IndexByte(p, 0) >= 0 {
			return fmt.Errorf("%s %q contains a 0 byte: %w", what, p, ErrInvalid)
		}
	}
	return nil
}

// checkPrefix allows an empty prefix but no 0 byte.
func checkPrefix(p string) error {
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("prefix %q contains a 0 byte: %w", p, ErrInvalid)
	}
	return nil
}

func u64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// timeKey orders times: Unix nanoseconds with the sign bit flipped. The
// zero time.Time is before 1678 and saturates to 0.
func timeKey(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano()) ^ 1<<63
}

func keyTime(v uint64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(v^1<<63)).UTC()
}

// prioKey orders priorities descending.
func prioKey(p int) uint64 { return ^(uint64(int64(p)) ^ 1<<63) }

func unPrioKey(v uint64) int { return int(int64(^v ^ 1<<63)) }

func queueKey(prio int, sched time.Time, id string) []byte {
	b := make([]byte, 0, len(pQueue)+16+len(id))
	b = append(b, pQueue...)
	b = u64(b, prioKey(prio))
	b = u64(b, timeKey(sched))
	return append(b, id...)
}

// parseQueueKey returns the encoded priority, ScheduledFor and id.
func parseQueueKey(k []byte) (prio uint64, sched time.Time, id string, ok bool) {
	k, found := bytes.CutPrefix(k, []byte(pQueue))
	if !found || len(k) < 16 {
		return 0, time.Time{}, "", false
	}
	return binary.BigEndian.Uint64(k), keyTime(binary.BigEndian.Uint64(k[8:])), string(k[16:]), true
}

func doneKey(completed time.Time, id string) []byte {
	b := make([]byte, 0, len(pDone)+8+len(id))
	b = append(b, pDone...)
	b = u64(b, timeKey(completed))
	return append(b, id...)
}

func historyKey(ws, path string, seq uint64) []byte {
	return u64(scope(pHistory, ws, path), seq)
}

func logKey(id string, offset uint64) []byte {
	return u64(scope(pLog, id), offset)
}

// tail returns k without the first n bytes as a string.
func tail(k []byte, n int) string { return string(k[n:]) }
