package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/store"
)

// Principal is who a request acts as: resolved from its token.
type Principal struct {
	Workspace string
	User      string
	Role      string
	Scopes    []string
}

// Actions a principal may be allowed.
const (
	actRead  = "read"  // read scripts, jobs, variables, resources
	actRun   = "run"   // run scripts, cancel jobs
	actWrite = "write" // create scripts, variables, resources
	actAdmin = "admin" // users and tokens
)

// TokenPrefixLen is how many leading characters of a token identify it.
const TokenPrefixLen = 10

// NewToken returns a fresh random token and its stored form.
func NewToken() (token, hash string) {
	b := make([]byte, 24)
	rand.Read(b)
	token = "rl_" + hex.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// tokenFrom finds the request's token: Authorization: Bearer, ?token=,
// or cookie "token".
func tokenFrom(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	if c, err := r.Cookie("token"); err == nil {
		return c.Value
	}
	return ""
}

// authenticate resolves a token to a principal.
func (s *Service) authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, errUnauthenticated
	}
	t, err := s.st.GetToken(ctx, HashToken(token))
	if err != nil {
		return nil, errUnauthenticated
	}
	if !t.ExpiresAt.IsZero() && time.Now().After(t.ExpiresAt) {
		return nil, errf(http.StatusUnauthorized, "unauthenticated", "the token expired at %s", t.ExpiresAt.Format(time.RFC3339))
	}
	role := t.Role
	if t.Owner != "" {
		// A user token follows its user: removed user, dead token; a
		// lowered role lowers the token.
		u, err := s.st.GetUser(ctx, t.Workspace, t.Owner)
		if err != nil {
			return nil, errf(http.StatusUnauthorized, "unauthenticated", "the token's user %q no longer exists", t.Owner)
		}
		if roleRank(u.Role) < roleRank(role) {
			role = u.Role
		}
	}
	user := t.Owner
	if user == "" {
		user = "token:" + t.Prefix // a service token acts under its own name
	}
	return &Principal{Workspace: t.Workspace, User: user, Role: role, Scopes: t.Scopes}, nil
}

// authorize checks that p may do act in workspace ws on the item at
// itemPath ("" for workspace-wide calls). A refusal is the same 403 whether
// or not the item exists, so scoped tokens cannot probe paths.
func (p *Principal) authorize(ws, act, kind, itemPath string) error {
	if p.Workspace != ws {
		return errForbidden
	}
	switch p.Role {
	case store.RoleAdmin:
	case store.RoleDeveloper:
		if act == actAdmin {
			return errForbidden
		}
	case store.RoleOperator:
		if act != actRead && act != actRun {
			return errForbidden
		}
	default:
		return errForbidden
	}
	if len(p.Scopes) == 0 {
		return nil
	}
	for _, sc := range p.Scopes {
		if scopeAllows(sc, act, kind, itemPath) {
			return nil
		}
	}
	return errForbidden
}

// scopeAllows matches Windmill-style scopes: "jobs:run:scripts:<path>"
// (a path may end in "*"), "<kind>:read[:<path>]", "<kind>:write[:<path>]"
// (write implies read), and "*".
func scopeAllows(scope, act, kind, itemPath string) bool {
	if scope == "*" {
		return true
	}
	parts := strings.SplitN(scope, ":", 4)
	match := func(pattern string) bool {
		if pattern == "" || pattern == "*" {
			return true
		}
		if itemPath == "" {
			return false
		}
		if ok, _ := path.Match(pattern, itemPath); ok {
			return true
		}
		prefix, wild := strings.CutSuffix(pattern, "*")
		return wild && strings.HasPrefix(itemPath, prefix)
	}
	if len(parts) >= 3 && parts[0] == "jobs" && parts[1] == "run" {
		pat := ""
		if len(parts) == 4 {
			pat = parts[3]
		}
		return act == actRun && parts[2] == kind && match(pat)
	}
	if len(parts) >= 2 && parts[0] == kind {
		pat := ""
		if len(parts) >= 3 {
			pat = strings.Join(parts[2:], ":")
		}
		switch parts[1] {
		case "read":
			return act == actRead && match(pat)
		case "write":
			return (act == actRead || act == actWrite) && match(pat)
		}
	}
	return false
}
