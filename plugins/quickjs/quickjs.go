// Package quickjs carries runlet's QuickJS plugin: the QuickJS JavaScript
// interpreter (release 2021-03-27) compiled to a wasm32-wasi reactor module
// that speaks runlet's guest ABI v1 (see package pdk), plus the export
// runlet_load that compiles a script (an ES module) once per instance.
//
// The module is built by build.sh from pinned sources (SOURCE) with the
// glue in glue/runlet.c and the patch in patches/, and committed so that
// building runlet needs no C toolchain; TestModuleMatchesRecipe checks that
// the embedded bytes match quickjs.wasm.sha256 and SHA256, and rebuilds the
// module for comparison when RUNLET_REBUILD_PLUGINS=1 and clang is present.
//
// Calling convention: the host calls _initialize, then runlet_load with the
// script's source (TypeScript already stripped), then runlet_warmup, and
// snapshots. Each job is runlet_alloc + runlet_run with the JSON document
// {"args":[...]} holding main's arguments in parameter order; the result
// is JSON.stringify of main's (awaited) value, undefined becoming null.
// A task job (workflows as code) gets {"args":[...],"task":"NAME"} and
// runs the script's task function NAME instead of main.
// The script's module name is "<script>", so stack traces read
// "at main (<script>:LINE)".
package quickjs

import _ "embed"

// Wasm is the QuickJS reactor module.
//
//go:embed quickjs.wasm
var Wasm []byte

// SHA256 is the hex SHA-256 of Wasm, written by build.sh.
const SHA256 = "8ad4973812635217c540c37df9aa302e4cf5ccb935359ae998f456c71dde188f"
