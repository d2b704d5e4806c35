package config

import (
	"errors"
	"fmt"
)

// ErrUnknownKey is a file key or flag that names no setting.
var ErrUnknownKey = errors.New("unknown key")

// KeyError is a setting that could not be loaded: the key, the source of
// the value (the file's name, the environment variable, the --flag or
// "default") and why.
type KeyError struct {
	Key    string
	Source string
	Value  string
	Err    error
}

func (e *KeyError) Error() string {
	if errors.Is(e.Err, ErrUnknownKey) {
		msg := fmt.Sprintf("%s: unknown key %q", e.Source, e.Key)
		if k := suggest(e.Key); k != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", k)
		}
		return msg
	}
	return fmt.Sprintf("%s (from %s): %q: %v", e.Key, e.Source, e.Value, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// suggest is the known key closest to name, if it is close.
func suggest(name string) string {
	best, bestD := "", 3
	for _, k := range Keys {
		if d := distance(name, k.Name); d < bestD {
			best, bestD = k.Name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
