package npm

import (
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Resolution is the outcome of Resolve: the lock, and where in the cache
// each of its packages lies.
type Resolution struct {
	Lock    *Lock
	store   string            // absolute
	entries map[string]string // entryName → package key
}

func (s *session) resolution(l *Lock) *Resolution {
	r := &Resolution{Lock: l, store: s.store, entries: make(map[string]string, len(l.Packages))}
	for key, p := range l.Packages {
		r.entries[entryName(key, p)] = key
	}
	return r
}

// Dir is the cache directory holding the packages.
func (r *Resolution) Dir() string { return r.store }

// Target is where an import goes: Import, a bare specifier with the real
// package name, resolved from Dir (whose node_modules holds the package).
type Target struct {
	Dir     string
	Import  string
	Package string // the package key, "name@version"
}

func (r *Resolution) target(key, subpath string) Target {
	name, _, _ := SplitKey(key)
	return Target{
		Dir:     filepath.Join(r.store, filepath.FromSlash(entryName(key, r.Lock.Packages[key]))),
		Import:  Spec{Name: name, Subpath: subpath}.Import(),
		Package: key,
	}
}

// ScriptImport locates an import of the script itself: one of the roots.
func (r *Resolution) ScriptImport(s Spec) (Target, bool) {
	key, ok := r.Lock.Roots[s.Key()]
	if !ok {
		return Target{}, false
	}
	return r.target(key, s.Subpath), true
}

// PackageImport locates an import made by file, a file of one of the
// packages: the importing package's locked dependency of that name, the
// package itself (a self-reference), or else a root import of that name
// (what npm's hoisting would have made visible). ok is false when none
// applies.
func (r *Resolution) PackageImport(file string, s Spec) (Target, bool) {
	key, _, ok := r.PackageOf(file)
	if !ok {
		return Target{}, false
	}
	if dep, ok := r.Lock.Packages[key].Dependencies[s.Name]; ok {
		return r.target(dep, s.Subpath), true
	}
	if name, _, _ := SplitKey(key); name == s.Name {
		return r.target(key, s.Subpath), true
	}
	var best string
	var bestV *semver.Version
	for _, root := range r.Lock.Roots {
		name, v, _ := SplitKey(root)
		sv, err := semver.StrictNewVersion(v)
		if name == s.Name && err == nil && (bestV == nil || sv.GreaterThan(bestV)) {
			best, bestV = root, sv
		}
	}
	if best == "" {
		return Target{}, false
	}
	return r.target(best, s.Subpath), true
}

// PackageOf names the package that holds file (an absolute path) and the
// file's slash-separated path inside it; ok is false for a file that is
// not inside one of the resolution's packages.
func (r *Resolution) PackageOf(file string) (key, rel string, ok bool) {
	p, err := filepath.Rel(r.store, file)
	if err != nil || !filepath.IsLocal(p) {
		return "", "", false
	}
	parts := strings.SplitN(filepath.ToSlash(p), "/", 3)
	if len(parts) < 3 {
		return "", "", false
	}
	key, ok = r.entries[parts[0]+"/"+parts[1]]
	rest := parts[2]
	if !ok {
		return "", "", false
	}
	name, _, _ := SplitKey(key)
	prefix := "node_modules/" + name + "/"
	if !strings.HasPrefix(rest, prefix) {
		return "", "", false
	}
	return key, rest[len(prefix):], true
}

// Describe names a file for messages and stack traces:
// "name@version/path/in/package.js", or the path unchanged.
func (r *Resolution) Describe(file string) string {
	if key, rel, ok := r.PackageOf(file); ok {
		return key + "/" + rel
	}
	return file
}
