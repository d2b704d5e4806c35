package npm

import (
	"fmt"
	"regexp"
	"strings"
)

// Spec is one npm import: a package, a version range and a path inside
// the package.
type Spec struct {
	Name    string // "lodash", "@scope/pkg"
	Range   string // "^4", "1.2.3", "latest"; "" means the latest tag
	Subpath string // "fp" in "lodash/fp"; "" for the package's entry point
}

// Key names the spec in a lock's roots: the name, then "@range" when a
// range was given. "lodash" and "npm:lodash" share a key, as do
// "npm:lodash@4/fp" and "npm:lodash@4".
func (s Spec) Key() string {
	if s.Range == "" {
		return s.Name
	}
	return s.Name + "@" + s.Range
}

// Import is the bare specifier esbuild resolves: the name and the subpath.
func (s Spec) Import() string {
	if s.Subpath == "" {
		return s.Name
	}
	return s.Name + "/" + s.Subpath
}

// String is the spec as an import path: "npm:name@range/sub", or
// "name/sub" without a range.
func (s Spec) String() string {
	if s.Range == "" {
		return s.Import()
	}
	return "npm:" + s.Name + "@" + s.Range + subpathSuffix(s.Subpath)
}

func subpathSuffix(p string) string {
	if p == "" {
		return ""
	}
	return "/" + p
}

// ParseImport parses an import path that names an npm package: a bare
// "name[/subpath]" or a Deno-style "npm:name[@range][/subpath]". Scoped
// names ("@scope/name") work in both forms; only the npm: form carries a
// version range.
func ParseImport(path string) (Spec, error) {
	rest, prefixed := strings.CutPrefix(path, "npm:")
	bad := func(why string) (Spec, error) {
		return Spec{}, fmt.Errorf("%w %q: %s", ErrSpecifier, path, why)
	}
	if len(path) > 1024 {
		return bad("too long")
	}
	// The name ends at the first "@" or "/" after its scope.
	start := 0
	if strings.HasPrefix(rest, "@") {
		slash := strings.IndexByte(rest, '/')
		if slash < 0 {
			return bad("a scoped name needs @scope/name")
		}
		start = slash + 1
	}
	end := len(rest)
	if i := strings.IndexAny(rest[start:], "@/"); i >= 0 {
		end = start + i
	}
	s := Spec{Name: rest[:end]}
	rest = rest[end:]
	if err := checkName(s.Name); err != nil {
		return bad(err.Error())
	}
	if strings.HasPrefix(rest, "@") {
		if !prefixed {
			return bad(`a version belongs in an npm: import, as in "npm:` + s.Name + rest + `"`)
		}
		r := rest[1:]
		rest = ""
		if i := strings.IndexByte(r, '/'); i >= 0 {
			r, rest = r[:i], r[i:]
		}
		s.Range = strings.TrimSpace(r)
		if s.Range == "" {
			return bad("empty version after @")
		}
	}
	if rest != "" {
		s.Subpath = strings.TrimSuffix(rest[1:], "/")
		for _, seg := range strings.Split(s.Subpath, "/") {
			if seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
				return bad("the path inside the package may not contain " + strings.TrimSpace(fmt.Sprintf("%q", seg)))
			}
		}
		if strings.Contains(s.Subpath, "//") {
			return bad("empty path segment")
		}
	}
	return s, nil
}

// A name part: npm's rule for new packages, plus the capital letters old
// packages still carry ("JSONStream"). No leading dot or underscore, so a
// name can never be ".." or hidden.
var namePart = regexp.MustCompile(`^[A-Za-z0-9~-][A-Za-z0-9._~-]*$`)

// checkName validates a package name; names become directory names in
// the cache, so this is also a path-safety check.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("empty package name")
	}
	if len(name) > 214 {
		return fmt.Errorf("package name longer than 214 characters")
	}
	parts := []string{name}
	if strings.HasPrefix(name, "@") {
		scope, n, ok := strings.Cut(name[1:], "/")
		if !ok {
			return fmt.Errorf("a scoped name needs @scope/name")
		}
		parts = []string{scope, n}
	}
	for _, p := range parts {
		if !namePart.MatchString(p) {
			return fmt.Errorf("invalid package name %q", name)
		}
	}
	return nil
}
