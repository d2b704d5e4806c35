package fetch

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestAllowList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		allowed []string
		url     string
		want    bool
	}{
		{name: "exact", allowed: []string{"api.example.com"}, url: "https://api.example.com/v1", want: true},
		{name: "exact other host", allowed: []string{"api.example.com"}, url: "https://internal.example/", want: false},
		{name: "exact does not match subdomain", allowed: []string{"example.com"}, url: "https://api.example.com/", want: false},
		{name: "exact does not match suffix trick", allowed: []string{"example.com"}, url: "https://evilexample.com/", want: false},
		{name: "wildcard subdomain", allowed: []string{"*.example.com"}, url: "https://api.example.com/", want: true},
		{name: "wildcard deep subdomain", allowed: []string{"*.example.com"}, url: "https://a.b.example.com/", want: true},
		{name: "wildcard not apex", allowed: []string{"*.example.com"}, url: "https://example.com/", want: false},
		{name: "wildcard not suffix trick", allowed: []string{"*.example.com"}, url: "https://evilexample.com/", want: false},
		{name: "wildcard not other domain", allowed: []string{"*.example.com"}, url: "https://example.com.evil.net/", want: false},
		{name: "port restricted match", allowed: []string{"example.com:8443"}, url: "https://example.com:8443/", want: true},
		{name: "port restricted mismatch", allowed: []string{"example.com:8443"}, url: "https://example.com:9443/", want: false},
		{name: "port restricted default https", allowed: []string{"example.com:443"}, url: "https://example.com/", want: true},
		{name: "port restricted default http", allowed: []string{"example.com:443"}, url: "http://example.com/", want: false},
		{name: "port restricted explicit default", allowed: []string{"example.com:80"}, url: "http://example.com:80/", want: true},
		{name: "wildcard with port", allowed: []string{"*.example.com:8443"}, url: "https://a.example.com:8443/", want: true},
		{name: "wildcard with wrong port", allowed: []string{"*.example.com:8443"}, url: "https://a.example.com/", want: false},
		{name: "no port means any port", allowed: []string{"example.com"}, url: "http://example.com:1234/", want: true},
		{name: "case entry", allowed: []string{"API.Example.COM"}, url: "https://api.example.com/", want: true},
		{name: "case url", allowed: []string{"api.example.com"}, url: "https://API.EXAMPLE.com/", want: true},
		{name: "case wildcard", allowed: []string{"*.EXAMPLE.com"}, url: "https://Api.Example.Com/", want: true},
		{name: "trailing dot url", allowed: []string{"api.example.com"}, url: "https://api.example.com./", want: true},
		{name: "trailing dot entry", allowed: []string{"api.example.com."}, url: "https://api.example.com/", want: true},
		{name: "trailing dot wildcard", allowed: []string{"*.example.com."}, url: "https://a.example.com./", want: true},
		{name: "star any host", allowed: []string{"*"}, url: "https://anything.example.org:9999/", want: true},
		{name: "star public ip", allowed: []string{"*"}, url: "http://8.8.8.8/", want: true},
		{name: "star with port", allowed: []string{"*:443"}, url: "https://x.example/", want: true},
		{name: "star with port mismatch", allowed: []string{"*:443"}, url: "http://x.example/", want: false},
		{name: "empty list", allowed: nil, url: "https://api.example.com/", want: false},
		{name: "empty list ip", allowed: []string{}, url: "http://8.8.8.8/", want: false},
		{name: "ipv4 literal", allowed: []string{"203.0.113.7"}, url: "http://203.0.113.7/", want: true},
		{name: "ipv4 literal other", allowed: []string{"203.0.113.7"}, url: "http://203.0.113.8/", want: false},
		{name: "ipv4 literal with port", allowed: []string{"203.0.113.7:8080"}, url: "http://203.0.113.7:8080/", want: true},
		{name: "ipv4 mapped url matches ipv4 entry", allowed: []string{"203.0.113.7"}, url: "http://[::ffff:203.0.113.7]/", want: true},
		{name: "ipv6 literal", allowed: []string{"2001:4860::8888"}, url: "http://[2001:4860:0:0::8888]/", want: true},
		{name: "ipv6 literal bracketed port", allowed: []string{"[2001:4860::8888]:8443"}, url: "https://[2001:4860::8888]:8443/", want: true},
		{name: "ip entry does not match name", allowed: []string{"203.0.113.7"}, url: "http://host.example/", want: false},
		{name: "wildcard does not match ip", allowed: []string{"*.0.113.7"}, url: "http://203.0.113.7/", want: false},
		{name: "second entry matches", allowed: []string{"a.example", "b.example"}, url: "http://b.example/", want: true},
		{name: "malformed entry ignored", allowed: []string{"http://api.example.com", "a*b.example", "", "x.example:0"}, url: "http://api.example.com/", want: false},
		{name: "malformed port entry ignored", allowed: []string{"x.example:99999"}, url: "http://x.example/", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Policy{AllowedHosts: tt.allowed}.CheckURL(tt.url)
			if tt.want && err != nil {
				t.Fatalf("CheckURL(%q) with %q = %v, want allowed", tt.url, tt.allowed, err)
			}
			if !tt.want {
				if !errors.Is(err, ErrDenied) {
					t.Fatalf("CheckURL(%q) with %q = %v, want ErrDenied", tt.url, tt.allowed, err)
				}
				if !strings.Contains(err.Error(), "allow-list") {
					t.Fatalf("error %q does not mention the allow-list", err)
				}
			}
		})
	}
}

func TestDeniedMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Policy
		url  string
		want string
	}{
		{
			name: "not on allow-list",
			p:    Policy{AllowedHosts: []string{"api.example.com"}},
			url:  "https://internal.example/",
			want: `fetch: host "internal.example" is not on the script's allow-list`,
		},
		{
			name: "wrong port",
			p:    Policy{AllowedHosts: []string{"api.example.com:8443"}},
			url:  "https://api.example.com/",
			want: `fetch: host "api.example.com" is not on the script's allow-list for port 443`,
		},
		{
			name: "empty allow-list",
			p:    Policy{},
			url:  "https://api.example.com/",
			want: `fetch: host "api.example.com" is not on the script's allow-list (the allow-list is empty)`,
		},
		{
			name: "loopback literal",
			p:    Policy{AllowedHosts: []string{"127.0.0.1"}},
			url:  "http://127.0.0.1:8080/",
			want: `fetch: 127.0.0.1 is a loopback address (allow private networks to reach it)`,
		},
		{
			name: "metadata literal",
			p:    Policy{AllowedHosts: []string{"*"}},
			url:  "http://169.254.169.254/latest/meta-data/",
			want: `fetch: 169.254.169.254 is a cloud metadata address (allow private networks to reach it)`,
		},
		{
			name: "mapped loopback literal",
			p:    Policy{AllowedHosts: []string{"*"}},
			url:  "http://[::ffff:127.0.0.1]/",
			want: `fetch: ::ffff:127.0.0.1 is a loopback address (allow private networks to reach it)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.p.CheckURL(tt.url)
			if _, ok := errors.AsType[*DeniedError](err); !ok || !errors.Is(err, ErrDenied) {
				t.Fatalf("CheckURL(%q) = %#v, want *DeniedError", tt.url, err)
			}
			if err.Error() != tt.want {
				t.Fatalf("message:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestClassifyAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		addr string
		want string // substring of the reason; "" = public (allowed)
	}{
		{name: "loopback v4", addr: "127.0.0.1", want: "loopback"},
		{name: "loopback v4 other", addr: "127.255.0.9", want: "loopback"},
		{name: "loopback v6", addr: "::1", want: "loopback"},
		{name: "private 10/8", addr: "10.1.2.3", want: "private"},
		{name: "private 172.16/12 low", addr: "172.16.0.1", want: "private"},
		{name: "private 172.16/12 high", addr: "172.31.255.254", want: "private"},
		{name: "172.32 is public", addr: "172.32.0.1", want: ""},
		{name: "private 192.168/16", addr: "192.168.1.1", want: "private"},
		{name: "link-local v4", addr: "169.254.1.1", want: "link-local"},
		{name: "metadata v4", addr: "169.254.169.254", want: "cloud metadata"},
		{name: "metadata aws ecs", addr: "169.254.170.2", want: "cloud metadata"},
		{name: "metadata aws v6", addr: "fd00:ec2::254", want: "cloud metadata"},
		{name: "metadata alibaba", addr: "100.100.100.200", want: "cloud metadata"},
		{name: "cgnat low", addr: "100.64.0.1", want: "CGNAT"},
		{name: "cgnat high", addr: "100.127.255.254", want: "CGNAT"},
		{name: "100.128 is public", addr: "100.128.0.1", want: ""},
		{name: "unspecified v4", addr: "0.0.0.0", want: "unspecified"},
		{name: "this network", addr: "0.1.2.3", want: "reserved"},
		{name: "unspecified v6", addr: "::", want: "unspecified"},
		{name: "unique-local fc00::/7 fc", addr: "fc00::1", want: "unique-local"},
		{name: "unique-local fc00::/7 fd", addr: "fd12:3456::1", want: "unique-local"},
		{name: "link-local v6", addr: "fe80::1", want: "link-local"},
		{name: "link-local v6 with zone", addr: "fe80::1%eth0", want: "link-local"},
		{name: "site-local v6", addr: "fec0::1", want: "site-local"},
		{name: "mapped loopback", addr: "::ffff:127.0.0.1", want: "loopback"},
		{name: "mapped private", addr: "::ffff:10.0.0.1", want: "private"},
		{name: "mapped metadata", addr: "::ffff:169.254.169.254", want: "cloud metadata"},
		{name: "mapped public", addr: "::ffff:8.8.8.8", want: ""},
		{name: "ipv4-compatible", addr: "::127.0.0.1", want: "reserved"},
		{name: "nat64 loopback", addr: "64:ff9b::7f00:1", want: "loopback"},
		{name: "nat64 public", addr: "64:ff9b::808:808", want: ""},
		{name: "6to4 private", addr: "2002:a00:1::1", want: "private"},
		{name: "6to4 public", addr: "2002:808:808::1", want: ""},
		{name: "teredo", addr: "2001:0:4136:e378::1", want: "Teredo"},
		{name: "multicast v4", addr: "224.0.0.1", want: "multicast"},
		{name: "multicast v4 global", addr: "239.1.2.3", want: "multicast"},
		{name: "multicast v6", addr: "ff02::1", want: "multicast"},
		{name: "multicast v6 global", addr: "ff0e::1", want: "multicast"},
		{name: "broadcast", addr: "255.255.255.255", want: "broadcast"},
		{name: "reserved 240/4", addr: "240.0.0.1", want: "reserved"},
		{name: "benchmarking", addr: "198.18.0.1", want: "benchmarking"},
		{name: "public 8.8.8.8", addr: "8.8.8.8", want: ""},
		{name: "public 1.1.1.1", addr: "1.1.1.1", want: ""},
		{name: "public v6", addr: "2001:4860::8888", want: ""},
		{name: "public v6 other", addr: "2606:4700:4700::1111", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := classifyAddr(netip.MustParseAddr(tt.addr))
			switch {
			case tt.want == "" && got != "":
				t.Fatalf("classifyAddr(%s) = %q, want public", tt.addr, got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Fatalf("classifyAddr(%s) = %q, want it to contain %q", tt.addr, got, tt.want)
			}

			// The same verdict applies to IP literals in URLs, unless
			// AllowPrivate is set.
			if strings.Contains(tt.addr, "%") {
				return // zones are not valid in our URL hosts test below
			}
			u := "http://" + tt.addr + "/"
			if netip.MustParseAddr(tt.addr).Is6() {
				u = "http://[" + tt.addr + "]/"
			}
			err := Policy{AllowedHosts: []string{"*"}}.CheckURL(u)
			if (err != nil) != (tt.want != "") {
				t.Fatalf("CheckURL(%q) = %v, want denied=%v", u, err, tt.want != "")
			}
			if err != nil && !errors.Is(err, ErrDenied) {
				t.Fatalf("CheckURL(%q) = %v, want ErrDenied", u, err)
			}
			// AllowPrivate opens every range but cloud metadata, which
			// must be listed as the exact IP.
			err = Policy{AllowedHosts: []string{"*"}, AllowPrivate: true}.CheckURL(u)
			if isMeta := strings.Contains(tt.want, "metadata"); (err != nil) != isMeta {
				t.Fatalf("CheckURL(%q) with AllowPrivate = %v, want denied=%v", u, err, isMeta)
			}
			if err := (Policy{AllowedHosts: []string{"*", tt.addr}, AllowPrivate: true}).CheckURL(u); err != nil {
				t.Fatalf("CheckURL(%q) with AllowPrivate and the IP listed = %v, want nil", u, err)
			}
		})
	}
}

func TestCheckURLInvalid(t *testing.T) {
	t.Parallel()
	p := Policy{AllowedHosts: []string{"*"}}
	tests := []struct {
		name string
		url  string
		want string // substring of the message
	}{
		{name: "empty", url: "", want: "fetch: url: is empty"},
		{name: "ftp scheme", url: "ftp://example.com/f", want: `fetch: url: scheme "ftp" is not allowed`},
		{name: "file scheme", url: "file:///etc/passwd", want: `fetch: url: scheme "file" is not allowed`},
		{name: "no scheme", url: "example.com/x", want: "fetch: url: missing scheme"},
		{name: "no host", url: "http:///x", want: "fetch: url: missing host"},
		{name: "opaque", url: "http:example.com", want: "fetch: url: missing host"},
		{name: "userinfo", url: "http://user:pw@example.com/", want: "fetch: url: credentials"},
		{name: "userinfo allow-list trick", url: "http://api.example.com@evil.example/", want: "fetch: url: credentials"},
		{name: "malformed", url: "http://exa mple.com/", want: "fetch: url: malformed"},
		{name: "control char", url: "http://example.com/\r\nX: y", want: "fetch: url: malformed"},
		{name: "decimal ip", url: "http://2130706433/", want: "non-standard form"},
		{name: "short ip", url: "http://127.1/", want: "non-standard form"},
		{name: "hex ip", url: "http://0x7f.0.0.1/", want: "non-standard form"},
		{name: "backslash host", url: "http://evil.com\\.example.com/", want: "fetch: url: "},
		{name: "empty label", url: "http://a..example.com/", want: "empty label"},
		{name: "non-ascii host", url: "http://bücher.example/", want: "punycode"},
		{name: "port zero", url: "http://example.com:0/", want: `invalid port "0"`},
		{name: "port too big", url: "http://example.com:70000/", want: `invalid port "70000"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := p.CheckURL(tt.url)
			ie, ok := errors.AsType[*InvalidRequestError](err)
			if !ok {
				t.Fatalf("CheckURL(%q) = %#v, want *InvalidRequestError", tt.url, err)
			}
			if ie.Field != "url" {
				t.Fatalf("Field = %q, want url", ie.Field)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckURL(%q) = %q, want it to contain %q", tt.url, err, tt.want)
			}
		})
	}
}

func TestPrivateDialRefusesMetadata(t *testing.T) {
	t.Parallel()
	f := New(Limits{})
	ctx := context.WithValue(context.Background(), dialHostKey{}, "metadata.internal")
	err := f.controlMetadata(ctx, "tcp4", "169.254.169.254:80", nil)
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), `"metadata.internal" resolves to 169.254.169.254, a cloud metadata address`) {
		t.Fatalf("err = %v", err)
	}
	if err := f.controlMetadata(ctx, "tcp4", "10.1.2.3:80", nil); err != nil {
		t.Fatalf("private address refused under AllowPrivate: %v", err)
	}
	if err := f.controlMetadata(ctx, "tcp6", "[fd00:ec2::254]:80", nil); !errors.Is(err, ErrDenied) {
		t.Fatalf("IPv6 metadata: err = %v", err)
	}
}
