package npm_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/npm"
	"github.com/runlet/runlet/internal/npm/npmtest"
)

// fixture is a fake registry and a resolver with an empty cache.
type fixture struct {
	reg *npmtest.Registry
	res *npm.Resolver
}

func setup(t *testing.T, pkgs ...npmtest.Package) fixture {
	t.Helper()
	reg := npmtest.New(t, pkgs...)
	return fixture{reg: reg, res: &npm.Resolver{Registry: reg.URL, CacheDir: t.TempDir()}}
}

func specs(t *testing.T, imports ...string) []npm.Spec {
	t.Helper()
	var out []npm.Spec
	for _, s := range imports {
		spec, err := npm.ParseImport(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, spec)
	}
	return out
}

func pkg(name, version string, deps map[string]string) npmtest.Package {
	return npmtest.Package{Name: name, Version: version, Dependencies: deps,
		Files: map[string]string{"index.js": "module.exports = " + `"` + name + "@" + version + `";`}}
}

func readFile(t *testing.T, r *npm.Resolution, key, rel string) string {
	t.Helper()
	name, _, _ := npm.SplitKey(key)
	tgt := mustTarget(t, r, name)
	if tgt.Package != key {
		t.Fatalf("root %s is %s, want %s", name, tgt.Package, key)
	}
	b, err := os.ReadFile(filepath.Join(tgt.Dir, "node_modules", filepath.FromSlash(name), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestResolveGraph(t *testing.T) {
	t.Parallel()
	f := setup(t,
		pkg("app", "1.0.0", map[string]string{"dep": "^1.1.0", "alias": "npm:dep@2", "@scope/util": "~2.0.0"}),
		pkg("dep", "1.0.0", nil),
		pkg("dep", "1.1.0", nil),
		pkg("dep", "1.2.0", nil),
		pkg("dep", "2.0.0", nil),
		pkg("@scope/util", "2.0.1", map[string]string{"dep": "1.0.0"}),
		pkg("@scope/util", "2.1.0", nil),
	)
	r, err := f.res.Resolve(context.Background(), specs(t, "app", "npm:dep@^1.0.0", "npm:@scope/util@2/x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	l := r.Lock
	// "dep@^1.0.0": the latest tag (2.0.0) does not satisfy it, so the highest 1.x.
	wantRoots := map[string]string{"app": "app@1.0.0", "dep@^1.0.0": "dep@1.2.0", "@scope/util@2": "@scope/util@2.1.0"}
	for k, v := range wantRoots {
		if l.Roots[k] != v {
			t.Errorf("root %s → %s, want %s", k, l.Roots[k], v)
		}
	}
	wantDeps := map[string]map[string]string{
		"app@1.0.0":         {"dep": "dep@1.2.0", "alias": "dep@2.0.0", "@scope/util": "@scope/util@2.0.1"},
		"@scope/util@2.0.1": {"dep": "dep@1.0.0"},
	}
	for k, deps := range wantDeps {
		p := l.Packages[k]
		if p == nil {
			t.Fatalf("lock lacks %s: %v", k, keys(l.Packages))
		}
		for name, target := range deps {
			if p.Dependencies[name] != target {
				t.Errorf("%s: %s → %s, want %s", k, name, p.Dependencies[name], target)
			}
		}
	}
	if len(l.Packages) != 6 {
		t.Errorf("lock has %d packages, want 6: %v", len(l.Packages), keys(l.Packages))
	}
	for k, p := range l.Packages {
		if !strings.HasPrefix(p.Integrity, "sha512-") || !strings.HasPrefix(p.Tarball, f.reg.URL+"/-/tarball/") {
			t.Errorf("%s: %+v", k, p)
		}
	}
	if got := readFile(t, r, "app@1.0.0", "index.js"); !strings.Contains(got, `"app@1.0.0"`) {
		t.Errorf("app/index.js = %q", got)
	}
	// The alias resolves to the real package, from the importer's files.
	appFile := filepath.Join(mustTarget(t, r, "app").Dir, "node_modules", "app", "index.js")
	tgt, ok := r.PackageImport(appFile, npm.Spec{Name: "alias", Subpath: "lib/x.js"})
	if !ok || tgt.Import != "dep/lib/x.js" || tgt.Package != "dep@2.0.0" {
		t.Errorf("alias import = %+v, %v", tgt, ok)
	}
	if d := r.Describe(appFile); d != "app@1.0.0/index.js" {
		t.Errorf("Describe = %q", d)
	}
	// The lock is plain JSON and round-trips.
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var back npm.Lock
	if err := json.Unmarshal(b, &back); err != nil || back.Roots["app"] != "app@1.0.0" {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}

func mustTarget(t *testing.T, r *npm.Resolution, imp string) npm.Target {
	t.Helper()
	s, err := npm.ParseImport(imp)
	if err != nil {
		t.Fatal(err)
	}
	tgt, ok := r.ScriptImport(s)
	if !ok {
		t.Fatalf("no target for %q", imp)
	}
	return tgt
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestResolveOptionalAndPeer(t *testing.T) {
	t.Parallel()
	f := setup(t,
		npmtest.Package{Name: "ui", Version: "1.0.0",
			PeerDependencies:     map[string]string{"react": "^18", "absent-peer": "*"},
			OptionalDependencies: map[string]string{"missing": "^1", "native": "^1", "there": "^1"},
			Files:                map[string]string{"index.js": ""}},
		pkg("react", "18.2.0", nil),
		pkg("react", "17.0.0", nil),
		pkg("there", "1.0.0", nil),
		npmtest.Package{Name: "native", Version: "1.0.0", OS: []string{"darwin"}, Files: map[string]string{"index.js": ""}},
	)
	r, err := f.res.Resolve(context.Background(), specs(t, "ui", "npm:react@18"), nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := r.Lock.Packages["ui@1.0.0"].Dependencies
	want := map[string]string{"react": "react@18.2.0", "there": "there@1.0.0"}
	if len(deps) != len(want) || deps["react"] != want["react"] || deps["there"] != want["there"] {
		t.Fatalf("ui's dependencies = %v, want %v (peer linked to the root, optional best effort, native skipped)", deps, want)
	}
}

func TestResolveShasumFallback(t *testing.T) {
	t.Parallel()
	f := setup(t, npmtest.Package{Name: "old", Version: "0.0.1", ShasumOnly: true, Files: map[string]string{"index.js": ""}})
	r, err := f.res.Resolve(context.Background(), specs(t, "old"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Lock.Packages["old@0.0.1"].Integrity; !strings.HasPrefix(got, "sha1-") {
		t.Fatalf("integrity = %q, want the shasum as sha1 SRI", got)
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	good := pkg("good", "1.0.0", nil)
	tests := []struct {
		name    string
		pkgs    []npmtest.Package
		imports []string
		limits  npm.Limits
		is      error
		want    string
	}{
		{name: "unknown package", imports: []string{"nope"}, is: npm.ErrNotFound,
			want: `npm: import "nope": package not found in registry http://127.0.0.1:`},
		{name: "unknown dependency", pkgs: []npmtest.Package{pkg("a", "1.0.0", map[string]string{"gone": "^1"})}, imports: []string{"a"},
			is: npm.ErrNotFound, want: "a@1.0.0 → gone@^1"},
		{name: "no matching version", pkgs: []npmtest.Package{good}, imports: []string{"npm:good@^2"},
			is: npm.ErrNoVersion, want: `no version matches "^2" among 1 published versions of good`},
		{name: "integrity mismatch", pkgs: []npmtest.Package{{Name: "bad", Version: "1.0.0", Files: map[string]string{"index.js": ""},
			Integrity: npmtest.Integrity([]byte("something else"))}}, imports: []string{"bad"}, is: npm.ErrIntegrity, want: "bad@1.0.0"},
		{name: "path traversal", pkgs: []npmtest.Package{{Name: "evil", Version: "1.0.0", Tarball: npmtest.Tarball(
			npmtest.Entry{Name: "package/index.js", Body: "x"}, npmtest.Entry{Name: "package/../../../escape.js", Body: "pwned"})}},
			imports: []string{"evil"}, is: npm.ErrUnsafeArchive, want: "leaves the package directory"},
		{name: "absolute path", pkgs: []npmtest.Package{{Name: "evil", Version: "1.0.0", Tarball: npmtest.Tarball(
			npmtest.Entry{Name: "/tmp/runlet-npm-escape.js", Body: "pwned"})}},
			imports: []string{"evil"}, is: npm.ErrUnsafeArchive, want: "absolute"},
		{name: "symlink", pkgs: []npmtest.Package{{Name: "evil", Version: "1.0.0", Tarball: npmtest.Tarball(
			npmtest.Entry{Name: "package/link", Type: tar.TypeSymlink, Linkname: "/etc/passwd"})}},
			imports: []string{"evil"}, is: npm.ErrUnsafeArchive, want: "is a link"},
		{name: "not gzip", pkgs: []npmtest.Package{{Name: "junk", Version: "1.0.0", Tarball: []byte("not a tarball")}},
			imports: []string{"junk"}, want: "tarball is not gzip"},
		{name: "git dependency", pkgs: []npmtest.Package{pkg("a", "1.0.0", map[string]string{"b": "github:user/b"})}, imports: []string{"a"},
			is: npm.ErrSpecifier, want: "only registry versions are supported"},
		{name: "tarball limit", pkgs: []npmtest.Package{{Name: "big", Version: "1.0.0", Files: map[string]string{"a.js": strings.Repeat("x", 1<<16)}}},
			imports: []string{"big"}, limits: npm.Limits{MaxTarballBytes: 100}, want: "tarball bytes limit exceeded (100)"},
		{name: "unpacked limit", pkgs: []npmtest.Package{{Name: "bomb", Version: "1.0.0", Files: map[string]string{"a.js": strings.Repeat("x", 1<<20)}}},
			imports: []string{"bomb"}, limits: npm.Limits{MaxUnpackedBytes: 1 << 16}, want: "unpacked bytes limit exceeded"},
		{name: "files limit", pkgs: []npmtest.Package{{Name: "many", Version: "1.0.0", Files: map[string]string{"a": "", "b": "", "c": ""}}},
			imports: []string{"many"}, limits: npm.Limits{MaxFiles: 2}, want: "files limit exceeded (2)"},
		{name: "package limit", pkgs: []npmtest.Package{pkg("a", "1.0.0", map[string]string{"b": "1"}), pkg("b", "1.0.0", map[string]string{"c": "1"}), pkg("c", "1.0.0", nil)},
			imports: []string{"a"}, limits: npm.Limits{MaxPackages: 2}, want: "packages limit exceeded (2)"},
		{name: "total limit", pkgs: []npmtest.Package{good}, imports: []string{"good"}, limits: npm.Limits{MaxTotalBytes: 200}, want: "total bytes limit exceeded (200)"},
		{name: "packument limit", pkgs: []npmtest.Package{good}, imports: []string{"good"}, limits: npm.Limits{MaxPackumentBytes: 10}, want: "packument bytes limit exceeded (10)"},
		{name: "negative limit", imports: []string{"good"}, limits: npm.Limits{MaxFiles: -1}, want: "MaxFiles must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, tt.pkgs...)
			f.res.Limits = tt.limits
			_, err := f.res.Resolve(context.Background(), specs(t, tt.imports...), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("err = %v; want %v mentioning %q", err, tt.is, tt.want)
			}
			var le *npm.LimitError
			if strings.Contains(tt.want, "limit exceeded") && !errors.As(err, &le) {
				t.Fatalf("err = %v, not a *LimitError", err)
			}
			// Nothing escaped the cache, and no half-written entry is left.
			if _, err := os.Stat("/tmp/runlet-npm-escape.js"); err == nil {
				t.Fatal("a tarball wrote outside the cache")
			}
			entries, _ := os.ReadDir(filepath.Join(f.res.CacheDir, "store"))
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".tmp-") || (tt.is == npm.ErrUnsafeArchive || tt.is == npm.ErrIntegrity) {
					t.Fatalf("store holds %s after a failed install", e.Name())
				}
			}
			if _, err := os.Stat(filepath.Join(f.res.CacheDir, "escape.js")); err == nil {
				t.Fatal("a tarball wrote outside its entry")
			}
		})
	}
}

func TestResolveTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	res := &npm.Resolver{Registry: srv.URL, CacheDir: t.TempDir(), Limits: npm.Limits{HTTPTimeout: 100 * time.Millisecond}}
	start := time.Now()
	_, err := res.Resolve(context.Background(), specs(t, "slow"), nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "HTTPTimeout") {
		t.Fatalf("err = %v, want a timeout naming the limit", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestLockReuse(t *testing.T) {
	t.Parallel()
	f := setup(t, pkg("a", "1.0.0", map[string]string{"b": "^1"}), pkg("b", "1.0.0", nil))
	first, err := f.res.Resolve(context.Background(), specs(t, "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A newer b is published: the lock keeps 1.0.0, a fresh resolve takes 1.1.0.
	f.reg.Add(pkg("b", "1.1.0", nil))
	before := f.reg.Requests()
	again, err := f.res.Resolve(context.Background(), specs(t, "a"), first.Lock)
	if err != nil {
		t.Fatal(err)
	}
	if again.Lock.Packages["a@1.0.0"].Dependencies["b"] != "b@1.0.0" {
		t.Fatalf("lock not honoured: %+v", again.Lock.Packages)
	}
	if n := f.reg.Requests() - before; n != 0 {
		t.Fatalf("a locked, cached resolve made %d registry requests", n)
	}
	fresh, err := f.res.Resolve(context.Background(), specs(t, "a"), nil)
	if err != nil || fresh.Lock.Packages["a@1.0.0"].Dependencies["b"] != "b@1.1.0" {
		t.Fatalf("fresh resolve: %v %+v", err, fresh)
	}

	// With the registry gone, the locked build still works from the cache…
	f.reg.Close()
	if _, err := f.res.Resolve(context.Background(), specs(t, "a"), first.Lock); err != nil {
		t.Fatalf("offline with lock and cache: %v", err)
	}
	// …a new import cannot…
	if _, err := f.res.Resolve(context.Background(), specs(t, "a", "c"), first.Lock); err == nil || !strings.Contains(err.Error(), `import "c"`) {
		t.Fatalf("offline new import: %v", err)
	}
	// …and neither can a locked build with an empty cache.
	cold := &npm.Resolver{Registry: f.reg.URL, CacheDir: t.TempDir()}
	if _, err := cold.Resolve(context.Background(), specs(t, "a"), first.Lock); err == nil {
		t.Fatal("offline with an empty cache succeeded")
	}
}

func TestLockCacheMissRedownloads(t *testing.T) {
	t.Parallel()
	f := setup(t, pkg("a", "1.0.0", nil))
	first, err := f.res.Resolve(context.Background(), specs(t, "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	other := &npm.Resolver{Registry: "http://127.0.0.1:1", CacheDir: t.TempDir()} // a registry that is not there
	r, err := other.Resolve(context.Background(), specs(t, "a"), first.Lock)
	if err != nil {
		t.Fatalf("the locked tarball URL should be used: %v", err)
	}
	if got := readFile(t, r, "a@1.0.0", "index.js"); !strings.Contains(got, "a@1.0.0") {
		t.Fatalf("index.js = %q", got)
	}
	if f.reg.Tarballs() != 2 {
		t.Fatalf("tarball requests = %d, want 2", f.reg.Tarballs())
	}

	// A lock whose integrity was tampered with is refused on download.
	tampered := *first.Lock
	tampered.Packages = map[string]*npm.LockedPackage{"a@1.0.0": {Integrity: npmtest.Integrity([]byte("x")), Tarball: first.Lock.Packages["a@1.0.0"].Tarball}}
	other.CacheDir = t.TempDir()
	if _, err := other.Resolve(context.Background(), specs(t, "a"), &tampered); !errors.Is(err, npm.ErrIntegrity) {
		t.Fatalf("tampered lock: %v", err)
	}
}

func TestBadLocks(t *testing.T) {
	t.Parallel()
	f := setup(t, pkg("a", "1.0.0", nil))
	good := &npm.LockedPackage{Integrity: npmtest.Integrity(nil), Tarball: f.reg.URL + "/x.tgz"}
	tests := []struct {
		name string
		lock npm.Lock
		want string
	}{
		{"version", npm.Lock{Version: 9}, "version 9"},
		{"traversal name", npm.Lock{Version: 1, Roots: map[string]string{"a": "../../x@1.0.0"},
			Packages: map[string]*npm.LockedPackage{"../../x@1.0.0": good}}, "not name@version"},
		{"bad version", npm.Lock{Version: 1, Packages: map[string]*npm.LockedPackage{"a@latest": good}}, "not semver"},
		{"dangling root", npm.Lock{Version: 1, Roots: map[string]string{"a": "a@1.0.0"}}, "not in the lock"},
		{"dangling dependency", npm.Lock{Version: 1, Packages: map[string]*npm.LockedPackage{
			"a@1.0.0": {Integrity: good.Integrity, Tarball: good.Tarball, Dependencies: map[string]string{"b": "b@1.0.0"}}}}, "not in the lock"},
		{"file URL", npm.Lock{Version: 1, Packages: map[string]*npm.LockedPackage{"a@1.0.0": {Integrity: good.Integrity, Tarball: "file:///etc/passwd"}}}, "not http(s)"},
		{"no integrity", npm.Lock{Version: 1, Packages: map[string]*npm.LockedPackage{"a@1.0.0": {Tarball: good.Tarball}}}, "no sha512"},
		{"pin outside range", npm.Lock{Version: 1, Roots: map[string]string{"a@^2": "a@1.0.0"},
			Packages: map[string]*npm.LockedPackage{"a@1.0.0": good}}, "outside its range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.res.Resolve(context.Background(), specs(t, "npm:a@^2"), &tt.lock)
			if !errors.Is(err, npm.ErrLock) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrLock mentioning %q", err, tt.want)
			}
		})
	}
}

func TestConcurrentResolvesShareACache(t *testing.T) {
	t.Parallel()
	var pkgs []npmtest.Package
	deps := map[string]string{}
	for _, n := range []string{"p1", "p2", "p3", "p4", "p5", "p6"} {
		pkgs = append(pkgs, pkg(n, "1.0.0", nil))
		deps[n] = "1"
	}
	pkgs = append(pkgs, pkg("top", "1.0.0", deps))
	reg := npmtest.New(t, pkgs...)
	cache := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate resolvers, as separate processes would be.
			res := &npm.Resolver{Registry: reg.URL, CacheDir: cache}
			_, errs[i] = res.Resolve(context.Background(), specs(t, "top"), nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// store/<shard>/<entry>: the 7 packages and nothing else.
	var names []string
	shards, err := os.ReadDir(filepath.Join(cache, "store"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards {
		entries, _ := os.ReadDir(filepath.Join(cache, "store", sh.Name()))
		if len(entries) == 0 {
			names = append(names, sh.Name())
		}
		for _, e := range entries {
			names = append(names, sh.Name()+"/"+e.Name())
		}
	}
	if len(names) != 7 {
		t.Fatalf("store holds %v, want the 7 packages and nothing else", names)
	}
}

func TestLockFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "locks", "x.json")
	l, err := npm.ReadLockFile(path)
	if err != nil || l != nil {
		t.Fatalf("missing file: %v %v", l, err)
	}
	want := &npm.Lock{Version: 1, Roots: map[string]string{"a": "a@1.0.0"}, Packages: map[string]*npm.LockedPackage{"a@1.0.0": {Integrity: "sha512-x", Tarball: "https://r/a.tgz"}}}
	if err := want.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := npm.ReadLockFile(path)
	if err != nil || got.Roots["a"] != "a@1.0.0" || got.Packages["a@1.0.0"].Tarball != "https://r/a.tgz" {
		t.Fatalf("read back %+v, %v", got, err)
	}
	os.WriteFile(path, []byte("{"), 0o644)
	if _, err := npm.ReadLockFile(path); !errors.Is(err, npm.ErrLock) {
		t.Fatalf("corrupt lock file: %v", err)
	}
}
