package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinels an *APIError matches with errors.Is, by HTTP status.
var (
	ErrBadRequest   = errors.New("bad request")       // 400
	ErrUnauthorized = errors.New("unauthorized")      // 401
	ErrForbidden    = errors.New("forbidden")         // 403
	ErrNotFound     = errors.New("not found")         // 404
	ErrConflict     = errors.New("conflict")          // 409
	ErrTooLarge     = errors.New("too large")         // 413
	ErrRateLimited  = errors.New("too many requests") // 429
)

var statusSentinel = map[int]error{
	http.StatusBadRequest:            ErrBadRequest,
	http.StatusUnauthorized:          ErrUnauthorized,
	http.StatusForbidden:             ErrForbidden,
	http.StatusNotFound:              ErrNotFound,
	http.StatusConflict:              ErrConflict,
	http.StatusRequestEntityTooLarge: ErrTooLarge,
	http.StatusTooManyRequests:       ErrRateLimited,
}

// APIError is an error answer from the server:
// {"error":{"code","message","field"}} with a non-2xx status.
type APIError struct {
	Status  int    // HTTP status
	Code    string // machine-readable code, e.g. "not_found"
	Message string // one-line, human-readable
	Field   string // the request field at fault, if any

	body []byte // the response body, for jobError
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if e.Code != "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Code, e.Status)
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

// Is reports whether target is the sentinel for e's status.
func (e *APIError) Is(target error) bool {
	s, ok := statusSentinel[e.Status]
	return ok && s == target
}

// JobError is a job that ran and failed (or was canceled): the
// {"error":{"name","message","stack"}} a failed job's result holds.
type JobError struct {
	JobID   string `json:"-"` // empty when the server did not say
	Name    string `json:"name"`
	Message string `json:"message"`
	Stack   string `json:"stack,omitempty"`
}

func (e *JobError) Error() string {
	if e.Name == "" {
		return e.Message
	}
	return e.Name + ": " + e.Message
}

// TransportError is a request that got no HTTP answer: the server is not
// running, the address is wrong, the connection broke.
type TransportError struct {
	URL string // the server URL
	Err error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("cannot reach the runlet server at %s: %v", e.URL, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// errorBody is both error documents: an API error (code) and a job failure
// (name, stack).
type errorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
		Name    string `json:"name"`
		Stack   string `json:"stack"`
	} `json:"error"`
}

// apiError makes an *APIError from an error response. A body that is not
// the JSON error document (a proxy's HTML page) is summarised.
func apiError(status int, body []byte) *APIError {
	e := &APIError{Status: status, body: body}
	var d errorBody
	if json.Unmarshal(body, &d) == nil && d.Error != nil {
		e.Code, e.Message, e.Field = d.Error.Code, d.Error.Message, d.Error.Field
		if e.Message == "" && d.Error.Name != "" {
			e.Message = d.Error.Name
		}
		return e
	}
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	e.Message = fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	if text != "" {
		e.Message += ": " + text
	}
	return e
}

// jobError reads a job failure document ({"error":{"name",...}}); ok is
// false when b is not one.
func jobError(b []byte) (*JobError, bool) {
	var d errorBody
	if json.Unmarshal(b, &d) != nil || d.Error == nil || d.Error.Name == "" || d.Error.Code != "" {
		return nil, false
	}
	return &JobError{Name: d.Error.Name, Message: d.Error.Message, Stack: d.Error.Stack}, true
}

// jobError is e read as a job failure, when its body is one; e otherwise.
func (e *APIError) jobError() error {
	if je, ok := jobError(e.body); ok {
		return je
	}
	return e
}
