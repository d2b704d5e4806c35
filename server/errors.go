package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/runlet/runlet/internal/store"
)

// Error is a refused or failed request, with the HTTP status and the
// machine-readable code the REST handlers (and later the Connect
// services) report. Field names the argument at fault, when there is one.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Message }

func errf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(field, format string, args ...any) *Error {
	e := errf(http.StatusBadRequest, "invalid_argument", format, args...)
	e.Field = field
	return e
}

var (
	errUnauthenticated = errf(http.StatusUnauthorized, "unauthenticated", "missing or unknown token")
	errForbidden       = errf(http.StatusForbidden, "permission_denied", "the token does not allow this")
)

func notFound(format string, args ...any) *Error {
	return errf(http.StatusNotFound, "not_found", format, args...)
}

// apiError maps any error to an *Error (store errors to 404/409, the rest
// to 500).
func apiError(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrNotFound):
		return errf(http.StatusNotFound, "not_found", "%s", err.Error())
	case errors.Is(err, store.ErrConflict):
		return errf(http.StatusConflict, "conflict", "%s", err.Error())
	}
	return errf(http.StatusInternalServerError, "internal", "%s", err.Error())
}
