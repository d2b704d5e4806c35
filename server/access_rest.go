package server

import (
	"net/http"
	"time"

	"github.com/runlet/runlet/internal/store"
)

func (s *Server) accessRoutes(mux *http.ServeMux) {
	h := s.handler(mux)
	const w = "/api/w/{ws}/"
	h("POST "+w+"users/add", s.addUser)
	h("GET "+w+"users/list", s.listUsers)
	h("POST "+w+"users/set_role/{name}", s.setRole)
	h("DELETE "+w+"users/delete/{name}", s.removeUser)
	h("GET "+w+"users/whoami", s.whoami)
	h("POST "+w+"tokens/create", s.createToken)
	h("GET "+w+"tokens/list", s.listTokens)
	h("DELETE "+w+"tokens/delete/{prefix}", s.revokeToken)
	h("POST /api/workspaces/create", s.createWorkspace)
	h("GET /api/workspaces/list", s.listWorkspaces)
}

// createWorkspace: {"id","name"} → 201 {"workspace","admin","token"}.
func (s *Server) createWorkspace(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ws, u, token, err := s.svc.CreateWorkspace(r.Context(), p, in.ID, in.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"workspace": ws, "admin": u, "token": token})
	return nil
}

func (s *Server) listWorkspaces(w http.ResponseWriter, r *http.Request, p *Principal) error {
	list, err := s.svc.ListWorkspaces(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in struct{ Name, Role string }
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.svc.AddUser(r.Context(), p, r.PathValue("ws"), in.Name, in.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p *Principal) error {
	us, err := s.svc.ListUsers(r.Context(), p, r.PathValue("ws"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, us)
	return nil
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in struct{ Role string }
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.svc.SetRole(r.Context(), p, r.PathValue("ws"), r.PathValue("name"), in.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) removeUser(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if err := s.svc.RemoveUser(r.Context(), p, r.PathValue("ws"), r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"removed": r.PathValue("name")})
	return nil
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, p *Principal) error {
	p, err := s.svc.WhoAmI(p, r.PathValue("ws"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"workspace": p.Workspace, "user": p.User, "role": p.Role, "scopes": p.Scopes})
	return nil
}

// tokenView is a token as lists show it (never the token itself).
type tokenView struct {
	Prefix    string     `json:"prefix"`
	Owner     string     `json:"owner,omitempty"`
	Role      string     `json:"role"`
	Label     string     `json:"label,omitempty"`
	Scopes    []string   `json:"scopes,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

func viewToken(t *store.Token) tokenView {
	v := tokenView{Prefix: t.Prefix, Owner: t.Owner, Role: t.Role, Label: t.Label, Scopes: t.Scopes, CreatedAt: t.CreatedAt}
	if !t.ExpiresAt.IsZero() {
		v.ExpiresAt = &t.ExpiresAt
	}
	return v
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in struct {
		User      string   `json:"user"`
		Service   bool     `json:"service"`
		Role      string   `json:"role"`
		Scopes    []string `json:"scopes"`
		ExpiresIn int64    `json:"expires_in"` // seconds
		Label     string   `json:"label"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	exp, err := expiresIn(in.ExpiresIn)
	if err != nil {
		return err
	}
	tok, t, err := s.svc.CreateToken(r.Context(), p, r.PathValue("ws"), TokenRequest{
		User: in.User, Service: in.Service, Role: in.Role, Scopes: in.Scopes, Expires: exp, Label: in.Label,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		Token string `json:"token"`
		tokenView
	}{tok, viewToken(t)})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ts, err := s.svc.ListTokens(r.Context(), p, r.PathValue("ws"))
	if err != nil {
		return err
	}
	out := make([]tokenView, len(ts))
	for i := range ts {
		out[i] = viewToken(&ts[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p *Principal) error {
	n, err := s.svc.RevokeTokens(r.Context(), p, r.PathValue("ws"), r.PathValue("prefix"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	return nil
}
