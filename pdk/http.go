package pdk

import (
	"encoding/json"
	"fmt"
)

// Request is an outbound HTTP request. The host sends it only to hosts on
// the script's allow-list and never into private networks unless the
// operator allowed them.
type Request struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body,omitempty"`
}

// Response is the answer to a [Request].
type Response struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers"`
	Body    []byte              `json:"body"`
}

// JSON decodes the response body into v.
func (r *Response) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// Fetch sends req through the host.
func Fetch(req Request) (*Response, error) {
	if req.Method == "" {
		req.Method = "GET"
	}
	var resp Response
	if err := call(OpHTTP, req, &resp); err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	return &resp, nil
}

// Get fetches url with GET.
func Get(url string) (*Response, error) { return Fetch(Request{Method: "GET", URL: url}) }
