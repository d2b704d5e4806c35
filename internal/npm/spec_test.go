package npm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseImport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     Spec
		key      string
		err      string
	}{
		{name: "bare", in: "lodash", want: Spec{Name: "lodash"}, key: "lodash"},
		{name: "bare subpath", in: "lodash/fp/map", want: Spec{Name: "lodash", Subpath: "fp/map"}, key: "lodash"},
		{name: "scoped", in: "@scope/pkg", want: Spec{Name: "@scope/pkg"}, key: "@scope/pkg"},
		{name: "scoped subpath", in: "@scope/pkg/a/b.js", want: Spec{Name: "@scope/pkg", Subpath: "a/b.js"}, key: "@scope/pkg"},
		{name: "npm no version", in: "npm:lodash", want: Spec{Name: "lodash"}, key: "lodash"},
		{name: "npm version", in: "npm:lodash@4", want: Spec{Name: "lodash", Range: "4"}, key: "lodash@4"},
		{name: "npm version subpath", in: "npm:lodash@4/fp", want: Spec{Name: "lodash", Range: "4", Subpath: "fp"}, key: "lodash@4"},
		{name: "npm caret", in: "npm:preact@^10.5.0", want: Spec{Name: "preact", Range: "^10.5.0"}, key: "preact@^10.5.0"},
		{name: "npm scoped version subpath", in: "npm:@std/path@1.0.0/posix", want: Spec{Name: "@std/path", Range: "1.0.0", Subpath: "posix"}, key: "@std/path@1.0.0"},
		{name: "npm tag", in: "npm:react@next", want: Spec{Name: "react", Range: "next"}, key: "react@next"},
		{name: "npm or range", in: "npm:x@1 || 2", want: Spec{Name: "x", Range: "1 || 2"}, key: "x@1 || 2"},
		{name: "npm subpath no version", in: "npm:lodash/fp", want: Spec{Name: "lodash", Subpath: "fp"}, key: "lodash"},
		{name: "trailing slash", in: "punycode/", want: Spec{Name: "punycode"}, key: "punycode"},
		{name: "old capitals", in: "JSONStream", want: Spec{Name: "JSONStream"}, key: "JSONStream"},
		{name: "bare with version", in: "lodash@4", err: "a version belongs in an npm: import"},
		{name: "empty", in: "npm:", err: "empty package name"},
		{name: "scope only", in: "@scope", err: "scoped name needs"},
		{name: "empty scope name", in: "@scope/", err: "invalid package name"},
		{name: "empty version", in: "npm:x@", err: "empty version"},
		{name: "dot name", in: ".hidden", err: "invalid package name"},
		{name: "dot dot subpath", in: "npm:x@1/../../etc", err: `".."`},
		{name: "backslash subpath", in: `x/a\b`, err: "may not contain"},
		{name: "space in name", in: "a b", err: "invalid package name"},
		{name: "too long", in: strings.Repeat("a", 2000), err: "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseImport(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrSpecifier) {
					t.Fatalf("ParseImport(%q) = %+v, %v; want an ErrSpecifier mentioning %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want || got.Key() != tt.key {
				t.Fatalf("ParseImport(%q) = %+v (key %q), %v; want %+v (key %q)", tt.in, got, got.Key(), err, tt.want, tt.key)
			}
		})
	}
}

func TestBuiltin(t *testing.T) {
	t.Parallel()
	for _, m := range []string{"fs", "node:fs", "fs/promises", "path", "child_process", "net", "http", "https", "crypto", "node:test", "node:whatever", "stream/web", "worker_threads"} {
		if !Builtin(m) {
			t.Errorf("Builtin(%q) = false", m)
		}
	}
	for _, m := range []string{"lodash", "punycode/", "fs-extra", "npm:fs", "pathe", "@types/node", "node-fetch"} {
		if Builtin(m) {
			t.Errorf("Builtin(%q) = true", m)
		}
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	p := &packument{
		Name:     "x",
		DistTags: stringMap{"latest": "1.5.0", "next": "2.0.0-rc.1", "evil": "../../x"},
		Versions: map[string]json.RawMessage{},
	}
	for _, v := range []string{"../../x", "0.1.0", "0.1.5", "0.2.0", "1.0.0", "1.2.3", "1.5.0", "1.6.0", "2.0.0-rc.1", "3.0.0"} {
		p.Versions[v] = []byte(`{}`)
	}
	tests := []struct {
		rng, want, err string
	}{
		{rng: "", want: "1.5.0"},              // the latest tag
		{rng: "latest", want: "1.5.0"},        // a tag by name
		{rng: "next", want: "2.0.0-rc.1"},     // another tag
		{rng: "*", want: "1.5.0"},             // latest satisfies it
		{rng: "^1.0.0", want: "1.5.0"},        // latest satisfies it, though 1.6.0 exists (npm's rule)
		{rng: "^1.5.1", want: "1.6.0"},        // latest does not: the highest that does
		{rng: "~1.2.0", want: "1.2.3"},        // tilde
		{rng: "1.x", want: "1.5.0"},           // x-range
		{rng: "1.2.3", want: "1.2.3"},         // exact
		{rng: "=1.0.0", want: "1.0.0"},        // exact with =
		{rng: "^0.1.0", want: "0.1.5"},        // caret below 1.0
		{rng: ">=2", want: "3.0.0"},           // no prerelease without asking
		{rng: "0.1.0 - 0.2.0", want: "0.2.0"}, // hyphen
		{rng: "^0.1 || ^3", want: "3.0.0"},    // or
		{rng: ">=1.0.0 <1.3.0", want: "1.2.3"},
		{rng: "^2.0.0-rc.0", want: "2.0.0-rc.1"},
		{rng: "^4", err: "no version matches"},
		{rng: "not a range", err: "neither a version range nor a dist-tag"},
		{rng: "evil", err: "neither a version range nor a dist-tag"}, // a tag naming a non-semver version
	}
	for _, tt := range tests {
		got, err := p.pick(tt.rng)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrNoVersion) {
				t.Errorf("pick(%q) = %q, %v; want error %q", tt.rng, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("pick(%q) = %q, %v; want %q", tt.rng, got, err, tt.want)
		}
	}
}

func TestEntryPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		unsafe   bool
	}{
		{in: "package/index.js", want: "index.js"},
		{in: "package/lib/a.js", want: "lib/a.js"},
		{in: "package/", want: ""},
		{in: "other-top/lib/a.js", want: "lib/a.js"},
		{in: "./package/./a.js", want: "a.js"},
		{in: "package/../../etc/passwd", unsafe: true},
		{in: "/etc/passwd", unsafe: true},
		{in: "package/a/../../b", unsafe: true},
		{in: `package\..\x`, unsafe: true},
		{in: "C:/x", unsafe: true},
	}
	for _, tt := range tests {
		got, err := entryPath(tt.in)
		if tt.unsafe != (err != nil) || got != tt.want || (err != nil && !errors.Is(err, ErrUnsafeArchive)) {
			t.Errorf("entryPath(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestParseIntegrity(t *testing.T) {
	t.Parallel()
	sha1 := "sha1-" + strings.Repeat("A", 27) + "="
	sha512 := "sha512-" + strings.Repeat("A", 86) + "=="
	tests := []struct {
		in, algo, err string
	}{
		{in: sha512, algo: "sha512"},
		{in: sha1 + " " + sha512, algo: "sha512"},
		{in: sha512 + "?opt", algo: "sha512"},
		{in: sha1, algo: "sha1"},
		{in: "md5-xxx", err: "has no sha512"},
		{in: "sha512-short", err: "bad sha512"},
		{in: "", err: "has no sha512"},
	}
	for _, tt := range tests {
		d, err := parseIntegrity(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseIntegrity(%q) = %v, %v; want %q", tt.in, d, err, tt.err)
			}
			continue
		}
		if err != nil || d.algo != tt.algo {
			t.Errorf("parseIntegrity(%q) = %v, %v; want %s", tt.in, d, err, tt.algo)
		}
	}
	if _, err := expectedDigest("", ""); err == nil {
		t.Error("no integrity and no shasum accepted")
	}
	if d, err := expectedDigest("", strings.Repeat("ab", 20)); err != nil || d.algo != "sha1" {
		t.Errorf("shasum fallback = %v, %v", d, err)
	}
}
