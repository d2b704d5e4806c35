package jsbuild

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/runlet/runlet/internal/npm"
)

// SourceMap maps generated lines back to where they came from (source map
// v3, first mapping of each generated line): the user's script, or a file
// of a bundled npm package.
type SourceMap struct {
	lines   map[int]origin // generated line (1-based) → origin
	sources []string       // display name of each source
	user    int            // index of the user's script in sources; -1 if absent
}

type origin struct {
	source int
	line   int // 1-based
}

// Line returns the user's line that generated line n came from, or 0 if
// it is unknown or came from a bundled package.
func (m *SourceMap) Line(n int) int {
	if m == nil {
		return 0
	}
	if o, ok := m.lines[n]; ok && o.source == m.user {
		return o.line
	}
	return 0
}

// Position returns where generated line n came from: the source's name
// (the script's name as given to Build, or "name@version/path" for a file
// of an npm package) and its line; line 0 if unknown.
func (m *SourceMap) Position(n int) (source string, line int) {
	if m == nil {
		return "", 0
	}
	o, ok := m.lines[n]
	if !ok || o.source < 0 || o.source >= len(m.sources) {
		return "", 0
	}
	return m.sources[o.source], o.line
}

// parseSourceMap reads esbuild's map. filename is the script's name (its
// source is recognised by it); res names the package sources, whose paths
// are relative to res.Dir().
func parseSourceMap(b []byte, filename string, res *npm.Resolution) (*SourceMap, error) {
	var raw struct {
		Version  int      `json:"version"`
		Sources  []string `json:"sources"`
		Mappings string   `json:"mappings"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("jsbuild: source map: %w", err)
	}
	m := &SourceMap{lines: map[int]origin{}, user: -1}
	for i, src := range raw.Sources {
		switch {
		case src == filename && m.user < 0:
			m.user = i
		case res != nil:
			src = res.Describe(filepath.Join(res.Dir(), filepath.FromSlash(src)))
		}
		m.sources = append(m.sources, src)
	}
	if m.user < 0 && res == nil && len(raw.Sources) == 1 {
		m.user = 0 // without packages, the one source is the script
	}
	source, origLine := 0, 0
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
				source += vals[1]
				origLine += vals[2]
				if first {
					m.lines[i+1] = origin{source: source, line: origLine + 1}
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
// message: a line of the user's script becomes "filename:LINE", a line of
// a bundled npm package "name@version/path:LINE"; unknown lines stay as
// they are.
func (m *SourceMap) MapStack(s, filename string) string {
	return scriptPos.ReplaceAllStringFunc(s, func(match string) string {
		n, _ := strconv.Atoi(match[len("<script>:"):])
		if orig := m.Line(n); orig > 0 {
			return fmt.Sprintf("%s:%d", filename, orig)
		}
		if src, line := m.Position(n); line > 0 && src != "" {
			return fmt.Sprintf("%s:%d", src, line)
		}
		return match
	})
}
