// Package cron parses cron expressions and computes their fire times in a
// time zone, with defined behaviour across daylight-saving changes.
//
// Dialect (the default, "v2"): standard cron — minute hour day-of-month
// month day-of-week — with an optional leading seconds field (6 fields, as
// Windmill writes them: "0 */15 * * * *"). Values, ranges a-b, steps */n,
// a-b/n and a/n, lists a,b; month names JAN–DEC and day names SUN–SAT
// (case-insensitive); day-of-week 0–6 from Sunday, 7 also Sunday. When both
// day-of-month and day-of-week are restricted, a day matching either fires
// (as robfig/cron and Vixie cron). L, W, # and ? are refused with an error
// naming them.
//
// Windmill's legacy dialect (Version "v1"): seconds field required, an
// optional seventh year field (only "*"), day-of-week 1–7 from Sunday; it is
// translated to the above, never guessed.
//
// Daylight saving: a wall time that does not exist (spring forward) is
// skipped. A wall time that happens twice (fall back) fires once, at its
// first occurrence, when the expression names a fixed time of day (a single
// second and minute, and explicit hours); when the minutes or hours are
// wildcards or steps it fires in both passes, because that hour really
// happens twice.
package cron

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed expression.
type Schedule struct {
	expr                       string
	sec, min, hour, dom, month uint64 // bit i set: value i matches
	dow                        uint64
	domStar, dowStar           bool
	fixed                      bool // a fixed time of day (see the package doc)
}

// String is the expression as given.
func (s *Schedule) String() string { return s.expr }

// Error is an invalid expression.
type Error struct {
	Expr  string
	Field string // "seconds", "minute", … or "" for the whole expression
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("cron %q: %s", e.Expr, e.Msg)
	}
	return fmt.Sprintf("cron %q: %s field: %s", e.Expr, e.Field, e.Msg)
}

type field struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	fSec   = field{"seconds", 0, 59, nil}
	fMin   = field{"minute", 0, 59, nil}
	fHour  = field{"hour", 0, 23, nil}
	fDom   = field{"day-of-month", 1, 31, nil}
	fMonth = field{"month", 1, 12, map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}}
	fDow   = field{"day-of-week", 0, 7, map[string]int{"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}}
)

// MaxLen bounds an expression's length.
const MaxLen = 256

// Parse parses expr in the given dialect: "" or "v2" (standard, optional
// seconds) or "v1" (Windmill's legacy dialect).
func Parse(expr, version string) (*Schedule, error) {
	bad := func(f, format string, args ...any) error {
		return &Error{Expr: expr, Field: f, Msg: fmt.Sprintf(format, args...)}
	}
	if len(expr) > MaxLen {
		return nil, bad("", "longer than %d characters", MaxLen)
	}
	fs := strings.Fields(expr)
	s := &Schedule{expr: expr}
	switch version {
	case "", "v2":
		switch len(fs) {
		case 5:
			fs = append([]string{"0"}, fs...)
		case 6:
		default:
			return nil, bad("", "want 5 fields (minute hour day-of-month month day-of-week) or 6 with leading seconds, got %d", len(fs))
		}
	case "v1":
		switch len(fs) {
		case 6:
		case 7:
			if fs[6] != "*" {
				return nil, bad("year", "only * is supported")
			}
			fs = fs[:6]
		default:
			return nil, bad("", "cron_version v1 wants 6 fields (seconds first) or 7 with a year, got %d", len(fs))
		}
	default:
		return nil, bad("", "unknown cron_version %q (want v1 or v2)", version)
	}
	var err error
	var single [3]bool
	if s.sec, single[0], _, err = parseField(fs[0], fSec, expr); err != nil {
		return nil, err
	}
	if s.min, single[1], _, err = parseField(fs[1], fMin, expr); err != nil {
		return nil, err
	}
	var hourStar bool
	if s.hour, _, hourStar, err = parseField(fs[2], fHour, expr); err != nil {
		return nil, err
	}
	if s.dom, _, s.domStar, err = parseField(fs[3], fDom, expr); err != nil {
		return nil, err
	}
	if s.month, _, _, err = parseField(fs[4], fMonth, expr); err != nil {
		return nil, err
	}
	dowField := fs[5]
	if version == "v1" {
		if dowField, err = translateV1Dow(dowField, expr); err != nil {
			return nil, err
		}
	}
	if s.dow, _, s.dowStar, err = parseField(dowField, fDow, expr); err != nil {
		return nil, err
	}
	if s.dow&(1<<7) != 0 { // 7 is Sunday
		s.dow = s.dow&^(1<<7) | 1
	}
	s.fixed = single[0] && single[1] && !hourStar
	if !s.canEverFire() {
		return nil, bad("", "never fires (no month has that day)")
	}
	return s, nil
}

// parseField parses one field into a bitset; single reports exactly one
// value, star a wildcard or a step over the whole range.
func parseField(f string, fd field, expr string) (set uint64, single, star bool, err error) {
	bad := func(format string, args ...any) error {
		return &Error{Expr: expr, Field: fd.name, Msg: fmt.Sprintf(format, args...)}
	}
	up := strings.ToUpper(f)
	for n := range fd.names {
		up = strings.ReplaceAll(up, n, "")
	}
	for _, c := range []string{"L", "W", "#", "?"} {
		if strings.Contains(up, c) {
			return 0, false, false, bad("%q is not supported (no L, W, # or ?)", c)
		}
	}
	values := 0
	for _, part := range strings.Split(f, ",") {
		if part == "" {
			return 0, false, false, bad("empty list element")
		}
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 || n > fd.max {
				return 0, false, false, bad("step %q: want 1 to %d", stepStr, fd.max)
			}
			step = n
		}
		lo, hi := fd.min, fd.max
		if fd.name == "day-of-week" {
			hi = 6 // "*" is 0-6; 7 only by name or value
		}
		switch {
		case rng == "*":
			star = true // also */n: a step over the whole range
		default:
			a, b, isRange := strings.Cut(rng, "-")
			x, err := value(a, fd)
			if err != nil {
				return 0, false, false, bad("%v", err)
			}
			lo, hi = x, x
			if isRange {
				y, err := value(b, fd)
				if err != nil {
					return 0, false, false, bad("%v", err)
				}
				if y < x {
					return 0, false, false, bad("range %s: the end comes before the start", rng)
				}
				hi = y
			} else if hasStep {
				hi = fd.max
				if fd.name == "day-of-week" {
					hi = 6
				}
			}
		}
		for v := lo; v <= hi; v += step {
			if set&(1<<v) == 0 {
				values++
			}
			set |= 1 << v
		}
	}
	return set, values == 1, star, nil
}

func value(s string, fd field) (int, error) {
	if n, ok := fd.names[strings.ToUpper(s)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number or name", s)
	}
	if n < fd.min || n > fd.max {
		return 0, fmt.Errorf("%d is out of range %d–%d", n, fd.min, fd.max)
	}
	return n, nil
}

// translateV1Dow maps Windmill's legacy day-of-week numbers (1–7 from
// Sunday, 0 also Sunday) to the standard ones; names pass unchanged.
func translateV1Dow(f, expr string) (string, error) {
	if f == "*" || f == "?" {
		return "*", nil
	}
	var out []string
	for _, part := range strings.Split(f, ",") {
		rng, step, hasStep := strings.Cut(part, "/")
		conv := func(v string) (string, error) {
			if v == "*" {
				return v, nil
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return v, nil // a name, checked later
			}
			if n < 0 || n > 7 {
				return "", &Error{Expr: expr, Field: "day-of-week", Msg: fmt.Sprintf("%d is out of range 1–7 (cron_version v1: 1 is Sunday)", n)}
			}
			if n == 0 {
				return "0", nil
			}
			return strconv.Itoa(n - 1), nil
		}
		a, b, isRange := strings.Cut(rng, "-")
		ca, err := conv(a)
		if err != nil {
			return "", err
		}
		r := ca
		if isRange {
			cb, err := conv(b)
			if err != nil {
				return "", err
			}
			r += "-" + cb
		}
		if hasStep {
			r += "/" + step
		}
		out = append(out, r)
	}
	return strings.Join(out, ","), nil
}

// canEverFire rejects day-of-month/month combinations that never exist
// (e.g. 30 February) when day-of-week cannot rescue them.
func (s *Schedule) canEverFire() bool {
	if !s.dowStar && !s.domStar {
		return true // either matches
	}
	if s.domStar {
		return true
	}
	maxDays := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for m := 1; m <= 12; m++ {
		if s.month&(1<<m) == 0 {
			continue
		}
		if s.dom&((1<<(maxDays[m]+1))-2) != 0 {
			return true
		}
	}
	return false
}

func (s *Schedule) dayMatches(t time.Time) bool {
	if s.month&(1<<uint(t.Month())) == 0 {
		return false
	}
	domOK := s.dom&(1<<uint(t.Day())) != 0
	dowOK := s.dow&(1<<uint(t.Weekday())) != 0
	switch {
	case s.domStar && s.dowStar:
		return true
	case s.domStar:
		return dowOK
	case s.dowStar:
		return domOK
	}
	return domOK || dowOK
}

// ErrNever is returned by Next when no fire time exists within the search
// horizon (five years).
var ErrNever = errors.New("cron: no fire time within five years")

// Next returns the first fire time strictly after t, in loc.
func (s *Schedule) Next(t time.Time, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	for i := 0; i < 366*5+2; i++ {
		d := day.AddDate(0, 0, i)
		if !s.dayMatches(d) {
			continue
		}
		// Wall-clock order is not time order inside a fall-back overlap
		// (02:30 of the first pass comes before 02:00 of the second), so
		// keep the earliest candidate; later wall times cannot be earlier
		// than it by more than a DST shift (at most 2 h).
		_, off0 := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc).Zone()
		_, off1 := time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, loc).Zone()
		shifts := off0 != off1 // a DST change today: wall order may differ from time order
		// On the first day, wall times before t's cannot come after t
		// (less a DST shift on a changing day).
		lower := -1
		if i == 0 {
			lower = local.Hour()*3600 + local.Minute()*60 + local.Second()
			if shifts {
				lower -= 2 * 3600
			}
		}
		var best time.Time
		for h := range each(s.hour) {
			if (h+1)*3600 <= lower {
				continue
			}
			for m := range each(s.min) {
				if h*3600+(m+1)*60 <= lower {
					continue
				}
				for sec := range each(s.sec) {
					if h*3600+m*60+sec < lower {
						continue
					}
					occ := occurrences(d.Year(), d.Month(), d.Day(), h, m, sec, loc)
					if len(occ) > 0 && !best.IsZero() && occ[0].After(best.Add(2*time.Hour)) {
						return best, nil
					}
					for k, at := range occ {
						if k > 0 && s.fixed {
							break // a fixed wall time fires at its first occurrence only
						}
						if at.After(t) && (best.IsZero() || at.Before(best)) {
							if !shifts {
								return at, nil
							}
							best = at
						}
					}
				}
			}
		}
		if !best.IsZero() {
			return best, nil
		}
	}
	return time.Time{}, ErrNever
}

// Preview returns the next n fire times after t.
func (s *Schedule) Preview(t time.Time, loc *time.Location, n int) ([]time.Time, error) {
	var out []time.Time
	for len(out) < n {
		next, err := s.Next(t, loc)
		if err != nil {
			if len(out) > 0 && errors.Is(err, ErrNever) {
				return out, nil
			}
			return out, err
		}
		out = append(out, next)
		t = next
	}
	return out, nil
}

// each yields the set bits of b in ascending order.
func each(b uint64) func(func(int) bool) {
	return func(yield func(int) bool) {
		for b != 0 {
			i := bits.TrailingZeros64(b)
			if !yield(i) {
				return
			}
			b &^= 1 << i
		}
	}
}

// occurrences returns the instants at which the wall time y-mo-d h:m:s
// happens in loc, earliest first: none in a spring-forward gap, two in a
// fall-back overlap.
func occurrences(y int, mo time.Month, d, h, m, s int, loc *time.Location) []time.Time {
	wall := time.Date(y, mo, d, h, m, s, 0, time.UTC)
	probe := time.Date(y, mo, d, h, m, s, 0, loc)
	var offs [3]int
	_, offs[0] = probe.Add(-6 * time.Hour).Zone()
	_, offs[1] = probe.Zone()
	_, offs[2] = probe.Add(6 * time.Hour).Zone()
	var out []time.Time
	for i, off := range offs {
		if (i == 1 && off == offs[0]) || (i == 2 && (off == offs[0] || off == offs[1])) {
			continue
		}
		at := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if at.Year() == y && at.Month() == mo && at.Day() == d && at.Hour() == h && at.Minute() == m && at.Second() == s {
			out = append(out, at)
		}
	}
	if len(out) == 2 && out[1].Before(out[0]) {
		out[0], out[1] = out[1], out[0]
	}
	return out
}
