package cron

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func preview(t *testing.T, expr, version, zone, from string, n int) []string {
	t.Helper()
	s, err := Parse(expr, version)
	if err != nil {
		t.Fatal(err)
	}
	start, err := time.Parse(time.RFC3339, from)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := s.Preview(start, mustLoc(t, zone), n)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(ts))
	for i, x := range ts {
		out[i] = x.Format(time.RFC3339)
	}
	return out
}

func TestPreviewVectors(t *testing.T) {
	cases := []struct {
		name, expr, version, zone, from string
		want                            []string
	}{
		{"every 15 min, 6 fields", "0 */15 * * * *", "", "UTC", "2026-01-01T00:07:00Z",
			[]string{"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z"}},
		{"5 fields", "*/15 * * * *", "", "UTC", "2026-01-01T00:07:00Z",
			[]string{"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z"}},
		{"seconds", "*/20 * * * * *", "", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z"}},
		{"names and 7 = Sunday", "0 9 * JAN 7", "", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-04T09:00:00Z", "2026-01-11T09:00:00Z"}},
		{"MON-FRI", "30 8 * * mon-fri", "", "UTC", "2026-01-02T09:00:00Z", // a Friday
			[]string{"2026-01-05T08:30:00Z", "2026-01-06T08:30:00Z"}},
		{"dom or dow", "0 0 13 * FRI", "", "UTC", "2026-02-01T00:00:00Z",
			[]string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z"}},
		{"v1: 1 is Sunday", "0 0 9 * * 1", "v1", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-04T09:00:00Z", "2026-01-11T09:00:00Z"}},
		{"v1: 2-6 is Mon-Fri, with year", "0 0 9 * * 2-6 *", "v1", "UTC", "2026-01-02T10:00:00Z",
			[]string{"2026-01-05T09:00:00Z"}},
		// Europe/Paris: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
		{"Paris spring: 02:30 does not exist, skipped", "30 2 * * *", "", "Europe/Paris", "2026-03-28T00:00:00Z",
			[]string{"2026-03-28T02:30:00+01:00", "2026-03-30T02:30:00+02:00"}},
		{"Paris fall: fixed 02:30 fires once, first pass", "30 2 * * *", "", "Europe/Paris", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{"Paris fall: */30 fires in both passes", "*/30 2 * * *", "", "Europe/Paris", "2026-10-24T23:50:00Z",
			[]string{"2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00", "2026-10-26T02:00:00+01:00"}},
		{"Paris spring: hourly skips the missing hour", "0 * * * *", "", "Europe/Paris", "2026-03-29T00:30:00+01:00",
			[]string{"2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"}},
		// America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
		{"New York spring: 02:15 skipped", "15 2 * * *", "", "America/New_York", "2026-03-07T12:00:00Z",
			[]string{"2026-03-09T02:15:00-04:00"}},
		{"New York fall: fixed 01:30 once", "30 1 * * *", "", "America/New_York", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"New York fall: every 20 min both passes", "0 */20 1 * * *", "", "America/New_York", "2026-11-01T04:50:00Z",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:20:00-04:00", "2026-11-01T01:40:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:20:00-05:00", "2026-11-01T01:40:00-05:00"}},
		{"leap day", "0 12 29 2 *", "", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := preview(t, c.expr, c.version, c.zone, c.from, len(c.want))
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"* * *":        "want 5 fields",
		"0 0 L * *":    `"L" is not supported`,
		"0 0 15W * *":  `"W" is not supported`,
		"0 0 * * 5#3":  `"#" is not supported`,
		"0 0 ? * *":    `"?" is not supported`,
		"61 * * * *":   "minute field: 61 is out of range 0–59",
		"0 24 * * *":   "hour field: 24 is out of range",
		"0 0 0 * *":    "day-of-month field: 0 is out of range",
		"0 0 * 13 *":   "month field: 13 is out of range",
		"0 0 * * 8":    "day-of-week field: 8 is out of range",
		"0 0 * * FUN":  `"FUN" is not a number or name`,
		"*/0 * * * *":  "step",
		"5-1 * * * *":  "the end comes before the start",
		"0 0 30 2 *":   "never fires",
		"1,,2 * * * *": "empty list element",
		"0 0 0 * * 8":  "", // v1 below
	}
	for expr, want := range cases {
		if want == "" {
			continue
		}
		_, err := Parse(expr, "")
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", expr, err, want)
		}
	}
	if _, err := Parse("0 0 0 * * 8", "v1"); err == nil || !strings.Contains(err.Error(), "1 is Sunday") {
		t.Errorf("v1 day 8: %v", err)
	}
	if _, err := Parse("0 0 * * *", "v1"); err == nil || !strings.Contains(err.Error(), "v1 wants 6 fields") {
		t.Errorf("v1 with 5 fields: %v", err)
	}
	if _, err := Parse("0 0 * * *", "v3"); err == nil {
		t.Error("unknown version accepted")
	}
	// Month and day names with L or W in them are names, not operators.
	for _, ok := range []string{"0 0 * JUL WED", "0 0 1 jul,apr *"} {
		if _, err := Parse(ok, ""); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 */15 * * * *", "30 2 * * *", "0 0 13 * FRI", "*/7 1-5/2 * JAN-MAR MON,WED", "0 0 9 * * 1"} {
		f.Add(s, "")
		f.Add(s, "v1")
	}
	loc := time.FixedZone("X", 3600)
	paris, _ := time.LoadLocation("Europe/Paris")
	f.Fuzz(func(t *testing.T, expr, version string) {
		s, err := Parse(expr, version)
		if err != nil {
			return
		}
		from := time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC)
		for _, l := range []*time.Location{loc, paris} {
			prev := from
			for range 5 {
				next, err := s.Next(prev, l)
				if err != nil {
					break
				}
				if !next.After(prev) {
					t.Fatalf("%q: Next(%v) = %v, not after", expr, prev, next)
				}
				prev = next
			}
		}
	})
}

func BenchmarkNext(b *testing.B) {
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, expr := range []string{"* * * * * *", "0 */15 * * * *", "30 2 * * *", "0 0 1 1 *"} {
		s, err := Parse(expr, "")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(expr, func(b *testing.B) {
			t := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			for range b.N {
				if _, err := s.Next(t, paris); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
