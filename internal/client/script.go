package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Script kinds.
const (
	KindScript  = "script"
	KindTrigger = "trigger"
)

// Retry is a script's retry policy.
type Retry struct {
	Constant *ConstantRetry `json:"constant,omitempty"`
}

// ConstantRetry retries a failed job Attempts times, Seconds apart.
type ConstantRetry struct {
	Attempts int `json:"attempts"`
	Seconds  int `json:"seconds"`
}

// NewScript is the body of scripts/create: a new version of the script at
// Path. Zero optional fields leave the server's defaults.
type NewScript struct {
	Path          string          `json:"path"`
	Content       string          `json:"content"`                  // source text; empty for wasm
	ContentBase64 string          `json:"content_base64,omitempty"` // a .wasm module, base64
	Language      string          `json:"language"`                 // go, typescript, javascript, wasm
	Summary       string          `json:"summary"`
	Description   string          `json:"description"`
	Kind          string          `json:"kind"` // script (default) or trigger
	ParentHash    string          `json:"parent_hash,omitempty"`
	Timeout       int             `json:"timeout,omitempty"`    // seconds
	MaxMemory     int64           `json:"max_memory,omitempty"` // bytes
	AllowedHosts  []string        `json:"allowed_hosts,omitempty"`
	AllowPrivate  bool            `json:"allow_private,omitempty"`
	Warm          bool            `json:"warm,omitempty"`
	Retry         *Retry          `json:"retry,omitempty"`
	Schema        json.RawMessage `json:"schema,omitempty"` // for wasm: the arguments schema
}

// ScriptSummary is one entry of scripts/list.
type ScriptSummary struct {
	Path      string    `json:"path"`
	Hash      string    `json:"hash"`
	Language  string    `json:"language"`
	Kind      string    `json:"kind"`
	Summary   string    `json:"summary"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// ScriptSettings are a script version's sandbox limits and run policy.
type ScriptSettings struct {
	Timeout      time.Duration `json:"timeout"`    // nanoseconds on the wire
	MaxMemory    int64         `json:"max_memory"` // bytes
	AllowedHosts []string      `json:"allowed_hosts"`
	AllowPrivate bool          `json:"allow_private"`
	Warm         bool          `json:"warm"`
	Retry        *Retry        `json:"retry,omitempty"`
}

// Script is a script version as scripts/get/p returns it.
type Script struct {
	Path        string          `json:"path"`
	Hash        string          `json:"hash"`
	ParentHash  string          `json:"parent_hash"`
	Language    string          `json:"language"`
	Kind        string          `json:"kind"`
	Summary     string          `json:"summary"`
	Description string          `json:"description"`
	Content     string          `json:"content"`
	Schema      json.RawMessage `json:"schema"`
	Settings    ScriptSettings  `json:"settings"`
	CreatedAt   time.Time       `json:"created_at"`
	CreatedBy   string          `json:"created_by"`
	Archived    bool            `json:"archived"`
}

// CreateScript stores a new version of a script (POST scripts/create) and
// returns its hash.
func (c *Client) CreateScript(ctx context.Context, s NewScript) (string, error) {
	hash, err := c.doText(ctx, request{method: http.MethodPost, endpoint: "scripts/create", body: s})
	return strings.TrimSpace(hash), err
}

// ListScripts lists the latest version of each script whose path starts
// with pathStart (all when empty).
func (c *Client) ListScripts(ctx context.Context, pathStart string) ([]ScriptSummary, error) {
	var out []ScriptSummary
	q := url.Values{}
	if pathStart != "" {
		q.Set("path_start", pathStart)
	}
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "scripts/list", query: q}, &out)
	return out, err
}

// GetScript returns the latest version of the script at path.
func (c *Client) GetScript(ctx context.Context, path string) (*Script, error) {
	var out Script
	if err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "scripts/get/p/" + pathEscape(path)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
