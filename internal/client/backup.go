package client

import (
	"context"
	"io"
	"net/http"
)

// Backup streams a consistent copy of the server's whole store (every
// workspace) into w. It needs an admin token. The secrets key file is not
// part of it: back DATA/secret.key up separately.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, endpoint: "backup"})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

// RotateKey makes the server encrypt secrets under a new key (admins).
func (c *Client) RotateKey(ctx context.Context) error {
	return c.doJSON(ctx, request{method: http.MethodPost, endpoint: "keys/rotate"}, nil)
}
