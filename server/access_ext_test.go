package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/server"
)

// TestRolesAndScopes runs each kind of call with each role and scope.
func TestRolesAndScopes(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	s.push(t, "f/ops/greet", "typescript", greetTS, nil)
	s.push(t, "f/other/greet", "typescript", greetTS, nil)
	for _, u := range []map[string]any{{"name": "dev", "role": "developer"}, {"name": "op", "role": "operator"}} {
		if r := s.do(t, "POST", "/api/w/main/users/add", u); r.Status != 201 {
			t.Fatalf("add user: %d %s", r.Status, r.Body)
		}
	}
	token := func(body map[string]any) string {
		t.Helper()
		r := s.do(t, "POST", "/api/w/main/tokens/create", body)
		var d struct{ Token string }
		json.Unmarshal([]byte(r.Body), &d)
		if r.Status != 201 || d.Token == "" {
			t.Fatalf("create token %v: %d %s", body, r.Status, r.Body)
		}
		return d.Token
	}
	toks := map[string]string{
		"admin":    s.Token,
		"dev":      token(map[string]any{"user": "dev"}),
		"op":       token(map[string]any{"user": "op"}),
		"hook":     token(map[string]any{"service": true, "role": "operator", "scopes": []string{"jobs:run:scripts:f/ops/*"}}),
		"readonly": token(map[string]any{"user": "dev", "scopes": []string{"scripts:read", "jobs:read"}}),
	}
	type call struct {
		name, method, path string
		body               any
	}
	calls := []call{
		{"push", "POST", "/api/w/main/scripts/create", map[string]any{"path": "f/ops/new", "language": "typescript", "content": greetTS}},
		{"run in scope", "POST", "/api/w/main/jobs/run/p/f/ops/greet", map[string]any{"name": "x"}},
		{"run out of scope", "POST", "/api/w/main/jobs/run/p/f/other/greet", map[string]any{"name": "x"}},
		{"run missing out of scope", "POST", "/api/w/main/jobs/run/p/f/secret/nope", map[string]any{}},
		{"read script", "GET", "/api/w/main/scripts/get/p/f/ops/greet", nil},
		{"list jobs", "GET", "/api/w/main/jobs/list", nil},
		{"set variable", "POST", "/api/w/main/variables/create", map[string]any{"path": "f/ops/v", "value": "1"}},
		{"add user", "POST", "/api/w/main/users/add", map[string]any{"name": "eve", "role": "admin"}},
	}
	want := map[string][]int{ // per token, in the order of calls
		"admin":    {201, 201, 201, 404, 200, 200, 201, 201},
		"dev":      {201, 201, 201, 404, 200, 200, 201, 403},
		"op":       {403, 201, 201, 404, 200, 200, 403, 403},
		"hook":     {403, 201, 403, 403, 403, 403, 403, 403},
		"readonly": {403, 403, 403, 403, 200, 200, 403, 403},
	}
	for _, who := range []string{"readonly", "hook", "op", "dev", "admin"} {
		for i, c := range calls {
			body := c.body // per-token item names, so each call creates something new
			switch c.name {
			case "push":
				body = map[string]any{"path": "f/ops/new_" + who, "language": "typescript", "content": greetTS}
			case "set variable":
				body = map[string]any{"path": "f/ops/v_" + who, "value": "1"}
			case "add user":
				body = map[string]any{"name": "u_" + who, "role": "developer"}
			}
			r := s.do(t, c.method, c.path, body, "Authorization", "Bearer "+toks[who])
			if r.Status != want[who][i] {
				t.Errorf("%s / %s: %d %s, want %d", who, c.name, r.Status, r.Body, want[who][i])
			}
		}
	}
	// Non-admins cannot mint tokens above themselves or for others.
	for _, body := range []map[string]any{{"user": "dev", "role": "admin"}, {"user": "admin"}, {"service": true, "role": "operator"}} {
		r := s.do(t, "POST", "/api/w/main/tokens/create", body, "Authorization", "Bearer "+toks["op"])
		if r.Status != 403 && r.Status != 400 {
			t.Errorf("operator minting %v: %d %s", body, r.Status, r.Body)
		}
	}
	// A lowered role lowers the user's tokens at once; removing the user kills them.
	if r := s.do(t, "POST", "/api/w/main/users/set_role/dev", map[string]any{"role": "operator"}); r.Status != 200 {
		t.Fatalf("set role: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "POST", "/api/w/main/variables/create", map[string]any{"path": "f/ops/late", "value": "1"}, "Authorization", "Bearer "+toks["dev"]); r.Status != 403 {
		t.Fatalf("demoted developer wrote a variable: %d", r.Status)
	}
	if r := s.do(t, "DELETE", "/api/w/main/users/delete/op", nil); r.Status != 200 {
		t.Fatalf("remove user: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "GET", "/api/w/main/jobs/list", nil, "Authorization", "Bearer "+toks["op"]); r.Status != 401 {
		t.Fatalf("removed user's token: %d", r.Status)
	}
	// The last admin stays.
	if r := s.do(t, "POST", "/api/w/main/users/set_role/admin", map[string]any{"role": "operator"}); r.Status != 409 {
		t.Fatalf("demoting the last admin: %d %s", r.Status, r.Body)
	}
}

func TestTokenExpiryAndRevoke(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	r := s.do(t, "POST", "/api/w/main/tokens/create", map[string]any{"expires_in": 1, "label": "short"})
	var d struct{ Token, Prefix string }
	json.Unmarshal([]byte(r.Body), &d)
	if r.Status != 201 || d.Token == "" || d.Prefix == "" || d.Token[:len(d.Prefix)] != d.Prefix {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "GET", "/api/w/main/jobs/list", nil, "Authorization", "Bearer "+d.Token); r.Status != 200 {
		t.Fatalf("fresh token: %d", r.Status)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := s.do(t, "GET", "/api/w/main/jobs/list", nil, "Authorization", "Bearer "+d.Token); r.Status != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", r.Status)
	}
	r = s.do(t, "POST", "/api/w/main/tokens/create", map[string]any{"label": "to revoke"})
	json.Unmarshal([]byte(r.Body), &d)
	list := s.do(t, "GET", "/api/w/main/tokens/list", nil).Body
	if !json.Valid([]byte(list)) || !contains(list, d.Prefix) || contains(list, d.Token) {
		t.Fatalf("list must show prefixes, never tokens: %s", list)
	}
	if r := s.do(t, "DELETE", "/api/w/main/tokens/delete/"+d.Prefix, nil); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "GET", "/api/w/main/jobs/list", nil, "Authorization", "Bearer "+d.Token); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", r.Status)
	}
}

func contains(s, sub string) bool { return sub != "" && strings.Contains(s, sub) }
