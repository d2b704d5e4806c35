package fetch

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrDenied is matched (via errors.Is) by every *DeniedError: the request,
// or one of its redirect hops, targeted a destination the script's Policy
// does not allow.
var ErrDenied = errors.New("fetch: destination denied")

// DeniedError reports a destination refused by the Policy, either because the
// host is not on the script's allow-list or because the IP address that would
// be dialled is loopback, private, link-local, or otherwise non-public.
//
// errors.Is(err, ErrDenied) is true for every *DeniedError.
type DeniedError struct {
	// Host is the refused host as the script named it (a host name or an IP
	// literal, lower-cased, without brackets or port), or the dialled IP
	// address when no name is known.
	Host string
	// Reason completes the sentence that starts with the host, for example
	// "is not on the script's allow-list",
	// "is a loopback address (allow private networks to reach it)" or
	// "resolves to 10.0.0.7, a private address (allow private networks to reach it)".
	Reason string
}

// Error renders the denial, for example
// `fetch: host "internal.example" is not on the script's allow-list` or
// `fetch: 127.0.0.1 is a loopback address (allow private networks to reach it)`.
func (e *DeniedError) Error() string {
	if _, err := netip.ParseAddr(e.Host); err == nil {
		return "fetch: " + e.Host + " " + e.Reason
	}
	return fmt.Sprintf("fetch: host %q %s", e.Host, e.Reason)
}

// Is reports whether target is ErrDenied, so that errors.Is(err, ErrDenied)
// holds for any *DeniedError.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Limit names used in LimitError.Limit.
const (
	// LimitRequestBody is the Limit of a LimitError for a request body larger
	// than Limits.MaxRequestBytes.
	LimitRequestBody = "request body"
	// LimitResponseBody is the Limit of a LimitError for a response body
	// larger than Limits.MaxResponseBytes.
	LimitResponseBody = "response body"
	// LimitRedirects is the Limit of a LimitError for a redirect chain longer
	// than Limits.MaxRedirects.
	LimitRedirects = "redirects"
)

// LimitError reports that a request exceeded one of its Limits.
type LimitError struct {
	// Limit names the exceeded limit: LimitRequestBody, LimitResponseBody
	// or LimitRedirects.
	Limit string
	// Max is the configured maximum: a byte count for the body limits, a
	// number of redirects for LimitRedirects.
	Max int64
}

// Error renders the limit, for example
// "fetch: response body exceeds the limit of 10485760 bytes".
func (e *LimitError) Error() string {
	if e.Limit == LimitRedirects {
		return fmt.Sprintf("fetch: stopped after %d redirects (the limit)", e.Max)
	}
	return fmt.Sprintf("fetch: %s exceeds the limit of %d bytes", e.Limit, e.Max)
}

// InvalidRequestError reports a malformed guest Request: a bad URL (including
// a scheme other than http or https, or credentials in the URL), a bad method,
// or a bad header. Field names the offending part: "url", "method",
// "headers", or "redirect" for a bad Location on a redirect hop.
type InvalidRequestError struct {
	// Field is the part of the request that is invalid.
	Field string
	// Reason describes what is wrong with it.
	Reason string
}

// Error renders the problem as "fetch: <field>: <reason>", for example
// `fetch: url: scheme "ftp" is not allowed (only http and https)`.
func (e *InvalidRequestError) Error() string {
	return "fetch: " + e.Field + ": " + e.Reason
}
