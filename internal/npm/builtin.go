package npm

import "strings"

// nodeBuiltins are the modules Node provides itself (node's
// require("module").builtinModules, Node 24). None of them exists in
// runlet's QuickJS sandbox.
var nodeBuiltins = map[string]bool{}

func init() {
	for _, m := range strings.Fields(`
		_http_agent _http_client _http_common _http_incoming _http_outgoing _http_server
		_stream_duplex _stream_passthrough _stream_readable _stream_transform _stream_wrap
		_stream_writable _tls_common _tls_wrap
		assert assert/strict async_hooks buffer child_process cluster console constants
		crypto dgram diagnostics_channel dns dns/promises domain events fs fs/promises
		http http2 https inspector inspector/promises module net os path path/posix
		path/win32 perf_hooks process punycode querystring readline readline/promises
		repl stream stream/consumers stream/promises stream/web string_decoder sys
		timers timers/promises tls trace_events tty url util util/types v8 vm wasi
		worker_threads zlib`) {
		nodeBuiltins[m] = true
	}
}

// Builtin reports whether an import path names a Node built-in module:
// anything under "node:" (node:test, node:sqlite and node:sea exist only
// with the prefix) or a bare name from Node's list. As in Node, "punycode/"
// (trailing slash) is not the built-in but the npm package.
func Builtin(path string) bool {
	if strings.HasPrefix(path, "node:") {
		return true
	}
	return nodeBuiltins[path]
}
