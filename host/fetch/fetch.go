package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Request is the guest's HTTP request, as decoded from the guest's JSON.
type Request struct {
	// Method is the HTTP method; empty means GET. It must be a valid HTTP
	// token; CONNECT is refused.
	Method string `json:"method"`
	// URL is the absolute http or https URL to fetch. It must not carry
	// user info (credentials).
	URL string `json:"url"`
	// Headers are the request headers. Names are canonicalised; values must
	// not contain control characters other than tab. Host, Content-Length,
	// Transfer-Encoding, Connection, Upgrade, TE, Trailer, Keep-Alive and
	// Proxy-Connection may not be set. When no User-Agent is given,
	// "runlet" is sent.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the request body (base64 in JSON); at most
	// Limits.MaxRequestBytes bytes.
	Body []byte `json:"body,omitempty"`
}

// Response is the result returned to the guest.
type Response struct {
	// Status is the HTTP status code of the final response.
	Status int `json:"status"`
	// Headers are the response headers with canonicalised names. Never nil.
	Headers map[string][]string `json:"headers"`
	// Body is the complete response body, at most Limits.MaxResponseBytes
	// bytes. Never nil. Bodies sent with Content-Encoding: gzip in answer to
	// the transport's own Accept-Encoding are returned decompressed.
	Body []byte `json:"body"`
}

// Default limits, applied by New to zero (or negative) fields of Limits.
const (
	// DefaultTimeout is the default Limits.Timeout.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxResponseBytes is the default Limits.MaxResponseBytes (10 MiB).
	DefaultMaxResponseBytes = 10 << 20
	// DefaultMaxRequestBytes is the default Limits.MaxRequestBytes (10 MiB).
	DefaultMaxRequestBytes = 10 << 20
	// DefaultMaxRedirects is the default Limits.MaxRedirects.
	DefaultMaxRedirects = 5
)

// maxResponseHeaderBytes bounds the response header block.
const maxResponseHeaderBytes = 1 << 20

// Limits bound one request. The zero value selects every default.
type Limits struct {
	// Timeout bounds the whole request: dialling, TLS, every redirect hop
	// and reading the response body. Zero or negative means DefaultTimeout
	// (30 s). The caller's context can only shorten it. On expiry Do returns
	// an error matching errors.Is(err, context.DeadlineExceeded).
	Timeout time.Duration
	// MaxResponseBytes bounds the response body. Zero or negative means
	// DefaultMaxResponseBytes (10 MiB). A larger body yields a *LimitError
	// with Limit LimitResponseBody.
	MaxResponseBytes int64
	// MaxRequestBytes bounds the request body. Zero or negative means
	// DefaultMaxRequestBytes (10 MiB). A larger body yields a *LimitError
	// with Limit LimitRequestBody before anything is sent.
	MaxRequestBytes int64
	// MaxRedirects is how many redirects one request may follow. Zero means
	// DefaultMaxRedirects (5). A negative value disables following: the 3xx
	// response itself is returned to the guest. Following more yields a
	// *LimitError with Limit LimitRedirects.
	MaxRedirects int
}

// withDefaults fills in defaults.
func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxResponseBytes <= 0 {
		l.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if l.MaxResponseBytes == math.MaxInt64 {
		l.MaxResponseBytes-- // leave room for the overflow-detecting byte
	}
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if l.MaxRedirects == 0 {
		l.MaxRedirects = DefaultMaxRedirects
	}
	return l
}

// Fetcher performs guest requests under a Policy. It holds shared
// connection pools (one *http.Transport for policies without AllowPrivate,
// whose dialer checks every address, and one for policies with it) and is
// safe for concurrent use. Create one with New and reuse it.
type Fetcher struct {
	limits   Limits
	public   *http.Transport // dial-time address check
	private  *http.Transport // Policy.AllowPrivate: only metadata addresses refused
	metadata *http.Transport // AllowPrivate with a metadata IP listed exactly: no pooling
	classify func(netip.AddrPort) string
}

// New returns a Fetcher enforcing l, with defaults filled in for zero
// fields (see Limits).
func New(l Limits) *Fetcher {
	return newFetcher(l, defaultClassify)
}

// newFetcher lets tests substitute the address classifier.
func newFetcher(l Limits, classify func(netip.AddrPort) string) *Fetcher {
	f := &Fetcher{limits: l.withDefaults(), classify: classify}
	f.public = newTransport(f.control)
	f.private = newTransport(f.controlMetadata)
	f.metadata = newTransport(nil)
	f.metadata.DisableKeepAlives = true
	return f
}

// CloseIdleConnections closes idle pooled connections. The Fetcher remains
// usable.
func (f *Fetcher) CloseIdleConnections() {
	f.public.CloseIdleConnections()
	f.private.CloseIdleConnections()
	f.metadata.CloseIdleConnections()
}

type dialHostKey struct{}

func newTransport(control func(context.Context, string, string, syscall.RawConn) error) *http.Transport {
	// No Dialer.Timeout or TLSHandshakeTimeout: the request context bounds
	// them, so every timeout surfaces as context.DeadlineExceeded.
	d := &net.Dialer{KeepAlive: 30 * time.Second, ControlContext: control}
	return &http.Transport{
		Proxy: nil, // never honour HTTP_PROXY & co.: the dialled address must be the target
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			// Remember the name being dialled so denials can mention it.
			if host, _, err := net.SplitHostPort(addr); err == nil {
				ctx = context.WithValue(ctx, dialHostKey{}, host)
			}
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
}

// control runs after DNS resolution, just before connect(2), for every
// address the dialer tries. It is the authoritative SSRF check.
func (f *Fetcher) control(ctx context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &DeniedError{Host: address, Reason: "is not an IP address and cannot be checked"}
	}
	r := f.classify(ap)
	if r == "" {
		return nil
	}
	ip := ap.Addr().WithZone("").String()
	name, _ := ctx.Value(dialHostKey{}).(string)
	if _, err := netip.ParseAddr(name); name == "" || err == nil {
		return &DeniedError{Host: ip, Reason: "is " + r + privateHint}
	}
	return &DeniedError{Host: name, Reason: "resolves to " + ip + ", " + r + privateHint}
}

// controlMetadata is the dial check under AllowPrivate: private networks
// are reachable, cloud metadata endpoints are not (a host name resolving to
// one is refused; an IP literal listed exactly goes through f.metadata).
func (f *Fetcher) controlMetadata(ctx context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &DeniedError{Host: address, Reason: "is not an IP address and cannot be checked"}
	}
	if !isMetadata(ap.Addr()) {
		return nil
	}
	ip := ap.Addr().WithZone("").String()
	name, _ := ctx.Value(dialHostKey{}).(string)
	return &DeniedError{Host: name, Reason: "resolves to " + ip + ", a cloud metadata address" + metadataHint}
}

// Do performs req for a script under policy p. It validates the request,
// checks the URL against p, and sends it, checking every dialled address
// and every redirect hop. The whole exchange is bounded by the Fetcher's
// Limits and by ctx.
//
// Errors: *InvalidRequestError for malformed input, *DeniedError (matching
// ErrDenied) for refused destinations, *LimitError for exceeded limits, an
// error matching context.DeadlineExceeded on timeout (or context.Canceled
// if ctx is cancelled), and otherwise a wrapped transport error. A non-2xx
// status is not an error.
func (f *Fetcher) Do(ctx context.Context, p Policy, req Request) (*Response, error) {
	method, err := validMethod(req.Method)
	if err != nil {
		return nil, err
	}
	u, t, err := parseURL(req.URL)
	if err != nil {
		return nil, err
	}
	header, err := buildHeader(req.Headers)
	if err != nil {
		return nil, err
	}
	if int64(len(req.Body)) > f.limits.MaxRequestBytes {
		return nil, &LimitError{Limit: LimitRequestBody, Max: f.limits.MaxRequestBytes}
	}
	if err := p.check(t, f.classify); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, f.limits.Timeout)
	defer cancel()

	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(req.Body))
	if err != nil {
		return nil, &InvalidRequestError{Field: "url", Reason: err.Error()}
	}
	hreq.Header = header

	tr := f.public
	switch {
	case p.AllowPrivate && t.addr.IsValid() && isMetadata(t.addr):
		tr = f.metadata // listed exactly (checked above); never pooled
	case p.AllowPrivate:
		tr = f.private
	}
	client := &http.Client{Transport: tr, CheckRedirect: f.redirectPolicy(p)}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, mapErr(ctx, err)
	}
	defer resp.Body.Close()

	limit := f.limits.MaxResponseBytes
	if resp.ContentLength > limit {
		return nil, &LimitError{Limit: LimitResponseBody, Max: limit}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, mapErr(ctx, err)
	}
	if int64(len(body)) > limit {
		return nil, &LimitError{Limit: LimitResponseBody, Max: limit}
	}

	headers := make(map[string][]string, len(resp.Header))
	for k, vs := range resp.Header {
		ck := http.CanonicalHeaderKey(k)
		headers[ck] = append(headers[ck], vs...)
	}
	return &Response{Status: resp.StatusCode, Headers: headers, Body: body}, nil
}

// redirectPolicy checks each redirect hop against p and the redirect limit.
func (f *Fetcher) redirectPolicy(p Policy) func(*http.Request, []*http.Request) error {
	limit := f.limits.MaxRedirects
	return func(r *http.Request, via []*http.Request) error {
		if limit < 0 {
			return http.ErrUseLastResponse
		}
		if len(via) > limit {
			return &LimitError{Limit: LimitRedirects, Max: int64(limit)}
		}
		t, err := targetOf(r.URL, "redirect")
		if err != nil {
			return err
		}
		return p.check(t, f.classify)
	}
}

// mapErr turns a client error into this package's error vocabulary.
func mapErr(ctx context.Context, err error) error {
	if de, ok := errors.AsType[*DeniedError](err); ok {
		return de
	}
	if le, ok := errors.AsType[*LimitError](err); ok {
		return le
	}
	if ie, ok := errors.AsType[*InvalidRequestError](err); ok {
		return ie
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("fetch: request timed out: %w", context.DeadlineExceeded)
		}
		return fmt.Errorf("fetch: request canceled: %w", cerr)
	}
	if de, ok := errors.AsType[*net.DNSError](err); ok {
		// Do not echo the host's resolver address to the guest.
		reason := "lookup failed"
		switch {
		case de.IsNotFound:
			reason = "no such host"
		case de.IsTimeout:
			return fmt.Errorf("fetch: cannot resolve host %q: timed out: %w", de.Name, context.DeadlineExceeded)
		}
		return fmt.Errorf("fetch: cannot resolve host %q: %s", de.Name, reason)
	}
	if te, ok := errors.AsType[timeouter](err); ok && te.Timeout() {
		return fmt.Errorf("fetch: request timed out: %w (%w)", context.DeadlineExceeded, err)
	}
	return fmt.Errorf("fetch: %w", err)
}

// timeouter is implemented by net.Error and friends.
type timeouter interface {
	error
	Timeout() bool
}

// validMethod defaults and validates the method.
func validMethod(m string) (string, error) {
	if m == "" {
		return http.MethodGet, nil
	}
	if !isToken(m) {
		return "", &InvalidRequestError{Field: "method", Reason: fmt.Sprintf("invalid method %q", m)}
	}
	if strings.EqualFold(m, http.MethodConnect) {
		return "", &InvalidRequestError{Field: "method", Reason: "CONNECT is not allowed"}
	}
	return m, nil
}

// forbiddenHeaders are derived by the host and may not be set by the guest.
var forbiddenHeaders = map[string]bool{
	"Host":              true,
	"Content-Length":    true,
	"Transfer-Encoding": true,
	"Connection":        true,
	"Upgrade":           true,
	"Te":                true,
	"Trailer":           true,
	"Keep-Alive":        true,
	"Proxy-Connection":  true,
}

// buildHeader validates and canonicalises guest headers, adding the default
// User-Agent.
func buildHeader(in map[string]string) (http.Header, error) {
	h := make(http.Header, len(in)+1)
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic order for names differing only in case
	for _, k := range keys {
		v := in[k]
		if !isToken(k) {
			return nil, &InvalidRequestError{Field: "headers", Reason: fmt.Sprintf("invalid header name %q", k)}
		}
		ck := http.CanonicalHeaderKey(k)
		if !validHeaderValue(v) {
			return nil, &InvalidRequestError{Field: "headers", Reason: fmt.Sprintf("value of %q contains a control character (CR, LF, NUL and the like are not allowed)", ck)}
		}
		if forbiddenHeaders[ck] {
			return nil, &InvalidRequestError{Field: "headers", Reason: fmt.Sprintf("%q is set by the host and may not be set by the script", ck)}
		}
		h.Add(ck, v)
	}
	if _, ok := h["User-Agent"]; !ok {
		h.Set("User-Agent", "runlet")
	}
	return h, nil
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
			c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~':
		default:
			return false
		}
	}
	return true
}

// validHeaderValue refuses control characters other than horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
