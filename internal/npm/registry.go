package npm

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// DefaultRegistry is the public npm registry.
const DefaultRegistry = "https://registry.npmjs.org"

// packument is a package's registry document. Versions stay raw: only the
// chosen version is decoded, so one malformed old version cannot spoil
// the package.
type packument struct {
	Name     string                     `json:"name"`
	DistTags stringMap                  `json:"dist-tags"`
	Versions map[string]json.RawMessage `json:"versions"`
}

// manifest is one version in a packument (the abbreviated "corgi" form
// has every field used here).
type manifest struct {
	Name                 string          `json:"name"`
	Version              string          `json:"version"`
	Dependencies         stringMap       `json:"dependencies"`
	OptionalDependencies stringMap       `json:"optionalDependencies"`
	PeerDependencies     stringMap       `json:"peerDependencies"`
	OS                   json.RawMessage `json:"os"`
	CPU                  json.RawMessage `json:"cpu"`
	Dist                 struct {
		Tarball   string `json:"tarball"`
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
	} `json:"dist"`
}

// stringMap decodes a JSON object of strings, dropping entries that are
// not strings and treating anything but an object as empty: published
// metadata is not always tidy.
type stringMap map[string]string

func (m *stringMap) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		*m = nil
		return nil
	}
	*m = make(stringMap, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			(*m)[k] = s
		}
	}
	return nil
}

// packumentURL is GET {registry}/{name}; a scoped name keeps its "@" and
// escapes its slash, as the npm client does: @scope%2fname.
func packumentURL(registry, name string) string {
	if scope, n, ok := strings.Cut(name, "/"); ok {
		return registry + "/" + scope + "%2f" + url.PathEscape(n)
	}
	return registry + "/" + url.PathEscape(name)
}

// pick chooses the version of p for rng, as npm does: a dist-tag names
// its version; an empty range means the "latest" tag; otherwise the
// "latest" version if it satisfies the range, else the highest version
// that does (prereleases only when the range mentions one).
func (p *packument) pick(rng string) (string, error) {
	rng = strings.TrimSpace(rng)
	tag := rng
	if tag == "" {
		tag = "latest"
	}
	if v, ok := p.DistTags[tag]; ok {
		if _, err := semver.StrictNewVersion(v); err == nil && p.Versions[v] != nil {
			return v, nil
		}
	}
	if rng == "" {
		rng = "*"
	}
	c, err := semver.NewConstraint(rng)
	if err != nil {
		return "", fmt.Errorf("%w: %q is neither a version range nor a dist-tag of %s", ErrNoVersion, rng, p.Name)
	}
	if v, ok := p.DistTags["latest"]; ok {
		if sv, err := semver.StrictNewVersion(v); err == nil && c.Check(sv) && p.Versions[v] != nil {
			return v, nil
		}
	}
	var best *semver.Version
	var bestRaw string
	for raw := range p.Versions {
		v, err := semver.StrictNewVersion(raw)
		if err != nil || !c.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestRaw = v, raw
		}
	}
	if best == nil {
		return "", fmt.Errorf("%w %q among %d published versions of %s (%s)", ErrNoVersion, rng, len(p.Versions), p.Name, p.recent())
	}
	return bestRaw, nil
}

// recent lists a few of the highest versions, for error messages.
func (p *packument) recent() string {
	var vs []*semver.Version
	for raw := range p.Versions {
		if v, err := semver.StrictNewVersion(raw); err == nil {
			vs = append(vs, v)
		}
	}
	sort.Sort(sort.Reverse(semver.Collection(vs)))
	var names []string
	for i, v := range vs {
		if i == 5 {
			names = append(names, "…")
			break
		}
		names = append(names, v.Original())
	}
	if len(names) == 0 {
		return "none usable"
	}
	return "latest: " + strings.Join(names, ", ")
}

func (p *packument) manifest(version string) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(p.Versions[version], &m); err != nil {
		return nil, fmt.Errorf("registry metadata of %s@%s: %v", p.Name, version, err)
	}
	return &m, nil
}

// parseDep reads a dependency as package.json states it: a range of a package
// of that name, or "npm:other@range" (an alias).
func parseDep(name, value string) (Spec, error) {
	if strings.HasPrefix(value, "npm:") {
		s, err := ParseImport(value)
		if err != nil {
			return Spec{}, err
		}
		if s.Subpath != "" {
			return Spec{}, fmt.Errorf("%w: dependency %s: %q has a path", ErrSpecifier, name, value)
		}
		return s, nil
	}
	for _, proto := range []string{"git:", "git+", "github:", "gitlab:", "bitbucket:", "http:", "https:", "file:", "link:", "workspace:", "portal:", "patch:"} {
		if strings.HasPrefix(value, proto) {
			return Spec{}, fmt.Errorf("%w: dependency %s: %q (only registry versions are supported)", ErrSpecifier, name, value)
		}
	}
	if strings.Contains(value, "/") && !strings.ContainsAny(value, " <>=") {
		// "user/repo" is GitHub shorthand.
		return Spec{}, fmt.Errorf("%w: dependency %s: %q (only registry versions are supported)", ErrSpecifier, name, value)
	}
	return Spec{Name: name, Range: strings.TrimSpace(value)}, nil
}
