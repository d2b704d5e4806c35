package jsbuild

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// SourceMap maps generated lines back to the user's lines (source map v3,
// first mapping of each generated line).
type SourceMap struct {
	lines map[int]int // generated line (1-based) → original line (1-based)
}

// Line returns the original line of generated line n, or 0 if unknown.
func (m *SourceMap) Line(n int) int {
	if m == nil {
		return 0
	}
	return m.lines[n]
}

func parseSourceMap(b []byte) (*SourceMap, error) {
	var raw struct {
		Version  int    `json:"version"`
		Mappings string `json:"mappings"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("jsbuild: source map: %w", err)
	}
	m := &SourceMap{lines: map[int]int{}}
	origLine := 0
	for i, group := range strings.Split(raw.Mappings, ";") {
		first := true
		for _, seg := range strings.Split(group, ",") {
			if seg == "" {
				continue
			}
			vals, err := decodeVLQ(seg)
			if err != nil {
				return nil, err
			}
			if len(vals) >= 4 {
				origLine += vals[2]
				if first {
					m.lines[i+1] = origLine + 1
					first = false
				}
			}
		}
	}
	return m, nil
}

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func decodeVLQ(s string) ([]int, error) {
	var out []int
	val, shift := 0, 0
	for _, c := range s {
		d := strings.IndexRune(b64, c)
		if d < 0 {
			return nil, fmt.Errorf("jsbuild: bad source map character %q", c)
		}
		val |= (d & 31) << shift
		if d&32 != 0 {
			shift += 5
			if shift > 30 {
				return nil, fmt.Errorf("jsbuild: source map value too long")
			}
			continue
		}
		if val&1 != 0 {
			out = append(out, -(val >> 1))
		} else {
			out = append(out, val>>1)
		}
		val, shift = 0, 0
	}
	return out, nil
}

var scriptPos = regexp.MustCompile(`<script>:(\d+)`)

// MapStack rewrites "<script>:LINE" positions in a QuickJS stack or
// message to the user's file and line.
func (m *SourceMap) MapStack(s, filename string) string {
	return scriptPos.ReplaceAllStringFunc(s, func(match string) string {
		n, _ := strconv.Atoi(match[len("<script>:"):])
		if orig := m.Line(n); orig > 0 {
			return fmt.Sprintf("%s:%d", filename, orig)
		}
		return match
	})
}
