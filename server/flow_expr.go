package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/runlet/runlet/internal/flow"
	"github.com/runlet/runlet/internal/scriptbuild"
	"github.com/runlet/runlet/runtime"
)

// exprSource evaluates a batch of flow expressions in the JavaScript
// sandbox: each is the body of a function over the names of env, so an
// expression sees flow_input, results, previous_result (and result, error
// where they apply) and nothing of the host.
const exprSource = `export function main(exprs, env) {
  const names = Object.keys(env);
  const vals = names.map((k) => env[k]);
  const out = {};
  for (const k of Object.keys(exprs)) {
    try {
      const f = new Function(...names, '"use strict";\nreturn (' + exprs[k] + '\n);');
      const v = f(...vals);
      out[k] = v === undefined ? { u: true } : { v: v };
    } catch (e) {
      out[k] = { e: (e && e.name ? e.name + ": " : "") + String(e && e.message !== undefined ? e.message : e) };
    }
  }
  return out;
}
`

// exprEngine is the built evaluator, once per process.
type exprEngine struct {
	once  sync.Once
	built *scriptbuild.Built
	err   error
}

func (s *Service) exprBuilt(ctx context.Context) (*scriptbuild.Built, error) {
	s.expr.once.Do(func() {
		src := []byte(exprSource)
		_, params, err := scriptbuild.Schema(scriptbuild.JavaScript, "runlet_expr.js", src, nil)
		if err != nil {
			s.expr.err = err
			return
		}
		// Not the first caller's context: its cancel must not spoil the build for all.
		s.expr.built, s.expr.err = s.builder.Build(context.WithoutCancel(ctx), scriptbuild.JavaScript, "runlet_expr.js", src, nil, params)
	})
	return s.expr.built, s.expr.err
}

// env is what a module's expressions see.
func (r *flowRun) env(sc *scope, prev any, _ bool) map[string]any {
	env := map[string]any{"flow_input": sc.input, "results": sc.results, "previous_result": prev}
	if sc.resume != nil {
		env["resume"] = sc.resume
	}
	if e, ok := sc.results["error"]; ok {
		env["error"] = e // the failure module's
	}
	return env
}

// eval evaluates one expression: in Go when it is a plain property path
// (results.a.b, flow_input.x), else in the sandbox.
func (r *flowRun) eval(expr string, env map[string]any) (any, bool, error) {
	if p, ok := flow.Simple(expr); ok {
		v, def, err := p.Eval(env)
		if !errors.Is(err, flow.ErrNotSimple) {
			return v, def, err
		}
	}
	out, err := r.s.evalJS(r.ctx, map[string]string{"x": expr}, env)
	if err != nil {
		return nil, false, err
	}
	v, ok := out["x"]
	return v, ok, nil
}

// evalMany evaluates named expressions; undefined results are left out.
func (r *flowRun) evalMany(exprs map[string]string, env map[string]any) (map[string]any, error) {
	out := map[string]any{}
	rest := map[string]string{}
	for k, e := range exprs {
		if p, ok := flow.Simple(e); ok {
			v, def, err := p.Eval(env)
			switch {
			case errors.Is(err, flow.ErrNotSimple):
				rest[k] = e // a built-in: the sandbox evaluates it
				continue
			case err != nil:
				return nil, fmt.Errorf("input %q: %v", k, err)
			case def:
				out[k] = v
			}
			continue
		}
		rest[k] = e
	}
	if len(rest) == 0 {
		return out, nil
	}
	vals, err := r.s.evalJS(r.ctx, rest, env)
	if err != nil {
		return nil, err
	}
	for k, v := range vals {
		out[k] = v
	}
	return out, nil
}

// evalJS runs expressions in the sandbox (the JS interpreter, warm, with
// the expression time and memory bounds). Only the results the
// expressions name are passed in.
func (s *Service) evalJS(ctx context.Context, exprs map[string]string, env map[string]any) (map[string]any, error) {
	b, err := s.exprBuilt(ctx)
	if err != nil {
		return nil, fmt.Errorf("expression evaluator: %v", err)
	}
	if res, ok := env["results"].(map[string]any); ok {
		need := map[string]any{}
		all := false
		for _, e := range exprs {
			ids, every := flow.Refs(e)
			if every {
				all = true
				break
			}
			for _, id := range ids {
				if v, ok := res[id]; ok {
					need[id] = v
				}
			}
		}
		if !all {
			e2 := make(map[string]any, len(env))
			for k, v := range env {
				e2[k] = v
			}
			e2["results"] = need
			env = e2
		}
	}
	doc, err := json.Marshal(map[string]any{"args": []any{exprs, env}})
	if err != nil {
		return nil, fmt.Errorf("expression context: %v", err)
	}
	lim := s.cfg.Limits
	lim.Timeout, lim.MaxMemory = s.cfg.ExprTimeout, s.cfg.ExprMemory
	lim.AllowedHosts, lim.AllowPrivate, lim.Env = nil, false, nil
	res, err := s.eng.Run(ctx, runtime.Job{Module: b.Module, Args: doc, Load: b.Load, Limits: lim, Mode: runtime.Warm})
	if err != nil {
		var te *runtime.TimeoutError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("expression timed out after %s (expr_timeout)", s.cfg.ExprTimeout)
		}
		return nil, fmt.Errorf("expression: %v", err)
	}
	var out map[string]struct {
		V json.RawMessage `json:"v"`
		U bool            `json:"u"`
		E *string         `json:"e"`
	}
	if err := json.Unmarshal(res.Output, &out); err != nil {
		return nil, fmt.Errorf("expression result: %v", err)
	}
	vals := map[string]any{}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o := out[k]
		if o.E != nil {
			return nil, fmt.Errorf("%s: %s", describeExpr(exprs[k]), *o.E)
		}
		if o.U {
			continue
		}
		var v any
		if len(o.V) > 0 {
			if err := json.Unmarshal(o.V, &v); err != nil {
				return nil, err
			}
		}
		vals[k] = v
	}
	return vals, nil
}

func describeExpr(e string) string {
	e = strings.TrimSpace(e)
	if len(e) > 60 {
		e = e[:57] + "..."
	}
	return fmt.Sprintf("expression %q", e)
}
