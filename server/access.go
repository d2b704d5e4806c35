package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/store"
)

// Users, roles and tokens. Roles: admin (everything in its workspace,
// including users and tokens), developer (scripts, variables, resources,
// runs), operator (runs and reads only). A token belongs to a user (its
// role follows the user's) or is a service token with its own role; it may
// carry scopes that narrow it further, and an expiry.

var roles = []string{store.RoleAdmin, store.RoleDeveloper, store.RoleOperator}

func checkRole(field, r string) error {
	if !slices.Contains(roles, r) {
		return invalid(field, "%s %q: want admin, developer or operator", field, r)
	}
	return nil
}

// roleRank orders roles by power.
func roleRank(r string) int { return len(roles) - slices.Index(roles, r) }

// checkScope validates one token scope.
func checkScope(s string) error {
	if s == "*" {
		return nil
	}
	parts := strings.SplitN(s, ":", 4)
	if len(parts) >= 3 && parts[0] == "jobs" && parts[1] == "run" {
		if parts[2] != "scripts" && parts[2] != "flows" {
			return invalid("scope", "scope %q: want jobs:run:scripts[:<path>] or jobs:run:flows[:<path>]", s)
		}
		return nil
	}
	kinds := []string{"scripts", "jobs", "variables", "resources", "schedules", "flows"}
	if len(parts) >= 2 && slices.Contains(kinds, parts[0]) && (parts[1] == "read" || parts[1] == "write") {
		return nil
	}
	return invalid("scope", "scope %q: want jobs:run:scripts[:<path>], <kind>:read[:<path>] or <kind>:write[:<path>] (kinds: %s), or *", s, strings.Join(kinds, ", "))
}

// AddUser adds a user to a workspace (admins only).
func (s *Service) AddUser(ctx context.Context, p *Principal, ws, name, role string) (*store.User, error) {
	if err := p.authorize(ws, actAdmin, "users", ""); err != nil {
		return nil, err
	}
	if err := checkName("name", name); err != nil {
		return nil, err
	}
	if role == "" {
		role = store.RoleDeveloper
	}
	if err := checkRole("role", role); err != nil {
		return nil, err
	}
	if _, err := s.st.GetUser(ctx, ws, name); err == nil {
		return nil, errf(http.StatusConflict, "conflict", "user %q exists in workspace %q", name, ws)
	}
	u := store.User{Workspace: ws, Name: name, Role: role, CreatedAt: time.Now().UTC()}
	return &u, s.st.PutUser(ctx, u)
}

// ListUsers lists a workspace's users.
func (s *Service) ListUsers(ctx context.Context, p *Principal, ws string) ([]store.User, error) {
	if err := p.authorize(ws, actRead, "users", ""); err != nil {
		return nil, err
	}
	return s.st.ListUsers(ctx, ws)
}

// SetRole changes a user's role (admins only; the last admin stays admin).
func (s *Service) SetRole(ctx context.Context, p *Principal, ws, name, role string) (*store.User, error) {
	if err := p.authorize(ws, actAdmin, "users", ""); err != nil {
		return nil, err
	}
	if err := checkRole("role", role); err != nil {
		return nil, err
	}
	u, err := s.st.GetUser(ctx, ws, name)
	if err != nil {
		return nil, notFound("no user %q in workspace %q", name, ws)
	}
	if u.Role == store.RoleAdmin && role != store.RoleAdmin {
		if err := s.keepAnAdmin(ctx, ws, name); err != nil {
			return nil, err
		}
	}
	u.Role = role
	return u, s.st.PutUser(ctx, *u)
}

// RemoveUser removes a user and revokes their tokens.
func (s *Service) RemoveUser(ctx context.Context, p *Principal, ws, name string) error {
	if err := p.authorize(ws, actAdmin, "users", ""); err != nil {
		return err
	}
	u, err := s.st.GetUser(ctx, ws, name)
	if err != nil {
		return notFound("no user %q in workspace %q", name, ws)
	}
	if u.Role == store.RoleAdmin {
		if err := s.keepAnAdmin(ctx, ws, name); err != nil {
			return err
		}
	}
	toks, err := s.st.ListTokens(ctx, ws)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.Owner == name {
			if _, err := s.st.DeleteTokens(ctx, ws, t.Prefix); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return s.st.DeleteUser(ctx, ws, name)
}

// keepAnAdmin refuses to demote or remove the workspace's last admin.
func (s *Service) keepAnAdmin(ctx context.Context, ws, leaving string) error {
	users, err := s.st.ListUsers(ctx, ws)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Name != leaving && u.Role == store.RoleAdmin {
			return nil
		}
	}
	return precondition("%q is the last admin of workspace %q", leaving, ws)
}

// TokenRequest asks for a new token.
type TokenRequest struct {
	User    string        // owner; "" = the caller (or a service token when Service is set)
	Service bool          // a service token: no owner, its own Role
	Role    string        // service tokens (and, for user tokens, must not exceed the user's)
	Scopes  []string      // empty: everything the role allows
	Expires time.Duration // 0: never
	Label   string
}

// CreateToken creates a token and returns it (shown once) with its record.
// Admins create tokens for anyone; others only for themselves, never with
// more than their own role or scopes.
func (s *Service) CreateToken(ctx context.Context, p *Principal, ws string, req TokenRequest) (string, *store.Token, error) {
	if p.Workspace != ws {
		return "", nil, errForbidden
	}
	for _, sc := range req.Scopes {
		if err := checkScope(sc); err != nil {
			return "", nil, err
		}
	}
	if req.Expires < 0 {
		return "", nil, invalid("expires", "expires: must not be negative")
	}
	admin := p.authorize(ws, actAdmin, "tokens", "") == nil
	t := store.Token{Workspace: ws, Scopes: req.Scopes, Label: req.Label, CreatedAt: time.Now().UTC()}
	switch {
	case req.Service:
		if !admin {
			return "", nil, errForbidden
		}
		if req.Role == "" {
			req.Role = store.RoleOperator
		}
		if err := checkRole("role", req.Role); err != nil {
			return "", nil, err
		}
		t.Role = req.Role
	default:
		owner := req.User
		if owner == "" {
			owner = p.User
		}
		if owner != p.User && !admin {
			return "", nil, errForbidden
		}
		u, err := s.st.GetUser(ctx, ws, owner)
		if err != nil {
			return "", nil, notFound("no user %q in workspace %q", owner, ws)
		}
		t.Owner, t.Role = u.Name, u.Role
		if req.Role != "" {
			if err := checkRole("role", req.Role); err != nil {
				return "", nil, err
			}
			if roleRank(req.Role) > roleRank(u.Role) {
				return "", nil, invalid("role", "role %q is above user %q's role %q", req.Role, u.Name, u.Role)
			}
			t.Role = req.Role
		}
		if !admin && len(p.Scopes) > 0 {
			// A scoped token mints only tokens at most as narrow as itself.
			if len(req.Scopes) == 0 {
				t.Scopes = p.Scopes
			}
			for _, sc := range t.Scopes {
				if !slices.Contains(p.Scopes, sc) {
					return "", nil, errForbidden
				}
			}
		}
	}
	if !admin && roleRank(t.Role) > roleRank(p.Role) {
		return "", nil, errForbidden
	}
	if req.Expires > 0 {
		t.ExpiresAt = t.CreatedAt.Add(req.Expires)
	}
	token, hash := NewToken()
	t.Hash, t.Prefix = hash, token[:TokenPrefixLen]
	if err := s.st.PutToken(ctx, t); err != nil {
		return "", nil, err
	}
	return token, &t, nil
}

// ListTokens lists a workspace's tokens (admins: all; others: their own).
func (s *Service) ListTokens(ctx context.Context, p *Principal, ws string) ([]store.Token, error) {
	if p.Workspace != ws {
		return nil, errForbidden
	}
	all, err := s.st.ListTokens(ctx, ws)
	if err != nil {
		return nil, err
	}
	if p.authorize(ws, actAdmin, "tokens", "") == nil {
		return all, nil
	}
	var own []store.Token
	for _, t := range all {
		if t.Owner != "" && t.Owner == p.User {
			own = append(own, t)
		}
	}
	return own, nil
}

// RevokeTokens revokes the token whose listed prefix matches prefix (the
// prefix, or the whole token; admins: any token, others: their own). An
// ambiguous prefix is refused.
func (s *Service) RevokeTokens(ctx context.Context, p *Principal, ws, prefix string) (int, error) {
	if len(prefix) < 6 {
		return 0, invalid("prefix", "prefix: at least 6 characters of the token")
	}
	toks, err := s.ListTokens(ctx, p, ws)
	if err != nil {
		return 0, err
	}
	var match []store.Token
	for _, t := range toks {
		if strings.HasPrefix(t.Prefix, prefix) || strings.HasPrefix(prefix, t.Prefix) {
			match = append(match, t)
		}
	}
	switch len(match) {
	case 0:
		return 0, notFound("no token starting with %q", prefix)
	case 1:
	default:
		return 0, precondition("%d tokens start with %q: give more characters", len(match), prefix)
	}
	if _, err := s.st.DeleteTokens(ctx, ws, match[0].Prefix); err != nil {
		return 0, err
	}
	return 1, nil
}
