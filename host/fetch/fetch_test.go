package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newServer starts an httptest server on 127.0.0.1 counting its hits.
func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newTestFetcher(t *testing.T, l Limits) *Fetcher {
	t.Helper()
	f := New(l)
	t.Cleanup(f.CloseIdleConnections)
	return f
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

// private allows the local test servers explicitly.
var private = Policy{AllowedHosts: []string{"127.0.0.1"}, AllowPrivate: true}

func TestLoopbackPolicy(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, ok)
	f := newTestFetcher(t, Limits{})
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	localhostURL := fmt.Sprintf("http://localhost:%d/", port)

	tests := []struct {
		name    string
		p       Policy
		url     string
		wantErr string // exact message; "" = success
	}{
		{
			name:    "loopback ip denied by default even when allow-listed",
			p:       Policy{AllowedHosts: []string{"127.0.0.1"}},
			url:     srv.URL,
			wantErr: "fetch: 127.0.0.1 is a loopback address (allow private networks to reach it)",
		},
		{
			name: "loopback ip allowed with AllowPrivate",
			p:    Policy{AllowedHosts: []string{"127.0.0.1"}, AllowPrivate: true},
			url:  srv.URL,
		},
		{
			name:    "AllowPrivate still needs the allow-list",
			p:       Policy{AllowedHosts: []string{"api.example.com"}, AllowPrivate: true},
			url:     srv.URL,
			wantErr: "fetch: 127.0.0.1 is not on the script's allow-list",
		},
		{
			name:    "localhost denied at dial time",
			p:       Policy{AllowedHosts: []string{"localhost"}},
			url:     localhostURL,
			wantErr: `fetch: host "localhost" resolves to `,
		},
		{
			name: "localhost allowed with AllowPrivate",
			p:    Policy{AllowedHosts: []string{"localhost"}, AllowPrivate: true},
			url:  localhostURL,
		},
		{
			name:    "empty allow-list",
			p:       Policy{AllowPrivate: true},
			url:     srv.URL,
			wantErr: "fetch: 127.0.0.1 is not on the script's allow-list (the allow-list is empty)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := f.Do(t.Context(), tt.p, Request{URL: tt.url})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				if resp.Status != http.StatusOK || string(resp.Body) != "ok" {
					t.Fatalf("got %d %q", resp.Status, resp.Body)
				}
				return
			}
			if !errors.Is(err, ErrDenied) {
				t.Fatalf("Do = %v, want ErrDenied", err)
			}
			if _, ok := errors.AsType[*DeniedError](err); !ok {
				t.Fatalf("Do = %T, want *DeniedError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("message:\n got %s\nwant %s", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "allow-list") && !strings.HasSuffix(err.Error(), "(allow private networks to reach it)") {
				t.Fatalf("message %q gives no hint", err)
			}
		})
	}
}

// TestLocalhostDialTime shows that "localhost" passes the string-level
// check and is refused only by the dial-time address check, before any
// byte reaches the server.
func TestLocalhostDialTime(t *testing.T) {
	t.Parallel()
	srv, hits := newServer(t, ok)
	f := newTestFetcher(t, Limits{})
	u := fmt.Sprintf("http://localhost:%d/", srv.Listener.Addr().(*net.TCPAddr).Port)
	p := Policy{AllowedHosts: []string{"localhost"}}

	if err := p.CheckURL(u); err != nil {
		t.Fatalf("CheckURL(%q) = %v, want nil (no DNS at that stage)", u, err)
	}
	_, err := f.Do(t.Context(), p, Request{URL: u})
	de, ok := errors.AsType[*DeniedError](err)
	if !ok {
		t.Fatalf("Do = %v, want *DeniedError", err)
	}
	if de.Host != "localhost" || !strings.HasPrefix(de.Reason, "resolves to ") || !strings.Contains(de.Reason, "loopback") {
		t.Fatalf("DeniedError = %+v", de)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("server saw %d requests, want 0", n)
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	f := newTestFetcher(t, Limits{MaxRedirects: 3})

	// /hop/N redirects to /hop/N-1; /hop/0 answers.
	chain, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
			return
		}
		io.WriteString(w, "done")
	})
	external, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://not-allowed.example/steal", http.StatusFound)
	})
	toFTP, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://127.0.0.1/x", http.StatusFound)
	})

	t.Run("to non-allowed host is denied", func(t *testing.T) {
		t.Parallel()
		_, err := f.Do(t.Context(), private, Request{URL: external.URL})
		if !errors.Is(err, ErrDenied) {
			t.Fatalf("Do = %v, want ErrDenied", err)
		}
		de, _ := errors.AsType[*DeniedError](err)
		if de == nil || de.Host != "not-allowed.example" {
			t.Fatalf("DeniedError = %+v", de)
		}
	})
	t.Run("to bad scheme is invalid", func(t *testing.T) {
		t.Parallel()
		_, err := f.Do(t.Context(), private, Request{URL: toFTP.URL})
		ie, ok := errors.AsType[*InvalidRequestError](err)
		if !ok || ie.Field != "redirect" {
			t.Fatalf("Do = %v, want *InvalidRequestError for redirect", err)
		}
	})
	t.Run("within limit", func(t *testing.T) {
		t.Parallel()
		resp, err := f.Do(t.Context(), private, Request{URL: chain.URL + "/hop/3"})
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		if resp.Status != 200 || string(resp.Body) != "done" {
			t.Fatalf("got %d %q", resp.Status, resp.Body)
		}
	})
	t.Run("over limit", func(t *testing.T) {
		t.Parallel()
		_, err := f.Do(t.Context(), private, Request{URL: chain.URL + "/hop/100"})
		le, ok := errors.AsType[*LimitError](err)
		if !ok || le.Limit != LimitRedirects || le.Max != 3 {
			t.Fatalf("Do = %v, want redirect *LimitError", err)
		}
	})
	t.Run("disabled returns the 3xx", func(t *testing.T) {
		t.Parallel()
		f := newTestFetcher(t, Limits{MaxRedirects: -1})
		resp, err := f.Do(t.Context(), private, Request{URL: chain.URL + "/hop/2"})
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		if resp.Status != http.StatusFound || resp.Headers["Location"][0] != "/hop/1" {
			t.Fatalf("got %d %v", resp.Status, resp.Headers)
		}
	})
}

func TestRedirectLimitCount(t *testing.T) {
	t.Parallel()
	srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/again", http.StatusFound)
	})
	f := newTestFetcher(t, Limits{MaxRedirects: 2})
	_, err := f.Do(t.Context(), private, Request{URL: srv.URL})
	if le, ok := errors.AsType[*LimitError](err); !ok || le.Limit != LimitRedirects {
		t.Fatalf("Do = %v, want redirect *LimitError", err)
	}
	if want := "fetch: stopped after 2 redirects (the limit)"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
	if n := hits.Load(); n != 3 { // original + 2 followed redirects
		t.Fatalf("server saw %d requests, want 3", n)
	}
}

// TestRedirectHopDialCheck redirects from a server the test treats as
// public to a host name resolving to loopback: the hop passes the
// allow-list but is refused by the dial-time check.
func TestRedirectHopDialCheck(t *testing.T) {
	t.Parallel()
	target, targetHits := newServer(t, ok)
	targetPort := target.Listener.Addr().(*net.TCPAddr).Port
	origin, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("http://localhost:%d/", targetPort), http.StatusFound)
	})
	originAP := netip.MustParseAddrPort(origin.Listener.Addr().String())

	// Pretend the origin server's address is public.
	f := newFetcher(Limits{}, func(ap netip.AddrPort) string {
		if ap == originAP {
			return ""
		}
		return classifyAddr(ap.Addr())
	})
	t.Cleanup(f.CloseIdleConnections)

	p := Policy{AllowedHosts: []string{"127.0.0.1", "localhost"}}
	_, err := f.Do(t.Context(), p, Request{URL: origin.URL})
	de, ok := errors.AsType[*DeniedError](err)
	if !ok {
		t.Fatalf("Do = %v, want *DeniedError", err)
	}
	if de.Host != "localhost" || !strings.Contains(de.Reason, "loopback") {
		t.Fatalf("DeniedError = %+v", de)
	}
	if n := targetHits.Load(); n != 0 {
		t.Fatalf("redirect target saw %d requests, want 0", n)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 2000)
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") != "" {
			w.(http.Flusher).Flush() // no Content-Length
		}
		io.WriteString(w, big[:n])
	})
	f := newTestFetcher(t, Limits{MaxResponseBytes: 1000, MaxRequestBytes: 10})

	tests := []struct {
		name      string
		req       Request
		wantLimit string // "" = success
	}{
		{name: "response at limit", req: Request{URL: srv.URL + "/?n=1000"}},
		{name: "response over limit with length", req: Request{URL: srv.URL + "/?n=1001"}, wantLimit: LimitResponseBody},
		{name: "response over limit chunked", req: Request{URL: srv.URL + "/?n=2000&chunked=1"}, wantLimit: LimitResponseBody},
		{name: "response at limit chunked", req: Request{URL: srv.URL + "/?n=1000&chunked=1"}},
		{name: "request at limit", req: Request{Method: "POST", URL: srv.URL + "/?n=1", Body: []byte("0123456789")}},
		{name: "request over limit", req: Request{Method: "POST", URL: srv.URL + "/?n=1", Body: []byte("0123456789a")}, wantLimit: LimitRequestBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := f.Do(t.Context(), private, tt.req)
			if tt.wantLimit == "" {
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				if resp.Status != 200 {
					t.Fatalf("status %d", resp.Status)
				}
				return
			}
			le, ok := errors.AsType[*LimitError](err)
			if !ok {
				t.Fatalf("Do = %v, want *LimitError", err)
			}
			if le.Limit != tt.wantLimit {
				t.Fatalf("Limit = %q, want %q", le.Limit, tt.wantLimit)
			}
			if want := map[string]int64{LimitResponseBody: 1000, LimitRequestBody: 10}[tt.wantLimit]; le.Max != want {
				t.Fatalf("Max = %d, want %d", le.Max, want)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	tests := []struct {
		name   string
		limits Limits
		ctx    time.Duration // caller deadline; 0 = none
		path   string
	}{
		{name: "headers late", limits: Limits{Timeout: 200 * time.Millisecond}, path: "/slow"},
		{name: "body late", limits: Limits{Timeout: 200 * time.Millisecond}, path: "/slow-body"},
		{name: "caller deadline shorter", limits: Limits{Timeout: time.Minute}, ctx: 200 * time.Millisecond, path: "/slow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newTestFetcher(t, tt.limits)
			ctx := t.Context()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			start := time.Now()
			_, err := f.Do(ctx, private, Request{URL: srv.URL + tt.path})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Do = %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

func TestCanceled(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	f := newTestFetcher(t, Limits{})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := f.Do(ctx, private, Request{URL: srv.URL})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
}

func TestRequestAndResponse(t *testing.T) {
	t.Parallel()
	type seen struct {
		method, body, ua, custom string
		multi                    []string
		ctype                    string
	}
	got := make(chan seen, 1)
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{
			method: r.Method, body: string(b), ua: r.UserAgent(),
			custom: r.Header.Get("X-Custom"), multi: r.Header.Values("X-Multi"),
			ctype: r.Header.Get("Content-Type"),
		}
		w.Header()["x-lower-case"] = []string{"v1"} // raw, non-canonical on the server side
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "created")
	})
	f := newTestFetcher(t, Limits{})

	resp, err := f.Do(t.Context(), private, Request{
		Method: "POST",
		URL:    srv.URL + "/items?x=1",
		Headers: map[string]string{
			"x-custom":     "hello",
			"Content-Type": "application/json",
			"X-Multi":      "a",
			"x-multi":      "b",
		},
		Body: []byte(`{"k":"v"}`),
	})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	s := <-got
	if s.method != "POST" || s.body != `{"k":"v"}` || s.custom != "hello" || s.ctype != "application/json" {
		t.Fatalf("server saw %+v", s)
	}
	if s.ua != "runlet" {
		t.Fatalf("User-Agent %q, want runlet", s.ua)
	}
	if len(s.multi) != 2 {
		t.Fatalf("X-Multi %q, want both values", s.multi)
	}
	if resp.Status != http.StatusCreated || string(resp.Body) != "created" {
		t.Fatalf("got %d %q", resp.Status, resp.Body)
	}
	if v := resp.Headers["X-Lower-Case"]; len(v) != 1 || v[0] != "v1" {
		t.Fatalf("headers %v: want canonical X-Lower-Case", resp.Headers)
	}
	if _, ok := resp.Headers["x-lower-case"]; ok {
		t.Fatalf("non-canonical key in %v", resp.Headers)
	}
	if v := resp.Headers["Set-Cookie"]; len(v) != 2 {
		t.Fatalf("Set-Cookie %q, want 2 values", v)
	}

	// A guest User-Agent is kept; default method is GET; empty body is non-nil.
	srv2, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-UA", r.UserAgent())
		w.WriteHeader(http.StatusNoContent)
	})
	resp, err = f.Do(t.Context(), private, Request{URL: srv2.URL, Headers: map[string]string{"user-agent": "mine/1"}})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if resp.Status != http.StatusNoContent || resp.Headers["X-Method"][0] != "GET" || resp.Headers["X-Ua"][0] != "mine/1" {
		t.Fatalf("got %d %v", resp.Status, resp.Headers)
	}
	if resp.Body == nil || resp.Headers == nil {
		t.Fatalf("nil Body or Headers")
	}
}

func TestBadInputs(t *testing.T) {
	t.Parallel()
	srv, hits := newServer(t, ok)
	f := newTestFetcher(t, Limits{})
	tests := []struct {
		name      string
		req       Request
		wantField string
		wantMsg   string
	}{
		{name: "ftp url", req: Request{URL: "ftp://127.0.0.1/file"}, wantField: "url", wantMsg: `fetch: url: scheme "ftp" is not allowed`},
		{name: "empty url", req: Request{URL: ""}, wantField: "url", wantMsg: "fetch: url: is empty"},
		{name: "relative url", req: Request{URL: "/just/a/path"}, wantField: "url", wantMsg: "fetch: url: missing scheme"},
		{name: "userinfo", req: Request{URL: "http://u:p@127.0.0.1/"}, wantField: "url", wantMsg: "fetch: url: credentials"},
		{name: "header name injection", req: Request{URL: srv.URL, Headers: map[string]string{"a\r\nb": "v"}}, wantField: "headers", wantMsg: `fetch: headers: invalid header name "a\r\nb"`},
		{name: "header value injection", req: Request{URL: srv.URL, Headers: map[string]string{"X-A": "a\r\nb"}}, wantField: "headers", wantMsg: `fetch: headers: value of "X-A" contains a control character`},
		{name: "header value NUL", req: Request{URL: srv.URL, Headers: map[string]string{"X-A": "a\x00b"}}, wantField: "headers", wantMsg: "fetch: headers: "},
		{name: "empty header name", req: Request{URL: srv.URL, Headers: map[string]string{"": "v"}}, wantField: "headers", wantMsg: "fetch: headers: invalid header name"},
		{name: "host header", req: Request{URL: srv.URL, Headers: map[string]string{"host": "internal"}}, wantField: "headers", wantMsg: `fetch: headers: "Host" is set by the host`},
		{name: "transfer-encoding header", req: Request{URL: srv.URL, Headers: map[string]string{"Transfer-Encoding": "chunked"}}, wantField: "headers", wantMsg: `"Transfer-Encoding" is set by the host`},
		{name: "bad method", req: Request{Method: "GE T", URL: srv.URL}, wantField: "method", wantMsg: `fetch: method: invalid method "GE T"`},
		{name: "method injection", req: Request{Method: "GET\r\n", URL: srv.URL}, wantField: "method", wantMsg: "fetch: method: "},
		{name: "connect", req: Request{Method: "CONNECT", URL: srv.URL}, wantField: "method", wantMsg: "fetch: method: CONNECT is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.Do(t.Context(), private, tt.req)
			ie, ok := errors.AsType[*InvalidRequestError](err)
			if !ok {
				t.Fatalf("Do = %v, want *InvalidRequestError", err)
			}
			if ie.Field != tt.wantField {
				t.Fatalf("Field = %q, want %q", ie.Field, tt.wantField)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("message %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
	t.Cleanup(func() {
		if n := hits.Load(); n != 0 {
			t.Errorf("server saw %d requests, want 0", n)
		}
	})
}

func TestConcurrentSharedFetcher(t *testing.T) {
	t.Parallel()
	srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Query().Get("i"))
	})
	f := newTestFetcher(t, Limits{})
	denied := Policy{AllowedHosts: []string{"127.0.0.1"}}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Go(func() {
			p, wantOK := private, true
			if i%2 == 1 {
				p, wantOK = denied, false
			}
			resp, err := f.Do(t.Context(), p, Request{URL: srv.URL + "/?i=" + url.QueryEscape(strconv.Itoa(i))})
			switch {
			case wantOK && err != nil:
				errs <- err
			case wantOK && string(resp.Body) != strconv.Itoa(i):
				errs <- fmt.Errorf("request %d got %q", i, resp.Body)
			case !wantOK && !errors.Is(err, ErrDenied):
				errs <- fmt.Errorf("request %d: %v, want ErrDenied", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := hits.Load(); n != 16 {
		t.Fatalf("server saw %d requests, want 16 (denied ones must not connect)", n)
	}
}

func TestLimitsDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Limits
		want Limits
	}{
		{name: "zero", in: Limits{}, want: Limits{Timeout: 30 * time.Second, MaxResponseBytes: 10 << 20, MaxRequestBytes: 10 << 20, MaxRedirects: 5}},
		{name: "negative", in: Limits{Timeout: -1, MaxResponseBytes: -1, MaxRequestBytes: -1, MaxRedirects: -1}, want: Limits{Timeout: 30 * time.Second, MaxResponseBytes: 10 << 20, MaxRequestBytes: 10 << 20, MaxRedirects: -1}},
		{name: "explicit", in: Limits{Timeout: time.Second, MaxResponseBytes: 1, MaxRequestBytes: 2, MaxRedirects: 3}, want: Limits{Timeout: time.Second, MaxResponseBytes: 1, MaxRequestBytes: 2, MaxRedirects: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := New(tt.in).limits; got != tt.want {
				t.Fatalf("limits = %+v, want %+v", got, tt.want)
			}
		})
	}
}
