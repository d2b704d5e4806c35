// Package npmtest serves a fake npm registry on 127.0.0.1 for tests:
// packuments and gzip tarballs built in memory, with real integrity
// hashes, and a few ways to misbehave.
package npmtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Masterminds/semver/v3"
)

// Package is one published package version.
type Package struct {
	Name, Version string
	// Files are the package's files by path ("index.js", "lib/a.js"). A
	// package.json is generated from the other fields unless Files has one.
	Files                map[string]string
	Main                 string // package.json "main"
	Module               string // package.json "module"
	Exports              any    // package.json "exports"
	Dependencies         map[string]string
	OptionalDependencies map[string]string
	PeerDependencies     map[string]string
	OS                   []string // package.json "os"

	// Tarball, when set, is served instead of one built from Files (and
	// its integrity is computed from it).
	Tarball []byte
	// Integrity, when set, is advertised instead of the real one.
	Integrity string
	// ShasumOnly advertises only dist.shasum, as very old packages do.
	ShasumOnly bool
}

// Registry is a running fake registry.
type Registry struct {
	URL string // http://127.0.0.1:port

	srv      *httptest.Server
	mu       sync.Mutex
	pkgs     map[string][]published
	tags     map[string]map[string]string
	requests atomic.Int64
	tarballs atomic.Int64
}

// New starts a registry serving pkgs; it stops when the test ends.
func New(tb testing.TB, pkgs ...Package) *Registry {
	tb.Helper()
	r := &Registry{pkgs: map[string][]published{}, tags: map[string]map[string]string{}}
	for _, p := range pkgs {
		r.Add(p)
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	tb.Cleanup(r.srv.Close)
	return r
}

// published is a Package with its tarball built once.
type published struct {
	Package
	tgz []byte
}

// Add publishes p.
func (r *Registry) Add(p Package) {
	tgz := p.tarball()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pkgs[p.Name] = append(r.pkgs[p.Name], published{p, tgz})
}

// Tag points a dist-tag at a version (by default "latest" is the highest
// release).
func (r *Registry) Tag(name, tag, version string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tags[name] == nil {
		r.tags[name] = map[string]string{}
	}
	r.tags[name][tag] = version
}

// Close stops the registry: later requests fail to connect.
func (r *Registry) Close() { r.srv.Close() }

// Requests counts the requests served so far; Tarballs the tarball ones.
func (r *Registry) Requests() int64 { return r.requests.Load() }

// Tarballs counts the tarball requests served so far.
func (r *Registry) Tarballs() int64 { return r.tarballs.Load() }

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	// Scoped packuments come as /@scope%2fname, tarballs as /-/tarball/<name>/<version>.
	raw := req.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(raw, "/-/tarball/"); ok {
		r.tarballs.Add(1)
		i := strings.LastIndexByte(rest, '/')
		name, _ := url.PathUnescape(rest[:max(i, 0)])
		if p, ok := r.find(name, rest[i+1:]); ok {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(p.tgz)
			return
		}
		http.NotFound(w, req)
		return
	}
	if strings.HasPrefix(raw, "/@") && strings.Count(raw, "/") != 1 {
		http.Error(w, "scoped names must be escaped as @scope%2fname", http.StatusBadRequest)
		return
	}
	name, err := url.PathUnescape(strings.TrimPrefix(raw, "/"))
	if err != nil {
		http.NotFound(w, req)
		return
	}
	doc, ok := r.packument("http://"+req.Host, name)
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"Not found"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}

func (r *Registry) find(name, version string) (published, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pkgs[name] {
		if p.Version == version {
			return p, true
		}
	}
	return published{}, false
}

func (r *Registry) packument(base, name string) (map[string]any, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	vs, ok := r.pkgs[name]
	if !ok {
		return nil, false
	}
	versions := map[string]any{}
	tags := map[string]string{}
	var latest *semver.Version
	for _, p := range vs {
		m := p.manifest()
		tb := p.tgz
		dist := map[string]any{"tarball": base + "/-/tarball/" + url.PathEscape(p.Name) + "/" + p.Version}
		sha := sha1.Sum(tb)
		dist["shasum"] = hex.EncodeToString(sha[:])
		if !p.ShasumOnly {
			dist["integrity"] = Integrity(tb)
			if p.Integrity != "" {
				dist["integrity"] = p.Integrity
			}
		}
		m["dist"] = dist
		versions[p.Version] = m
		if v, err := semver.StrictNewVersion(p.Version); err == nil && v.Prerelease() == "" && (latest == nil || v.GreaterThan(latest)) {
			latest = v
			tags["latest"] = p.Version
		}
	}
	for t, v := range r.tags[name] {
		tags[t] = v
	}
	return map[string]any{"name": name, "dist-tags": tags, "versions": versions}, true
}

func (p Package) manifest() map[string]any {
	m := map[string]any{"name": p.Name, "version": p.Version}
	set := func(k string, v any, present bool) {
		if present {
			m[k] = v
		}
	}
	set("main", p.Main, p.Main != "")
	set("module", p.Module, p.Module != "")
	set("exports", p.Exports, p.Exports != nil)
	set("dependencies", p.Dependencies, p.Dependencies != nil)
	set("optionalDependencies", p.OptionalDependencies, p.OptionalDependencies != nil)
	set("peerDependencies", p.PeerDependencies, p.PeerDependencies != nil)
	set("os", p.OS, p.OS != nil)
	return m
}

func (p Package) tarball() []byte {
	if p.Tarball != nil {
		return p.Tarball
	}
	files := map[string]string{}
	for k, v := range p.Files {
		files[k] = v
	}
	if _, ok := files["package.json"]; !ok {
		b, _ := json.MarshalIndent(p.manifest(), "", "  ")
		files["package.json"] = string(b)
	}
	entries := make([]Entry, 0, len(files))
	for _, name := range sortedKeys(files) {
		entries = append(entries, Entry{Name: "package/" + name, Body: files[name]})
	}
	return Tarball(entries...)
}

// Entry is one tar entry of a hand-made tarball.
type Entry struct {
	Name     string
	Body     string
	Type     byte   // tar.TypeReg when zero
	Linkname string // for links
}

// Tarball builds a gzip tar archive of entries, as given (no "package/"
// prefix is added).
func Tarball(entries ...Entry) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Linkname, Mode: 0o644}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if h.Typeflag == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.Body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// Integrity is the sha512 SRI string of b.
func Integrity(b []byte) string {
	sum := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
