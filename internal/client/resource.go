package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Resource is a typed JSON value: a database connection, an API account.
type Resource struct {
	Path         string          `json:"path"`
	ResourceType string          `json:"resource_type"`
	Value        json.RawMessage `json:"value"`
	Description  string          `json:"description"`
}

// SetResource creates the resource at r.Path, or replaces it when it exists.
func (c *Client) SetResource(ctx context.Context, r Resource) error {
	q := url.Values{"update_if_exists": {"true"}}
	return c.doJSON(ctx, request{method: http.MethodPost, endpoint: "resources/create", query: q, body: r}, nil)
}

// GetResource returns the resource at path.
func (c *Client) GetResource(ctx context.Context, path string) (*Resource, error) {
	var out Resource
	if err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "resources/get/" + pathEscape(path)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListResources lists the workspace's resources.
func (c *Client) ListResources(ctx context.Context) ([]Resource, error) {
	var out []Resource
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "resources/list"}, &out)
	return out, err
}
