// Package jsbuild turns a TypeScript or JavaScript script into the ES
// module runlet's QuickJS plugin loads: TypeScript is stripped in process
// with esbuild's Go API, the imports runlet provides ("runlet",
// "windmill-client") stay imports, npm packages are bundled in (with
// BuildWith and an npm.Resolver), and the output keeps a source map so
// error stacks can point at the user's own lines.
package jsbuild

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/evanw/esbuild/pkg/api"

	"github.com/runlet/runlet/internal/npm"
)

// Provided are the module names the plugin resolves itself.
var Provided = []string{"runlet", "windmill-client"}

// Output is a script ready for the plugin.
type Output struct {
	Code []byte // an ES module
	Map  *SourceMap
	// Lock pins the npm packages bundled into Code; nil when the script
	// imports none. Store it with the script version and pass it back in
	// Options.Lock to rebuild with exactly these packages.
	Lock *npm.Lock
}

// Options configure BuildWith.
type Options struct {
	// NPM resolves npm imports. Nil refuses them, as Build does.
	NPM *npm.Resolver
	// Lock pins npm packages from an earlier build of the same script
	// version; imports it does not cover are resolved afresh.
	Lock *npm.Lock
}

// Error is a script esbuild refused, or whose npm imports could not be
// resolved, with the user's positions.
type Error struct {
	Messages []string // "file:line:col: text"
	Err      error    // the resolver's error, if that is what failed
}

func (e *Error) Error() string { return strings.Join(e.Messages, "\n") }

// Unwrap returns the resolver's error, so errors.Is(err, npm.ErrNotFound)
// and errors.Is(err, context.DeadlineExceeded) work.
func (e *Error) Unwrap() error { return e.Err }

// Build strips types from src (named filename; .ts, .mts, .js or .mjs) and
// checks its imports. It bundles no npm packages: an import of anything
// but the provided modules is an error naming the module.
func Build(filename string, src []byte) (*Output, error) {
	return BuildWith(context.Background(), filename, src, Options{})
}

// BuildWith is Build with npm imports: a bare import ("lodash",
// "@scope/pkg/sub") or a Deno-style "npm:name@range/sub" is resolved with
// opts.NPM (pinned by opts.Lock when it covers the import), downloaded
// into its cache and bundled into the one output module. Node built-in
// modules ("fs", "node:path", …) are refused, naming the module and the
// package that imports it.
//
// It runs esbuild twice when the script has npm imports: a first pass
// finds them (and is the whole build when there are none), the second
// bundles them once they are resolved.
func BuildWith(ctx context.Context, filename string, src []byte, opts Options) (*Output, error) {
	if opts.NPM == nil {
		res := api.Build(baseOptions(filename, src))
		return output(res, filename, legacyHint, nil)
	}
	scan := &scanner{specs: map[string]npm.Spec{}}
	first := baseOptions(filename, src)
	first.Plugins = []api.Plugin{scan.plugin()}
	res := api.Build(first)
	if len(res.Errors) > 0 || len(scan.specs) == 0 {
		return output(res, filename, scriptHint, nil)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	specs := make([]npm.Spec, 0, len(scan.specs))
	for _, key := range sortedKeys(scan.specs) {
		specs = append(specs, scan.specs[key])
	}
	resolved, err := opts.NPM.Resolve(ctx, specs, opts.Lock)
	if err != nil {
		return nil, &Error{Messages: []string{filename + ": " + err.Error()}, Err: err}
	}
	second := baseOptions(filename, src)
	second.Plugins = []api.Plugin{(&bundler{res: resolved, memo: map[resolveKey]api.ResolveResult{}}).plugin()}
	second.AbsWorkingDir = resolved.Dir()
	// Packages resolve as for a bundler targeting neither Node nor the
	// browser: ESM entry points first, CommonJS "main" otherwise.
	second.MainFields = []string{"module", "main"}
	second.Conditions = []string{"module"} // plus "import"/"require" and "default", always on
	// What bundlers commonly provide: many packages test NODE_ENV, some
	// still reach for Node's "global".
	second.Define = map[string]string{"process.env.NODE_ENV": `"production"`, "global": "globalThis"}
	// No tsconfig.json lookups anywhere, so no package can point esbuild
	// at files outside the cache.
	second.TsconfigRaw = "{}"
	res = api.Build(second)
	return output(res, filename, scriptHint, resolved)
}

func baseOptions(filename string, src []byte) api.BuildOptions {
	loader := api.LoaderJS
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".ts", ".mts", ".cts":
		loader = api.LoaderTS
	}
	return api.BuildOptions{
		Stdin: &api.StdinOptions{
			Contents:   string(src),
			Sourcefile: filename,
			Loader:     loader,
		},
		Bundle:            true,
		External:          Provided,
		Format:            api.FormatESModule,
		Target:            api.ES2020,
		Platform:          api.PlatformNeutral,
		Sourcemap:         api.SourceMapExternal,
		SourcesContent:    api.SourcesContentExclude,
		Outfile:           "script.js",
		Write:             false,
		LogLevel:          api.LogLevelSilent,
		LegalComments:     api.LegalCommentsNone,
		KeepNames:         true,
		MinifyWhitespace:  false,
		MinifyIdentifiers: false,
	}
}

// Hints appended to esbuild's "Could not resolve" for imports of the
// script itself, unless the plugin already explained.
var (
	legacyHint = " (npm and relative imports are not supported yet; scripts may import " + strings.Join(Provided, " and ") + ")"
	scriptHint = " (a script is a single file: relative and absolute imports are not supported)"
)

// output turns an esbuild result into an Output or an *Error.
func output(res api.BuildResult, filename, hint string, resolved *npm.Resolution) (*Output, error) {
	if len(res.Errors) > 0 {
		e := &Error{}
		for _, m := range res.Errors {
			text := m.Text
			file := filename
			inScript := m.Location == nil || m.Location.File == filename
			if m.Location != nil && !inScript && resolved != nil {
				file = resolved.Describe(filepath.Join(resolved.Dir(), m.Location.File))
			}
			if rest, ok := strings.CutPrefix(text, "Could not resolve "); ok && inScript {
				if q, err := strconv.QuotedPrefix(rest); err == nil && q == rest { // esbuild's bare message
					text += hint
				}
			}
			if m.Location != nil {
				e.Messages = append(e.Messages, fmt.Sprintf("%s:%d:%d: %s", file, m.Location.Line, m.Location.Column+1, text))
			} else {
				e.Messages = append(e.Messages, filename+": "+text)
			}
		}
		return nil, e
	}
	out := &Output{}
	if resolved != nil {
		out.Lock = resolved.Lock
	}
	for _, f := range res.OutputFiles {
		switch {
		case strings.HasSuffix(f.Path, ".map"):
			sm, err := parseSourceMap(f.Contents, filename, resolved)
			if err != nil {
				return nil, err
			}
			out.Map = sm
		default:
			out.Code = f.Contents
		}
	}
	if out.Code == nil {
		return nil, fmt.Errorf("jsbuild: esbuild produced no code")
	}
	return out, nil
}
