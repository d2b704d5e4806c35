package jsbuild

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/evanw/esbuild/pkg/api"

	"github.com/runlet/runlet/internal/npm"
)

// scanner is the first pass's plugin: it collects the script's npm
// imports (leaving them external) and refuses Node built-ins and
// malformed specifiers at the import that names them.
type scanner struct {
	mu    sync.Mutex
	specs map[string]npm.Spec // by Spec.Key
}

func (s *scanner) plugin() api.Plugin {
	return api.Plugin{Name: "runlet-npm-scan", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			if slices.Contains(Provided, a.Path) || isPath(a.Path) {
				return api.OnResolveResult{}, nil // esbuild: external, or "Could not resolve"
			}
			if npm.Builtin(a.Path) {
				return fail(scriptBuiltin(a.Path)), nil
			}
			spec, err := npm.ParseImport(a.Path)
			if err != nil {
				return fail(err.Error()), nil
			}
			s.mu.Lock()
			s.specs[spec.Key()] = spec
			s.mu.Unlock()
			return api.OnResolveResult{Path: a.Path, External: true}, nil
		})
	}}
}

// bundler is the second pass's plugin:
//   - the provided modules stay external;
//   - Node built-ins are refused, naming the module and the importer;
//   - the script's npm imports go to their locked root package;
//   - a package's bare imports go to its locked dependency (by the name
//     it uses, so "npm:" aliases work), and esbuild resolves the bare path
//     from that package's cache entry, applying "exports" and main fields;
//   - a package's relative imports (and "#imports") resolve natively;
//   - every file esbuild loads must lie inside one of the resolution's
//     packages (OnLoad), so no import can pull in "../../../etc/passwd".
//
// esbuild's build.Resolve starts a resolver with empty caches on every
// call (it re-reads each ancestor directory), so bare imports are
// memoised per build and relative ones, the bulk of a package's imports,
// never go through it.
type bundler struct {
	res  *npm.Resolution
	mu   sync.Mutex
	memo map[resolveKey]api.ResolveResult
}

type resolveKey struct {
	dir, path string
	kind      api.ResolveKind
}

// again marks the plugin's own build.Resolve calls, which go to esbuild's
// resolver untouched.
type again struct{}

func (p *bundler) plugin() api.Plugin {
	return api.Plugin{Name: "runlet-npm", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			if _, ok := a.PluginData.(again); ok {
				return api.OnResolveResult{}, nil
			}
			if slices.Contains(Provided, a.Path) {
				return api.OnResolveResult{Path: a.Path, External: true}, nil
			}
			if a.Namespace != "file" { // the script (esbuild's stdin)
				return p.fromScript(b, a), nil
			}
			return p.fromPackage(b, a), nil
		})
		b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: "file"}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
			if _, _, ok := p.res.PackageOf(a.Path); !ok {
				return api.OnLoadResult{Errors: []api.Message{{Text: "import resolves outside the npm packages"}}}, nil
			}
			return api.OnLoadResult{}, nil // esbuild reads the file
		})
	}}
}

func (p *bundler) fromScript(b api.PluginBuild, a api.OnResolveArgs) api.OnResolveResult {
	if isPath(a.Path) {
		return fail(fmt.Sprintf("Could not resolve %q%s", a.Path, scriptHint))
	}
	if npm.Builtin(a.Path) {
		return fail(scriptBuiltin(a.Path))
	}
	spec, err := npm.ParseImport(a.Path)
	if err != nil {
		return fail(err.Error())
	}
	t, ok := p.res.ScriptImport(spec)
	if !ok { // the first pass saw every import; this is a bug
		return fail(fmt.Sprintf("npm import %q was not resolved", a.Path))
	}
	return p.resolveIn(b, a, t.Dir, t.Import, t.Package)
}

func (p *bundler) fromPackage(b api.PluginBuild, a api.OnResolveArgs) api.OnResolveResult {
	pkg, _, ok := p.res.PackageOf(a.Importer)
	if !ok {
		return fail(fmt.Sprintf("import %q from %s, which is not part of an npm package", a.Path, a.Importer))
	}
	if isPath(a.Path) || strings.HasPrefix(a.Path, "#") {
		return api.OnResolveResult{} // esbuild's own resolver; OnLoad checks where it lands
	}
	spec, err := npm.ParseImport(a.Path)
	// A bare built-in name the package declares as a dependency (or the
	// script imports as "npm:name") is the npm package of that name
	// ("events", "buffer", "punycode" polyfills), as in browser bundlers;
	// otherwise it is Node's module.
	var t npm.Target
	declared := false
	if err == nil {
		t, declared = p.res.PackageImport(a.Importer, spec)
	}
	if npm.Builtin(a.Path) && !(declared && !strings.HasPrefix(a.Path, "node:")) {
		return fail(fmt.Sprintf("package %s imports Node built-in module %q, which is not available in runlet scripts", pkg, a.Path))
	}
	if err != nil {
		return fail(fmt.Sprintf("package %s: %v", pkg, err))
	}
	if !declared {
		msg := fmt.Sprintf("package %s imports %q, which is not among its dependencies", pkg, a.Path)
		if a.Kind == api.ResolveJSRequireCall || a.Kind == api.ResolveJSRequireResolve || a.Kind == api.ResolveJSDynamicImport {
			// Often an optional dependency probed inside try/catch: left
			// for run time, where it throws if reached.
			return api.OnResolveResult{Path: a.Path, External: true, Warnings: []api.Message{{Text: msg}}}
		}
		return fail(msg)
	}
	return p.resolveIn(b, a, t.Dir, t.Import, t.Package)
}

// resolveIn lets esbuild resolve the bare import path from dir, where the
// target package's node_modules is. pkg names that package in messages.
func (p *bundler) resolveIn(b api.PluginBuild, a api.OnResolveArgs, dir, path, pkg string) api.OnResolveResult {
	k := resolveKey{dir, path, a.Kind}
	p.mu.Lock()
	r, ok := p.memo[k]
	p.mu.Unlock()
	if !ok {
		r = b.Resolve(path, api.ResolveOptions{
			Importer:   a.Importer,
			Namespace:  a.Namespace,
			ResolveDir: dir,
			Kind:       a.Kind,
			PluginData: again{},
			With:       a.With,
		})
		p.mu.Lock()
		p.memo[k] = r
		p.mu.Unlock()
	}
	if len(r.Errors) > 0 {
		errs := slices.Clone(r.Errors)
		for i, m := range errs {
			if strings.HasPrefix(m.Text, "Could not resolve") {
				errs[i].Text = fmt.Sprintf("Could not resolve %q (package %s has no such file or export)", a.Path, pkg)
			}
		}
		return api.OnResolveResult{Errors: errs}
	}
	if r.External || r.Namespace != "file" {
		return fail(fmt.Sprintf("import %q of package %s resolved to no file", a.Path, pkg))
	}
	se := api.SideEffectsTrue
	if !r.SideEffects {
		se = api.SideEffectsFalse
	}
	return api.OnResolveResult{Path: r.Path, Namespace: r.Namespace, Suffix: r.Suffix, SideEffects: se, PluginData: r.PluginData}
}

// isPath: a relative or absolute path rather than a package name.
func isPath(p string) bool {
	switch {
	case p == "." || p == "..", strings.HasPrefix(p, "./"), strings.HasPrefix(p, "../"):
		return true
	case strings.HasPrefix(p, "/"), strings.HasPrefix(p, `\`):
		return true
	case len(p) > 2 && p[1] == ':' && (p[2] == '/' || p[2] == '\\'): // C:\
		return true
	}
	return false
}

func scriptBuiltin(path string) string {
	return fmt.Sprintf("Node built-in module %q is not available in runlet scripts (to bundle the npm package of that name instead, import \"npm:%s\")", path, strings.TrimPrefix(path, "node:"))
}

func fail(text string) api.OnResolveResult {
	return api.OnResolveResult{Errors: []api.Message{{Text: text}}}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
