package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// User is a member of a workspace.
type User struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// AddUser adds a user with a role (admin, developer or operator).
func (c *Client) AddUser(ctx context.Context, name, role string) (*User, error) {
	var u User
	err := c.doJSON(ctx, request{method: http.MethodPost, endpoint: "users/add", body: map[string]string{"name": name, "role": role}}, &u)
	return &u, err
}

// ListUsers lists the workspace's users.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var out []User
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "users/list"}, &out)
	return out, err
}

// SetRole changes a user's role.
func (c *Client) SetRole(ctx context.Context, name, role string) (*User, error) {
	var u User
	err := c.doJSON(ctx, request{method: http.MethodPost, endpoint: "users/set_role/" + url.PathEscape(name), body: map[string]string{"role": role}}, &u)
	return &u, err
}

// RemoveUser removes a user and revokes their tokens.
func (c *Client) RemoveUser(ctx context.Context, name string) error {
	return c.doJSON(ctx, request{method: http.MethodDelete, endpoint: "users/delete/" + url.PathEscape(name)}, nil)
}

// NewToken asks for a token.
type NewToken struct {
	User      string   `json:"user,omitempty"`
	Service   bool     `json:"service,omitempty"`
	Role      string   `json:"role,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
	ExpiresIn int64    `json:"expires_in,omitempty"` // seconds
	Label     string   `json:"label,omitempty"`
}

// Token is a token as lists show it; Token is set only when created.
type Token struct {
	Token     string     `json:"token,omitempty"`
	Prefix    string     `json:"prefix"`
	Owner     string     `json:"owner,omitempty"`
	Role      string     `json:"role"`
	Label     string     `json:"label,omitempty"`
	Scopes    []string   `json:"scopes,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// CreateToken creates a token; the answer holds it, once.
func (c *Client) CreateToken(ctx context.Context, t NewToken) (*Token, error) {
	var out Token
	err := c.doJSON(ctx, request{method: http.MethodPost, endpoint: "tokens/create", body: t}, &out)
	return &out, err
}

// ListTokens lists tokens (admins: all; others: their own).
func (c *Client) ListTokens(ctx context.Context) ([]Token, error) {
	var out []Token
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "tokens/list"}, &out)
	return out, err
}

// RevokeToken revokes the token starting with prefix.
func (c *Client) RevokeToken(ctx context.Context, prefix string) error {
	return c.doJSON(ctx, request{method: http.MethodDelete, endpoint: "tokens/delete/" + url.PathEscape(prefix)}, nil)
}
