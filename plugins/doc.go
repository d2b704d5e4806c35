// Package plugins groups the language runtimes that run inside Wasm, one
// subpackage each (plugins/quickjs: the JavaScript engine). Go scripts need
// no plugin: they compile to Wasm themselves (internal/gobuild).
package plugins
