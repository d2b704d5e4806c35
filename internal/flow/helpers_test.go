package flow

import (
	"strings"
	"testing"
)

// doc wraps module JSON objects in a flow document.
func doc(mods ...string) string {
	return `{"summary":"t","value":{"modules":[` + strings.Join(mods, ",") + `]}}`
}

// ident is a valid identity module with the given id.
func ident(id string) string { return `{"id":"` + id + `","value":{"type":"identity"}}` }

// mod is a module with id and the given value JSON, plus extra top-level
// module fields (",..."-prefixed JSON members, or "").
func mod(id, value, extra string) string {
	return `{"id":"` + id + `","value":` + value + extra + `}`
}

// mustParse parses doc, failing the test on an error.
func mustParse(t testing.TB, doc string) (*Flow, []Warning) {
	t.Helper()
	f, w, err := Parse([]byte(doc), Options{})
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, doc)
	}
	return f, w
}

// allTypes is a flow with a module of every type, as JSON.
const allTypes = `{
  "summary": "every module type",
  "description": "seed",
  "value": {
    "modules": [
      {"id": "a", "summary": "raw", "value": {"type": "rawscript", "language": "bun", "content": "export function main(x) { return x }",
        "input_transforms": {"x": {"type": "javascript", "expr": "flow_input.x"}, "y": {"type": "static", "value": {"k": [1, "<b>"]}}, "z": {"type": "static"}}},
        "stop_after_if": {"expr": "result == undefined", "skip_if_stopped": true, "error_message": "nothing"},
        "cache_ttl": 60, "timeout": 30, "priority": 1, "continue_on_error": true,
        "retry": {"constant": {"attempts": 3, "seconds": 5}, "exponential": {"attempts": 2, "multiplier": 2, "seconds": 1, "random_factor": 10}}},
      {"id": "b", "value": {"type": "script", "path": "u/bob/hello", "hash": "0123456789abcdef", "input_transforms": {"name": {"type": "javascript", "expr": "results.a"}}},
        "skip_if": {"expr": "flow_input.skip"}, "sleep": {"type": "static", "value": 2}, "mock": {"enabled": true, "return_value": {"ok": true}}},
      {"id": "c", "value": {"type": "flow", "path": "f/etl/daily/load"}, "suspend": {"required_events": 1, "timeout": 3600, "continue_on_disapprove_timeout": true}},
      {"id": "d", "value": {"type": "forloopflow", "iterator": {"type": "javascript", "expr": "results.b"}, "skip_failures": true, "parallel": true, "parallelism": 4,
        "modules": [{"id": "d1", "value": {"type": "rawscript", "language": "go", "content": "package main", "input_transforms": {"it": {"type": "javascript", "expr": "flow_input.iter.value"}}}}]},
        "stop_after_all_iters_if": {"expr": "result.length > 3"}},
      {"id": "e", "value": {"type": "whileloopflow", "modules": [{"id": "e1", "value": {"type": "identity"}, "stop_after_if": {"expr": "flow_input.iter.index >= 2"}}]}},
      {"id": "f", "value": {"type": "branchone", "branches": [{"summary": "big", "expr": "results.a > 10", "modules": [{"id": "f1", "value": {"type": "identity", "flow": true}}]}],
        "default": [{"id": "f2", "value": {"type": "identity"}}]}},
      {"id": "g", "value": {"type": "branchall", "parallel": true, "branches": [{"skip_failure": true, "modules": [{"id": "g1", "value": {"type": "identity"}}]}, {"modules": []}]}},
      {"id": "h", "value": {"type": "identity"}}
    ],
    "failure_module": {"value": {"type": "rawscript", "language": "javascript", "content": "export function main(e) {}", "input_transforms": {"e": {"type": "javascript", "expr": "error"}}}},
    "early_return": "b",
    "skip_expr": "flow_input.off === true"
  },
  "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {"x": {"type": "string"}}}
}`

// allTypesYAML is a YAML flow with a module of every type.
const allTypesYAML = `summary: every module type
value:
  modules:
    - id: a
      value:
        type: rawscript
        language: nativets
        content: |
          export async function main(x: string) {
            return x
          }
        input_transforms:
          x: {type: javascript, expr: flow_input.x}
          y: {type: static, value: [1, two, {three: 3}]}
    - id: b
      value: {type: script, path: u/bob/hello}
    - id: c
      value: {type: flow, path: f/etl/load}
    - id: d
      value:
        type: forloopflow
        iterator: {type: static, value: [1, 2, 3]}
        modules:
          - id: d1
            value: {type: identity}
    - id: e
      value:
        type: whileloopflow
        modules:
          - id: e1
            value: {type: identity}
            stop_after_if: {expr: "true"}
    - id: f
      value:
        type: branchone
        branches:
          - expr: results.a == "x"
            modules: [{id: f1, value: {type: identity}}]
        default: []
    - id: g
      value:
        type: branchall
        branches:
          - modules: [{id: g1, value: {type: identity}}]
    - id: h
      value: {type: identity}
  failure_module:
    id: failure
    value: {type: identity}
schema:
  type: object
`
