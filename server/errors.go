package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/runlet/runlet/internal/store"
)

// Error is a refused or failed request, with the HTTP status and the
// machine-readable code the REST handlers report (the Connect services
// report the status as a Connect code: see connectError). Field names the
// argument at fault, when there is one.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// code is the Connect code when the status alone does not decide it
	// (0: connectCode(Status)).
	code connect.Code
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

// precondition is a 409 for a call the item's state refuses (a finished
// job, the last admin): FailedPrecondition over Connect.
func precondition(format string, args ...any) *Error {
	e := errf(http.StatusConflict, "conflict", format, args...)
	e.code = connect.CodeFailedPrecondition
	return e
}

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

// connectCode is the Connect code of an HTTP status. A 409 is
// AlreadyExists: most of the service layer's conflicts are "it exists";
// connectError reports the others as FailedPrecondition (see
// precondition) or, for the store's concurrent-change conflicts such as a
// stale parent_hash, Aborted.
func connectCode(status int) connect.Code {
	switch status {
	case http.StatusBadRequest:
		return connect.CodeInvalidArgument
	case http.StatusUnauthorized:
		return connect.CodeUnauthenticated
	case http.StatusForbidden:
		return connect.CodePermissionDenied
	case http.StatusNotFound:
		return connect.CodeNotFound
	case http.StatusConflict:
		return connect.CodeAlreadyExists
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return connect.CodeResourceExhausted
	case http.StatusNotImplemented:
		return connect.CodeUnimplemented
	case http.StatusServiceUnavailable:
		return connect.CodeUnavailable
	}
	if status >= 500 {
		return connect.CodeInternal
	}
	return connect.CodeUnknown
}

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail on every
// Connect error the server reports.
const ErrorDomain = "runlet.dev"

// connectError maps any error to a *connect.Error: a *connect.Error as
// is, context errors to Canceled and DeadlineExceeded, the rest through
// apiError (returned too, for metrics and logs; nil otherwise) with an
// ErrorInfo detail whose reason is the REST code in upper case and, for
// an invalid argument that names its field, a BadRequest detail with one
// field violation.
func connectError(err error) (*connect.Error, *Error) {
	var ce *connect.Error
	var e *Error
	switch {
	case errors.As(err, &ce):
		return ce, nil
	case errors.As(err, &e):
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err), nil
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err), nil
	}
	e = apiError(err)
	code := connectCode(e.Status)
	switch {
	case e.code != 0:
		code = e.code
	case e.Status == http.StatusConflict && errors.Is(err, store.ErrConflict):
		code = connect.CodeAborted // the store saw a concurrent change
	}
	ce = connect.NewError(code, errors.New(e.Message))
	if d, derr := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: strings.ToUpper(e.Code), Domain: ErrorDomain}); derr == nil {
		ce.AddDetail(d)
	}
	if e.Field != "" && code == connect.CodeInvalidArgument {
		br := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: e.Field, Description: e.Message}}}
		if d, derr := connect.NewErrorDetail(br); derr == nil {
			ce.AddDetail(d)
		}
	}
	return ce, e
}
