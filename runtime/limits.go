package runtime

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits is what one script version may use. It is a value: copy it freely;
// the engine clones its slices and maps when it accepts a job.
type Limits struct {
	// MaxMemory bounds the guest's linear memory in bytes. Default 256 MiB.
	MaxMemory int64 `json:"max_memory"`
	// Timeout bounds the job's wall-clock run time. Default 60 s.
	Timeout time.Duration `json:"timeout"`
	// MaxResultBytes bounds the JSON result (and error document). Default 8 MiB.
	MaxResultBytes int64 `json:"max_result_bytes"`
	// MaxLogBytes bounds the job's log text; a job writing more fails with a
	// LimitError of kind "logs". Default 1 MiB.
	MaxLogBytes int64 `json:"max_log_bytes"`
	// MaxHostCalls bounds host calls (logs, state, HTTP, ...) per job.
	// Default 100,000.
	MaxHostCalls int `json:"max_host_calls"`
	// AllowedHosts lists the hosts outbound HTTP may reach ("api.example.com",
	// "*.example.com", "host:8443", "*"). Default none: no outbound HTTP.
	AllowedHosts []string `json:"allowed_hosts,omitempty"`
	// AllowPrivate lets HTTP reach loopback, private and link-local
	// addresses. An operator setting; default false.
	AllowPrivate bool `json:"allow_private,omitempty"`
	// Env is the environment granted to the guest. Default empty.
	Env map[string]string `json:"env,omitempty"`
}

// Default limits; see the fields of [Limits].
const (
	DefaultMaxMemory      = 256 << 20
	DefaultTimeout        = 60 * time.Second
	DefaultMaxResultBytes = 8 << 20
	DefaultMaxLogBytes    = 1 << 20
	DefaultMaxHostCalls   = 100_000
	// MinMemory is the smallest memory limit a Go guest can start with
	// (its data segments need about 2.6 MiB); smaller values are refused.
	MinMemory = 4 << 20
	// MaxMemoryLimit is the largest linear memory wasm32 can address.
	MaxMemoryLimit = 4 << 30
)

// WithDefaults returns l with every zero field set to its default and its
// slices and maps cloned.
func (l Limits) WithDefaults() Limits {
	if l.MaxMemory == 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	if l.Timeout == 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxResultBytes == 0 {
		l.MaxResultBytes = DefaultMaxResultBytes
	}
	if l.MaxLogBytes == 0 {
		l.MaxLogBytes = DefaultMaxLogBytes
	}
	if l.MaxHostCalls == 0 {
		l.MaxHostCalls = DefaultMaxHostCalls
	}
	l.AllowedHosts = slices.Clone(l.AllowedHosts)
	l.Env = maps.Clone(l.Env)
	return l
}

// Validate names every field that is out of range.
func (l Limits) Validate() error {
	var bad []string
	if l.MaxMemory != 0 && (l.MaxMemory < MinMemory || l.MaxMemory > MaxMemoryLimit) {
		bad = append(bad, fmt.Sprintf("max_memory: %d bytes is outside [%s, %s]", l.MaxMemory, FormatSize(MinMemory), FormatSize(MaxMemoryLimit)))
	}
	if l.Timeout < 0 {
		bad = append(bad, "timeout: must not be negative")
	}
	if l.MaxResultBytes < 0 {
		bad = append(bad, "max_result_bytes: must not be negative")
	}
	if l.MaxLogBytes < 0 {
		bad = append(bad, "max_log_bytes: must not be negative")
	}
	if l.MaxHostCalls < 0 {
		bad = append(bad, "max_host_calls: must not be negative")
	}
	for _, h := range l.AllowedHosts {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, "/ @") {
			bad = append(bad, fmt.Sprintf("allowed_hosts: %q is not a host pattern", h))
		}
	}
	for k := range l.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			bad = append(bad, fmt.Sprintf("env: %q is not a variable name", k))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("invalid limits: %s", strings.Join(bad, "; "))
	}
	return nil
}

// ParseSize parses a byte size: plain bytes ("1048576") or a number with a
// binary unit ("64MiB", "1GiB", "512KiB"; "MB"/"GB"/"KB" are read as the same
// binary units).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q (want bytes or a number with KiB, MiB or GiB)", s)
	}
	return n * mult, nil
}

// FormatSize renders n bytes with the largest exact binary unit.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
