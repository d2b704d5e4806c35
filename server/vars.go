package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/runlet/runlet/internal/store"
)

// MaxValueBytes bounds a variable's or resource's value.
const MaxValueBytes = 1 << 20

// VariableInput is a variable to create or update: nil fields keep
// their current values (a new variable needs Value).
type VariableInput struct {
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
func (s *Service) PutVariable(ctx context.Context, p *Principal, ws string, in VariableInput, create bool) error {
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
	var in VariableInput
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
	var in VariableInput
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
	v, err := s.svc.GetVariable(r.Context(), p, r.PathValue("ws"), r.PathValue("path"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, variableView{v.Path, v.Value, v.Secret, v.Description, v.UpdatedAt})
	return nil
}

func (s *Server) listVariables(w http.ResponseWriter, r *http.Request, p *Principal) error {
	list, err := s.svc.ListVariables(r.Context(), p, r.PathValue("ws"), r.URL.Query().Get("path_start"))
	if err != nil {
		return err
	}
	out := make([]variableView, len(list))
	for i, v := range list {
		out[i] = variableView{v.Path, v.Value, v.Secret, v.Description, v.UpdatedAt}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteVariable(w http.ResponseWriter, r *http.Request, p *Principal) error {
	path := r.PathValue("path")
	if err := s.svc.DeleteVariable(r.Context(), p, r.PathValue("ws"), path); err != nil {
		return err
	}
	w.Write([]byte(path))
	return nil
}

func (s *Server) createResource(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in ResourceInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.svc.CreateResource(r.Context(), p, r.PathValue("ws"), in, r.URL.Query().Get("update_if_exists") == "true"); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte(in.Path))
	return nil
}

func (s *Server) getResource(w http.ResponseWriter, r *http.Request, p *Principal) error {
	res, err := s.svc.GetResource(r.Context(), p, r.PathValue("ws"), r.PathValue("path"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) listResources(w http.ResponseWriter, r *http.Request, p *Principal) error {
	list, err := s.svc.ListResources(r.Context(), p, r.PathValue("ws"), r.URL.Query().Get("path_start"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) deleteResource(w http.ResponseWriter, r *http.Request, p *Principal) error {
	path := r.PathValue("path")
	if err := s.svc.DeleteResource(r.Context(), p, r.PathValue("ws"), path); err != nil {
		return err
	}
	w.Write([]byte(path))
	return nil
}
