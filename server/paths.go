package server

import (
	"strings"
)

// MaxPathLen bounds an item path.
const MaxPathLen = 255

// checkPath validates a Windmill-style item path: u/<user>/<name> or
// f/<folder>/<name>, deeper segments allowed; segments of letters, digits,
// '_', '-', '.', never empty, "." or "..".
func checkPath(field, p string) error {
	if p == "" {
		return invalid(field, "%s: a path is required (u/<user>/<name> or f/<folder>/<name>)", field)
	}
	if len(p) > MaxPathLen {
		return invalid(field, "%s: longer than %d characters", field, MaxPathLen)
	}
	segs := strings.Split(p, "/")
	if len(segs) < 3 || (segs[0] != "u" && segs[0] != "f") {
		return invalid(field, "%s %q: want u/<user>/<name> or f/<folder>/<name>", field, p)
	}
	for _, s := range segs[1:] {
		if s == "" || s == "." || s == ".." {
			return invalid(field, "%s %q: empty, \".\" or \"..\" segment", field, p)
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
				return invalid(field, "%s %q: character %q not allowed (letters, digits, _ - . and / between segments)", field, p, c)
			}
		}
	}
	return nil
}

// checkName validates a workspace or user name.
func checkName(field, n string) error {
	if n == "" || len(n) > 64 {
		return invalid(field, "%s: 1 to 64 characters", field)
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return invalid(field, "%s %q: lower-case letters, digits, _ and - only", field, n)
		}
	}
	return nil
}
