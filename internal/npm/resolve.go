package npm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Masterminds/semver/v3"
)

// Resolver resolves, downloads and caches npm packages. Its zero value is
// not usable: CacheDir is required. A Resolver is safe for concurrent use,
// and several processes may share one CacheDir.
type Resolver struct {
	// Registry is the registry's base URL. Default DefaultRegistry.
	Registry string
	// CacheDir holds unpacked packages. Required.
	CacheDir string
	// HTTPClient makes registry requests. Default: a plain http.Client;
	// Limits.HTTPTimeout bounds each request either way.
	HTTPClient *http.Client
	// Limits bound downloads and the package graph. Zero fields take
	// their defaults.
	Limits Limits
}

// fetchConcurrency is how many registry requests one Resolve runs at once.
const fetchConcurrency = 8

// Resolve pins the packages roots need and makes sure the cache holds
// them. Roots found in lock keep its versions and need no registry access
// when the cache has them (a missing cache entry is downloaded again from
// the locked tarball URL and checked against the locked integrity); other
// roots are resolved against the registry. The returned Resolution's Lock
// holds exactly the given roots.
func (r *Resolver) Resolve(ctx context.Context, roots []Spec, lock *Lock) (*Resolution, error) {
	s, err := r.session()
	if err != nil {
		return nil, err
	}
	if lock != nil {
		if err := lock.validate(); err != nil {
			return nil, fmt.Errorf("npm: %w", err)
		}
	}
	out := &Lock{Version: LockVersion, Roots: map[string]string{}, Packages: map[string]*LockedPackage{}}
	var fresh []Spec
	seen := map[string]bool{}
	for _, root := range roots {
		key := root.Key()
		if seen[key] {
			continue
		}
		seen[key] = true
		if err := checkName(root.Name); err != nil {
			return nil, fmt.Errorf("npm: %w %q: %v", ErrSpecifier, root.String(), err)
		}
		if lock != nil && lock.Roots[key] != "" {
			if err := checkPin(root, lock.Roots[key]); err != nil {
				return nil, fmt.Errorf("npm: %w", err)
			}
			lock.copyRoot(out, key)
			continue
		}
		fresh = append(fresh, root)
	}
	if len(out.Packages) > s.lim.MaxPackages {
		return nil, fmt.Errorf("npm: %w", &LimitError{Kind: "packages", Limit: int64(s.lim.MaxPackages)})
	}
	if len(fresh) > 0 {
		if err := s.resolve(ctx, out, fresh); err != nil {
			return nil, fmt.Errorf("npm: %w", err)
		}
	}
	if err := s.install(ctx, out); err != nil {
		return nil, fmt.Errorf("npm: %w", err)
	}
	return s.resolution(out), nil
}

// checkPin refuses a lock whose root no longer satisfies its own key.
func checkPin(root Spec, key string) error {
	name, version, _ := SplitKey(key)
	if name != root.Name {
		return fmt.Errorf("%w: root %q is pinned to another package, %s", ErrLock, root.Key(), key)
	}
	if root.Range == "" {
		return nil
	}
	c, err := semver.NewConstraint(root.Range)
	if err != nil {
		return nil // a dist-tag: whatever it named when the lock was made
	}
	v, err := semver.StrictNewVersion(version)
	if err != nil || !c.Check(v) {
		return fmt.Errorf("%w: root %q is pinned to %s, outside its range", ErrLock, root.Key(), key)
	}
	return nil
}

// session is the state of one Resolve.
type session struct {
	registry string
	store    string
	client   *http.Client
	lim      Limits
	budget   atomic.Int64 // bytes still allowed by MaxTotalBytes

	mu         sync.Mutex
	packuments map[string]*packumentCall
}

type packumentCall struct {
	done chan struct{}
	p    *packument
	err  error
}

func (r *Resolver) session() (*session, error) {
	if err := r.Limits.validate(); err != nil {
		return nil, err
	}
	if r.CacheDir == "" {
		return nil, errors.New("npm: Resolver.CacheDir is required")
	}
	reg := strings.TrimRight(r.Registry, "/")
	if reg == "" {
		reg = DefaultRegistry
	}
	if u, err := url.Parse(reg); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("npm: registry %q is not an http(s) URL", r.Registry)
	}
	store, err := filepath.Abs(filepath.Join(r.CacheDir, "store"))
	if err != nil {
		return nil, err
	}
	client := r.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	s := &session{registry: reg, store: store, client: client, lim: r.Limits.withDefaults(), packuments: map[string]*packumentCall{}}
	s.budget.Store(s.lim.MaxTotalBytes)
	return s, nil
}

// get downloads u into memory: see stream.
func (s *session) get(ctx context.Context, u, accept string, max int64, kind string) ([]byte, error) {
	var b []byte
	err := s.stream(ctx, u, accept, max, kind, func(r io.Reader) (err error) {
		b, err = io.ReadAll(r)
		return err
	})
	return b, err
}

// stream GETs u and hands the body to consume: at most max bytes (else a
// LimitError of kind), within Limits.HTTPTimeout and the session's
// MaxTotalBytes budget.
func (s *session) stream(ctx context.Context, u, accept string, max int64, kind string, consume func(io.Reader) error) error {
	rctx, cancel := context.WithTimeout(ctx, s.lim.HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %v", u, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("User-Agent", "runlet")
	failed := func(err error) error {
		var le *LimitError
		switch {
		case errors.As(err, &le):
		case ctx.Err() == nil && rctx.Err() == context.DeadlineExceeded:
			return fmt.Errorf("GET %s: no complete answer within %s (Limits.HTTPTimeout): %w", u, s.lim.HTTPTimeout, context.DeadlineExceeded)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it repeats the method and URL
		}
		return fmt.Errorf("GET %s: %w", u, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return failed(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("GET %s: %w", u, ErrNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: registry answered %s", u, resp.Status)
	}
	if resp.ContentLength > max {
		return failed(&LimitError{Kind: kind, Limit: max})
	}
	if err := consume(&boundedReader{r: resp.Body, max: max, left: max, kind: kind, s: s}); err != nil {
		return failed(err)
	}
	return nil
}

// boundedReader fails with a LimitError past its own limit or the
// session's total budget.
type boundedReader struct {
	r         io.Reader
	max, left int64
	kind      string
	s         *session
}

func (b *boundedReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, &LimitError{Kind: b.kind, Limit: b.max}
	}
	if b.s.budget.Add(-int64(n)) < 0 {
		return 0, &LimitError{Kind: "total bytes", Limit: b.s.lim.MaxTotalBytes}
	}
	return n, err
}

// packument fetches a package's registry document once per session.
func (s *session) packument(ctx context.Context, name string) (*packument, error) {
	s.mu.Lock()
	c, ok := s.packuments[name]
	if !ok {
		c = &packumentCall{done: make(chan struct{})}
		s.packuments[name] = c
	}
	s.mu.Unlock()
	if ok {
		select {
		case <-c.done:
			return c.p, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer close(c.done)
	b, err := s.get(ctx, packumentURL(s.registry, name), "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*", s.lim.MaxPackumentBytes, "packument bytes")
	if errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("%w in registry %s", ErrNotFound, s.registry)
	}
	if err != nil {
		c.err = err
		return nil, err
	}
	var p packument
	if err := json.Unmarshal(b, &p); err != nil {
		c.err = fmt.Errorf("registry metadata of %s is not JSON: %v", name, err)
		return nil, c.err
	}
	if p.Name != "" && p.Name != name {
		c.err = fmt.Errorf("registry answered for %q with metadata of %q", name, p.Name)
		return nil, c.err
	}
	p.Name = name
	c.p = &p
	return c.p, nil
}

// edge is one dependency to resolve: whose it is and what it asks for.
type edge struct {
	from     string // package key; "" for a root
	as       string // the name the importer uses (alias or root key)
	spec     Spec
	optional bool
	via      string // for errors: `import "x"` or `a@1.0.0 → b@^2`
}

// resolve adds the graph of roots to out, breadth first. Fetches within a
// level run concurrently; choices do not depend on order (a range always
// picks the same version), so the lock is deterministic.
func (s *session) resolve(ctx context.Context, out *Lock, roots []Spec) error {
	var level []edge
	for _, r := range roots {
		level = append(level, edge{as: r.Key(), spec: r, via: fmt.Sprintf("import %q", r.String())})
	}
	type peer struct {
		key, name, rng string
	}
	var peers []peer
	for len(level) > 0 {
		if err := s.prefetch(ctx, level); err != nil {
			return err
		}
		var next []edge
		for _, e := range level {
			key, m, err := s.choose(ctx, e.spec)
			if err != nil {
				if e.optional && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrNoVersion)) {
					continue
				}
				return fmt.Errorf("%s: %w", e.via, err)
			}
			if e.optional && (restricts(m.OS) || restricts(m.CPU)) {
				continue // a platform-specific (native) build: useless in the sandbox
			}
			if e.from == "" {
				out.Roots[e.as] = key
			} else {
				p := out.Packages[e.from]
				if p.Dependencies == nil {
					p.Dependencies = map[string]string{}
				}
				p.Dependencies[e.as] = key
			}
			if out.Packages[key] != nil {
				continue
			}
			if len(out.Packages) >= s.lim.MaxPackages {
				return &LimitError{Kind: "packages", Limit: int64(s.lim.MaxPackages)}
			}
			d, err := expectedDigest(m.Dist.Integrity, m.Dist.Shasum)
			if err != nil {
				return fmt.Errorf("%s: %s: %v", e.via, key, err)
			}
			if err := checkTarballURL(m.Dist.Tarball); err != nil {
				return fmt.Errorf("%s: %s: %v", e.via, key, err)
			}
			out.Packages[key] = &LockedPackage{Integrity: d.String(), Tarball: m.Dist.Tarball}
			for _, dep := range sortedKeys(m.Dependencies) {
				if _, opt := m.OptionalDependencies[dep]; opt {
					continue
				}
				de, err := depEdge(key, dep, m.Dependencies[dep], false)
				if err != nil {
					return fmt.Errorf("%s: %w", e.via, err)
				}
				next = append(next, de)
			}
			for _, dep := range sortedKeys(m.OptionalDependencies) {
				if de, err := depEdge(key, dep, m.OptionalDependencies[dep], true); err == nil {
					next = append(next, de)
				}
			}
			for _, dep := range sortedKeys(m.PeerDependencies) {
				if _, ok := m.Dependencies[dep]; !ok {
					peers = append(peers, peer{key, dep, m.PeerDependencies[dep]})
				}
			}
		}
		level = next
	}
	for _, p := range peers {
		if target := peerTarget(out, p.name, p.rng); target != "" {
			pkg := out.Packages[p.key]
			if pkg.Dependencies == nil {
				pkg.Dependencies = map[string]string{}
			}
			pkg.Dependencies[p.name] = target
		}
	}
	return nil
}

// restricts: a package.json "os" or "cpu" value that names platforms.
func restricts(field json.RawMessage) bool {
	var list []string
	if json.Unmarshal(field, &list) == nil {
		return len(list) > 0
	}
	var one string
	return json.Unmarshal(field, &one) == nil && one != ""
}

func depEdge(from, name, value string, optional bool) (edge, error) {
	if err := checkName(name); err != nil {
		return edge{}, fmt.Errorf("%s: dependency %q: %v", from, name, err)
	}
	spec, err := parseDep(name, value)
	if err != nil {
		return edge{}, fmt.Errorf("%s: %w", from, err)
	}
	return edge{from: from, as: name, spec: spec, optional: optional, via: fmt.Sprintf("%s → %s@%s", from, name, value)}, nil
}

// peerTarget is the package a peer dependency links to: a root import of
// that name first, then any package of that name in the graph, the highest
// version in the peer range first; "" when the graph has none.
func peerTarget(l *Lock, name, rng string) string {
	c, _ := semver.NewConstraint(rng)
	fits := func(key string) bool {
		n, v, _ := SplitKey(key)
		if n != name {
			return false
		}
		sv, err := semver.StrictNewVersion(v)
		return err == nil && (c == nil || c.Check(sv))
	}
	best := func(keys []string) string {
		var bestKey string
		var bestV *semver.Version
		for _, k := range keys {
			if !fits(k) {
				continue
			}
			_, v, _ := SplitKey(k)
			sv := semver.MustParse(v)
			if bestV == nil || sv.GreaterThan(bestV) {
				bestKey, bestV = k, sv
			}
		}
		return bestKey
	}
	if k := best(sortedValues(l.Roots)); k != "" {
		return k
	}
	return best(sortedKeys(l.Packages))
}

// prefetch fetches the packuments a level needs, fetchConcurrency at a
// time; errors surface again, with context, in choose.
func (s *session) prefetch(ctx context.Context, level []edge) error {
	names := map[string]bool{}
	for _, e := range level {
		names[e.spec.Name] = true
	}
	sem := make(chan struct{}, fetchConcurrency)
	var wg sync.WaitGroup
	for name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, _ = s.packument(ctx, name)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (s *session) choose(ctx context.Context, spec Spec) (string, *manifest, error) {
	p, err := s.packument(ctx, spec.Name)
	if err != nil {
		return "", nil, err
	}
	v, err := p.pick(spec.Range)
	if err != nil {
		return "", nil, err
	}
	m, err := p.manifest(v)
	if err != nil {
		return "", nil, err
	}
	return PackageKey(spec.Name, v), m, nil
}

// entryName is a package's directory in the store, slash-separated:
// readable, content-addressed by its integrity, and sharded by the first
// byte of that hash so no directory esbuild lists grows with the cache.
func entryName(key string, p *LockedPackage) string {
	sum := sha256.Sum256([]byte(p.Integrity))
	h := hex.EncodeToString(sum[:8])
	return h[:2] + "/" + strings.ReplaceAll(key, "/", "+") + "-" + h
}

// install makes sure the store holds every package of l, downloading what
// it lacks fetchConcurrency at a time.
func (s *session) install(ctx context.Context, l *Lock) error {
	if err := os.MkdirAll(s.store, 0o755); err != nil {
		return err
	}
	var missing []string
	for _, key := range sortedKeys(l.Packages) {
		if fi, err := os.Stat(filepath.Join(s.store, filepath.FromSlash(entryName(key, l.Packages[key])))); err != nil || !fi.IsDir() {
			missing = append(missing, key)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(missing))
	sem := make(chan struct{}, fetchConcurrency)
	var wg sync.WaitGroup
	for i, key := range missing {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.fetch(ctx, key, l.Packages[key]); err != nil {
				errs[i] = fmt.Errorf("%s: %w", key, err)
				cancel()
			}
		}()
	}
	wg.Wait()
	// The first error in key order that is not a consequence of cancel.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// fetch downloads, verifies and unpacks one package into the store. The
// tarball streams to a temporary file (so memory stays flat however many
// downloads run) and is hashed on the way. The entry appears by rename,
// complete or not at all; when another build renamed it first, its copy is
// as good as ours.
func (s *session) fetch(ctx context.Context, key string, p *LockedPackage) error {
	want, err := parseIntegrity(p.Integrity)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(s.store, ".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tgz, err := os.Create(filepath.Join(tmp, "package.tgz"))
	if err != nil {
		return err
	}
	defer tgz.Close()
	h := want.hash()
	err = s.stream(ctx, p.Tarball, "", s.lim.MaxTarballBytes, "tarball bytes", func(r io.Reader) error {
		_, err := io.Copy(io.MultiWriter(tgz, h), r)
		return err
	})
	if err != nil {
		return err
	}
	if err := want.check(h.Sum(nil)); err != nil {
		return fmt.Errorf("%s: %w", p.Tarball, err)
	}
	if _, err := tgz.Seek(0, io.SeekStart); err != nil {
		return err
	}
	entry := filepath.Join(tmp, "entry")
	name, _, _ := SplitKey(key)
	if err := extract(tgz, filepath.Join(entry, "node_modules", filepath.FromSlash(name)), s.lim); err != nil {
		return fmt.Errorf("%s: %w", p.Tarball, err)
	}
	final := filepath.Join(s.store, filepath.FromSlash(entryName(key, p)))
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	if err := os.Rename(entry, final); err != nil {
		if fi, serr := os.Stat(final); serr == nil && fi.IsDir() {
			return nil
		}
		return err
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
