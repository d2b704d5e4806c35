package client

import (
	"context"
	"net/http"
)

// Variable is a workspace variable. A secret's value is empty in lists.
type Variable struct {
	Path        string `json:"path"`
	Value       string `json:"value"`
	IsSecret    bool   `json:"is_secret"`
	Description string `json:"description"`
}

// VariableUpdate changes a variable; nil fields are left as they are (they
// are not sent).
type VariableUpdate struct {
	Value       *string `json:"value,omitempty"`
	IsSecret    *bool   `json:"is_secret,omitempty"`
	Description *string `json:"description,omitempty"`
}

// CreateVariable creates a variable; one that exists is ErrConflict.
func (c *Client) CreateVariable(ctx context.Context, v Variable) error {
	return c.doJSON(ctx, request{method: http.MethodPost, endpoint: "variables/create", body: v}, nil)
}

// UpdateVariable changes the variable at path; a missing one is ErrNotFound.
func (c *Client) UpdateVariable(ctx context.Context, path string, u VariableUpdate) error {
	return c.doJSON(ctx, request{method: http.MethodPost, endpoint: "variables/update/" + pathEscape(path), body: u}, nil)
}

// GetVariable returns the variable at path, its value decrypted.
func (c *Client) GetVariable(ctx context.Context, path string) (*Variable, error) {
	var out Variable
	if err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "variables/get/" + pathEscape(path)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListVariables lists the workspace's variables (secret values empty).
func (c *Client) ListVariables(ctx context.Context) ([]Variable, error) {
	var out []Variable
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "variables/list"}, &out)
	return out, err
}
