// Package jsbuild turns a TypeScript or JavaScript script into the ES
// module runlet's QuickJS plugin loads: TypeScript is stripped in process
// with esbuild's Go API, the imports runlet provides ("runlet",
// "windmill-client") stay imports, and the output keeps a source map so
// error stacks can point at the user's own lines.
package jsbuild

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Provided are the module names the plugin resolves itself.
var Provided = []string{"runlet", "windmill-client"}

// Output is a script ready for the plugin.
type Output struct {
	Code []byte // an ES module
	Map  *SourceMap
}

// Error is a script esbuild refused, with the user's positions.
type Error struct {
	Messages []string // "file:line:col: text"
}

func (e *Error) Error() string { return strings.Join(e.Messages, "\n") }

// Build strips types from src (named filename; .ts, .mts, .js or .mjs) and
// checks its imports. npm packages are not bundled yet: an import of
// anything but the provided modules is an error naming the module.
func Build(filename string, src []byte) (*Output, error) {
	loader := api.LoaderJS
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".ts", ".mts", ".cts":
		loader = api.LoaderTS
	}
	res := api.Build(api.BuildOptions{
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
		Outfile:           "script.js",
		Write:             false,
		LogLevel:          api.LogLevelSilent,
		LegalComments:     api.LegalCommentsNone,
		KeepNames:         true,
		MinifyWhitespace:  false,
		MinifyIdentifiers: false,
	})
	if len(res.Errors) > 0 {
		e := &Error{}
		for _, m := range res.Errors {
			text := m.Text
			if strings.HasPrefix(text, "Could not resolve") {
				text += " (npm and relative imports are not supported yet; scripts may import " + strings.Join(Provided, " and ") + ")"
			}
			if m.Location != nil {
				e.Messages = append(e.Messages, fmt.Sprintf("%s:%d:%d: %s", filename, m.Location.Line, m.Location.Column+1, text))
			} else {
				e.Messages = append(e.Messages, filename+": "+text)
			}
		}
		return nil, e
	}
	out := &Output{}
	for _, f := range res.OutputFiles {
		switch {
		case strings.HasSuffix(f.Path, ".map"):
			sm, err := parseSourceMap(f.Contents)
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
