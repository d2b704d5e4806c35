// Package client is a Go client for runlet's REST API: the Windmill-shaped
// endpoints under {url}/api/w/{workspace}/. The runlet CLI's script, job,
// variable, resource, schedule and flow commands are built on it.
//
// Every method takes a context; the Client itself sets no timeout, because
// some calls (running a script and waiting for its result) legitimately take
// as long as the script does. Server errors come back as *APIError (compare
// them with the sentinels in errors.go), a failed job as *JobError.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultPollInterval is how often WaitJob and FollowLogs ask the server
// about a running job.
const DefaultPollInterval = 200 * time.Millisecond

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// Client talks to one workspace of one runlet server. A Client is safe for
// concurrent use; its With methods return modified copies.
type Client struct {
	url       string // server URL without a trailing slash
	base      string // url + /api/w/{workspace}/
	token     string
	workspace string
	http      *http.Client
	poll      time.Duration
}

// New returns a client for workspace on the server at url (for example
// http://127.0.0.1:8000), sending token as a bearer token (none when empty).
func New(url, token, workspace string) *Client {
	u := strings.TrimRight(url, "/")
	return &Client{
		url:       u,
		base:      u + "/api/w/" + pathEscape(workspace) + "/",
		token:     token,
		workspace: workspace,
		http:      http.DefaultClient,
		poll:      DefaultPollInterval,
	}
}

// WithHTTPClient returns a copy of c that sends requests through h.
func (c *Client) WithHTTPClient(h *http.Client) *Client {
	cp := *c
	cp.http = h
	return &cp
}

// WithPollInterval returns a copy of c that polls running jobs every d
// (default DefaultPollInterval).
func (c *Client) WithPollInterval(d time.Duration) *Client {
	cp := *c
	if d > 0 {
		cp.poll = d
	}
	return &cp
}

// URL is the server URL the client was made with, without a trailing slash.
func (c *Client) URL() string { return c.url }

// Workspace is the workspace the client works in.
func (c *Client) Workspace() string { return c.workspace }

// pathEscape escapes each segment of a slash-separated path (script,
// variable and resource paths keep their slashes).
func pathEscape(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// request is one call: endpoint is relative to the workspace base.
type request struct {
	method   string
	endpoint string
	query    url.Values
	body     any // JSON-encoded unless nil
	// raw, when not nil, is the body as is, of type contentType.
	raw         []byte
	contentType string
}

// do sends r and returns the response; any status outside 2xx becomes an
// *APIError and the body is closed.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	u := c.base + r.endpoint
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	ct := ""
	switch {
	case r.raw != nil:
		body, ct = bytes.NewReader(r.raw), r.contentType
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s request: %w", r.endpoint, err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &TransportError{URL: c.url, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, apiError(resp.StatusCode, b)
	}
	return resp, nil
}

// doJSON sends r and decodes a JSON answer into out (unless out is nil).
func (c *Client) doJSON(ctx context.Context, r request, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s response: %w", r.endpoint, err)
	}
	return nil
}

// doText sends r and returns the answer's body as text.
func (c *Client) doText(ctx context.Context, r request) (string, error) {
	b, err := c.doRaw(ctx, r)
	return string(b), err
}

// doRaw sends r and returns the answer's body.
func (c *Client) doRaw(ctx context.Context, r request) ([]byte, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s response: %w", r.endpoint, err)
	}
	return b, nil
}
