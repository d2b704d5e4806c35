package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/runlet/runlet/internal/store"
)

// MaxValueBytes bounds a variable's or resource's value.
const MaxValueBytes = 1 << 20

type variableIn struct {
	Path        string  `json:"path"`
	Value       *string `json:"value"`
	Secret      *bool   `json:"is_secret"`
	Description *string `json:"description"`
}

type variableView struct {
	Path        string    `json:"path"`
	Value       string    `json:"value"`
	Secret      bool      `json:"is_secret"`
	Description string    `json:"description"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// PutVariable creates (create=true; 409 if it exists) or updates a variable.
func (s *Service) PutVariable(ctx context.Context, p *Principal, ws string, in variableIn, create bool) error {
	if err := checkPath("path", in.Path); err != nil {
		return err
	}
	if err := p.authorize(ws, actWrite, "variables", in.Path); err != nil {
		return err
	}
	cur, err := s.st.GetVariable(ctx, ws, in.Path)
	switch {
	case err == nil && create:
		return errf(http.StatusConflict, "conflict", "variable %q exists (use variables/update)", in.Path)
	case errors.Is(err, store.ErrNotFound) && !create:
		return notFound("no variable at %q", in.Path)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	v := store.Variable{Workspace: ws, Path: in.Path}
	if cur != nil {
		v = *cur
	}
	if in.Value != nil {
		v.Value = *in.Value
	} else if create {
		return invalid("value", "value: required")
	}
	if len(v.Value) > MaxValueBytes {
		return invalid("value", "value: over the %d-byte limit", MaxValueBytes)
	}
	if in.Secret != nil {
		v.Secret = *in.Secret
	}
	if in.Description != nil {
		v.Description = *in.Description
	}
	v.UpdatedAt = time.Now().UTC()
	return s.st.PutVariable(ctx, v)
}

func (s *Server) createVariable(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in variableIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.svc.PutVariable(r.Context(), p, r.PathValue("ws"), in, true); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte(in.Path))
	return nil
}

func (s *Server) updateVariable(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in variableIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Path = r.PathValue("path")
	if err := s.svc.PutVariable(r.Context(), p, r.PathValue("ws"), in, false); err != nil {
		return err
	}
	w.Write([]byte(in.Path))
	return nil
}

func (s *Server) getVariable(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ws, path := r.PathValue("ws"), r.PathValue("path")
	if err := p.authorize(ws, actRead, "variables", path); err != nil {
		return err
	}
	v, err := s.st.GetVariable(r.Context(), ws, path)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no variable at %q", path)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, variableView{v.Path, v.Value, v.Secret, v.Description, v.UpdatedAt})
	return nil
}

func (s *Server) listVariables(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ws := r.PathValue("ws")
	if err := p.authorize(ws, actRead, "variables", ""); err != nil {
		return err
	}
	list, err := s.st.ListVariables(r.Context(), ws, r.URL.Query().Get("path_start"))
	if err != nil {
		return err
	}
	out := make([]variableView, len(list))
	for i, v := range list {
		if v.Secret {
			v.Value = ""
		}
		out[i] = variableView{v.Path, v.Value, v.Secret, v.Description, v.UpdatedAt}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteVariable(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ws, path := r.PathValue("ws"), r.PathValue("path")
	if err := p.authorize(ws, actWrite, "variables", path); err != nil {
		return err
	}
	if err := s.st.DeleteVariable(r.Context(), ws, path); err != nil {
		return err
	}
	w.Write([]byte(path))
	return nil
}

type resourceIn struct {
	Path        string          `json:"path"`
	Value       json.RawMessage `json:"value"`
	Type        string          `json:"resource_type"`
	Description string          `json:"description"`
}

func (s *Server) createResource(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in resourceIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ws := r.PathValue("ws")
	if err := checkPath("path", in.Path); err != nil {
		return err
	}
	if err := p.authorize(ws, actWrite, "resources", in.Path); err != nil {
		return err
	}
	if len(in.Value) == 0 {
		return invalid("value", "value: required")
	}
	if len(in.Value) > MaxValueBytes {
		return invalid("value", "value: over the %d-byte limit", MaxValueBytes)
	}
	if in.Type == "" {
		return invalid("resource_type", "resource_type: required")
	}
	if _, err := s.st.GetResource(r.Context(), ws, in.Path); err == nil && r.URL.Query().Get("update_if_exists") != "true" {
		return errf(http.StatusConflict, "conflict", "resource %q exists (pass update_if_exists=true)", in.Path)
	}
	res := store.Resource{Workspace: ws, Path: in.Path, Type: in.Type, Value: in.Value, Description: in.Description, UpdatedAt: time.Now().UTC()}
	if err := s.st.PutResource(r.Context(), res); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte(in.Path))
	return nil
}

func (s *Server) getResource(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ws, path := r.PathValue("ws"), r.PathValue("path")
	if err := p.authorize(ws, actRead, "resources", path); err != nil {
		return err
	}
	res, err := s.st.GetResource(r.Context(), ws, path)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no resource at %q", path)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) listResources(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ws := r.PathValue("ws")
	if err := p.authorize(ws, actRead, "resources", ""); err != nil {
		return err
	}
	list, err := s.st.ListResources(r.Context(), ws, r.URL.Query().Get("path_start"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) deleteResource(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ws, path := r.PathValue("ws"), r.PathValue("path")
	if err := p.authorize(ws, actWrite, "resources", path); err != nil {
		return err
	}
	if err := s.st.DeleteResource(r.Context(), ws, path); err != nil {
		return err
	}
	w.Write([]byte(path))
	return nil
}
