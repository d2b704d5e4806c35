package npm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// LockVersion is the format version a Lock carries.
const LockVersion = 1

// Lock pins the npm packages of one script version: each root import to a
// package, each package to its tarball, integrity and dependencies. It is
// plain JSON; the caller stores it with the script version and passes it
// back, and a build with the lock uses exactly these packages.
//
//	{"version":1,
//	 "roots":{"lodash@^4":"lodash@4.17.21"},
//	 "packages":{"lodash@4.17.21":{"integrity":"sha512-…","tarball":"https://…"}}}
type Lock struct {
	Version int `json:"version"`
	// Roots maps a script import's Spec.Key to a package key "name@version".
	Roots map[string]string `json:"roots"`
	// Packages maps a package key "name@version" to its pin.
	Packages map[string]*LockedPackage `json:"packages"`
}

// LockedPackage is one pinned package.
type LockedPackage struct {
	Integrity string `json:"integrity"` // SRI, e.g. "sha512-<base64>"
	Tarball   string `json:"tarball"`   // where it was downloaded from
	// Dependencies maps each name the package imports (an alias for
	// "npm:" dependencies) to a package key in the lock.
	Dependencies map[string]string `json:"dependencies,omitempty"`
}

// PackageKey is the lock key of a package version: "name@version".
func PackageKey(name, version string) string { return name + "@" + version }

// SplitKey splits a package key into its name and version.
func SplitKey(key string) (name, version string, ok bool) {
	i := strings.LastIndexByte(key, '@')
	if i <= 0 {
		return "", "", false
	}
	return key[:i], key[i+1:], true
}

// validate checks a lock that came from outside: names and versions are
// well formed (they become cache paths), every reference resolves, every
// integrity is one runlet can check.
func (l *Lock) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrLock, fmt.Sprintf(format, a...))
	}
	if l.Version != LockVersion {
		return bad("version %d, want %d", l.Version, LockVersion)
	}
	for key, p := range l.Packages {
		name, version, ok := SplitKey(key)
		if !ok || checkName(name) != nil {
			return bad("package key %q is not name@version", key)
		}
		if _, err := semver.StrictNewVersion(version); err != nil {
			return bad("package %q: version %q is not semver", key, version)
		}
		if p == nil {
			return bad("package %q has no entry", key)
		}
		if _, err := parseIntegrity(p.Integrity); err != nil {
			return bad("package %q: %v", key, err)
		}
		if err := checkTarballURL(p.Tarball); err != nil {
			return bad("package %q: %v", key, err)
		}
		for dep, target := range p.Dependencies {
			if checkName(dep) != nil {
				return bad("package %q: dependency name %q", key, dep)
			}
			if l.Packages[target] == nil {
				return bad("package %q: dependency %q → %q is not in the lock", key, dep, target)
			}
		}
	}
	for root, target := range l.Roots {
		if l.Packages[target] == nil {
			return bad("root %q → %q is not in the lock", root, target)
		}
	}
	return nil
}

func checkTarballURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("tarball URL %q is not http(s)", s)
	}
	return nil
}

// copyRoot copies root key's closure from l into out.
func (l *Lock) copyRoot(out *Lock, key string) {
	target := l.Roots[key]
	out.Roots[key] = target
	stack := []string{target}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if out.Packages[k] != nil {
			continue
		}
		p := *l.Packages[k]
		p.Dependencies = cloneMap(p.Dependencies)
		out.Packages[k] = &p
		stack = append(stack, sortedValues(p.Dependencies)...)
	}
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func sortedValues(m map[string]string) []string {
	vs := make([]string, 0, len(m))
	for _, v := range m {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	return vs
}

// LockPath is where a caller that keeps locks in files (the CLI) stores
// the lock of one script version: dir/locks/<hash of the source>.json.
func LockPath(dir string, src []byte) string {
	sum := sha256.Sum256(src)
	return filepath.Join(dir, "locks", hex.EncodeToString(sum[:16])+".json")
}

// ReadLockFile reads a lock written by WriteFile. A missing file is a nil
// lock and no error.
func ReadLockFile(path string) (*Lock, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lock
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrLock, path, err)
	}
	return &l, nil
}

// WriteFile writes the lock to path atomically (a temporary file renamed
// into place), creating the directory.
func (l *Lock) WriteFile(path string) error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".lock-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
