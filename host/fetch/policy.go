package fetch

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Policy is what one script may reach. It is an immutable value; copy it
// freely. The zero Policy allows nothing.
type Policy struct {
	// AllowedHosts lists the hosts the script may contact. Entries are:
	//
	//   - "api.example.com": exactly that host, any port;
	//   - "*.example.com": any subdomain of example.com at any depth, but not
	//     example.com itself;
	//   - "example.com:8443" (or "*.example.com:8443", "*:443"): the same,
	//     restricted to one port; a URL without a port uses 80 for http and
	//     443 for https;
	//   - "*": any host (still subject to the private-address rules);
	//   - IP literals such as "203.0.113.7", "2001:db8::1" or
	//     "[2001:db8::1]:8443", compared as addresses (an IPv4-mapped IPv6
	//     URL host matches its IPv4 entry).
	//
	// Matching is case-insensitive and ignores one trailing dot. Host names
	// are compared in their ASCII form (internationalised names must be
	// written in punycode, "xn--..."). Malformed entries never match.
	// An empty list (the default) means no outbound HTTP at all.
	AllowedHosts []string
	// AllowPrivate is the operator override that lets the script reach
	// loopback, private (RFC 1918, unique-local), link-local, CGNAT,
	// cloud-metadata and other non-public addresses. Targets must still be
	// on AllowedHosts. The default, false, refuses every such address, both
	// for IP literals in URLs and for the addresses host names resolve to
	// at dial time.
	AllowPrivate bool
}

// CheckURL reports whether raw is a well-formed http or https URL whose host
// the policy allows, without any DNS lookup. It is meant for early, clear
// errors; Fetcher.Do repeats this check for every redirect hop and
// additionally checks every IP address it actually dials.
//
// It returns an *InvalidRequestError (Field "url") for a malformed URL and a
// *DeniedError when the host is not on AllowedHosts or is an IP literal in a
// non-public range while AllowPrivate is false. A host name that resolves to
// a non-public address (for example "localhost") passes CheckURL and is
// refused by Fetcher.Do when it is dialled.
func (p Policy) CheckURL(raw string) error {
	_, t, err := parseURL(raw)
	if err != nil {
		return err
	}
	return p.check(t, defaultClassify)
}

// target is a validated request destination.
type target struct {
	host string     // lower-case, no trailing dot, no brackets
	addr netip.Addr // valid iff host is an IP literal
	port uint16     // effective port
}

// parseURL parses and validates a guest URL.
func parseURL(raw string) (*url.URL, target, error) {
	if raw == "" {
		return nil, target{}, &InvalidRequestError{Field: "url", Reason: "is empty"}
	}
	u, err := url.Parse(raw)
	if err != nil {
		reason := err.Error()
		if ue, ok := errors.AsType[*url.Error](err); ok {
			reason = ue.Err.Error()
		}
		return nil, target{}, &InvalidRequestError{Field: "url", Reason: "malformed: " + reason}
	}
	t, err := targetOf(u, "url")
	if err != nil {
		return nil, target{}, err
	}
	return u, t, nil
}

// targetOf validates the scheme, user info, host and port of u. field names
// the request part in errors ("url" or "redirect").
func targetOf(u *url.URL, field string) (target, error) {
	bad := func(format string, args ...any) (target, error) {
		return target{}, &InvalidRequestError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	var defPort uint16
	switch strings.ToLower(u.Scheme) {
	case "http":
		defPort = 80
	case "https":
		defPort = 443
	case "":
		return bad("missing scheme (only http and https are allowed)")
	default:
		return bad("scheme %q is not allowed (only http and https)", u.Scheme)
	}
	if u.Opaque != "" {
		return bad("missing host (opaque URLs are not supported)")
	}
	if u.User != nil {
		return bad("credentials in the URL (user info) are not allowed")
	}
	if u.Host == "" {
		return bad("missing host")
	}

	t := target{port: defPort}
	if ps := u.Port(); ps != "" {
		n, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || n == 0 {
			return bad("invalid port %q", ps)
		}
		t.port = uint16(n)
	}

	host := strings.ToLower(u.Hostname())
	if host == "" {
		return bad("missing host")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		t.host, t.addr = host, a
		return t, nil
	}
	if strings.HasPrefix(u.Host, "[") {
		return bad("invalid IPv6 literal %q", host)
	}
	name, reason := normalizeName(host)
	if reason != "" {
		return bad("invalid host %q: %s", host, reason)
	}
	t.host = name
	return t, nil
}

// normalizeName validates an ASCII DNS host name and strips one trailing
// dot. It returns a non-empty reason when the name is unacceptable.
func normalizeName(h string) (string, string) {
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", "empty name"
	}
	if len(h) > 253 {
		return "", "name longer than 253 characters"
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" {
			return "", "empty label"
		}
		if len(l) > 63 {
			return "", "label longer than 63 characters"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", "only letters, digits, '-', '_' and '.' are allowed (use punycode for internationalised names)"
			}
		}
	}
	// A numeric last label means an IPv4 address in a non-standard form
	// ("2130706433", "0x7f.1", "127.1"), which some resolvers accept. Refuse
	// it rather than guess what it would resolve to.
	if isNumericLabel(labels[len(labels)-1]) {
		return "", "looks like an IP address in a non-standard form"
	}
	return h, ""
}

func isNumericLabel(l string) bool {
	digits := l
	hex := false
	if strings.HasPrefix(l, "0x") {
		digits, hex = l[2:], true
		if digits == "" {
			return true
		}
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		switch {
		case '0' <= c && c <= '9':
		case hex && ('a' <= c && c <= 'f'):
		default:
			return false
		}
	}
	return true
}

// check applies the allow-list and, unless AllowPrivate is set, the
// non-public address rules for IP literal hosts.
func (p Policy) check(t target, classify func(netip.AddrPort) string) error {
	if reason := p.allowListReason(t); reason != "" {
		return &DeniedError{Host: t.host, Reason: reason}
	}
	if t.addr.IsValid() && !p.AllowPrivate {
		if r := classify(netip.AddrPortFrom(t.addr, t.port)); r != "" {
			return &DeniedError{Host: t.host, Reason: "is " + r + privateHint}
		}
	}
	if t.addr.IsValid() && p.AllowPrivate && isMetadata(t.addr) && !p.listsExactly(t.addr) {
		return &DeniedError{Host: t.host, Reason: "is a cloud metadata address" + metadataHint}
	}
	return nil
}

const metadataHint = " (even with private networks allowed, list this exact IP to reach it)"

// isMetadata reports whether a is a cloud instance-metadata endpoint.
func isMetadata(a netip.Addr) bool { return metadataAddrs[a.WithZone("").Unmap()] }

// listsExactly reports whether AllowedHosts names a as an IP literal (with
// or without a port): the only way to reach a metadata endpoint.
func (p Policy) listsExactly(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, raw := range p.AllowedHosts {
		h := strings.TrimSpace(raw)
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		h = strings.Trim(h, "[]")
		if ip, err := netip.ParseAddr(h); err == nil && ip.WithZone("").Unmap() == a {
			return true
		}
	}
	return false
}

const privateHint = " (allow private networks to reach it)"

// allowListReason returns "" when t matches an AllowedHosts entry and the
// denial reason otherwise.
func (p Policy) allowListReason(t target) string {
	if len(p.AllowedHosts) == 0 {
		return "is not on the script's allow-list (the allow-list is empty)"
	}
	hostMatched := false
	for _, raw := range p.AllowedHosts {
		e, ok := parseEntry(raw)
		if !ok || !e.matchesHost(t) {
			continue
		}
		if e.port == 0 || e.port == t.port {
			return ""
		}
		hostMatched = true
	}
	if hostMatched {
		return fmt.Sprintf("is not on the script's allow-list for port %d", t.port)
	}
	return "is not on the script's allow-list"
}

// entry is a parsed AllowedHosts entry.
type entry struct {
	any    bool       // "*"
	suffix string     // ".example.com" for "*.example.com"
	name   string     // exact host name
	addr   netip.Addr // exact IP (unmapped, no zone)
	port   uint16     // 0 = any port
}

func parseEntry(s string) (entry, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return entry{}, false
	}
	var e entry
	host := s
	switch {
	case strings.HasPrefix(s, "["):
		if strings.HasSuffix(s, "]") {
			host = s[1 : len(s)-1]
			break
		}
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return entry{}, false
		}
		host = h
		if e.port = parsePort(p); e.port == 0 {
			return entry{}, false
		}
	case strings.Count(s, ":") == 1:
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return entry{}, false
		}
		host = h
		if e.port = parsePort(p); e.port == 0 {
			return entry{}, false
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return entry{}, false
		}
		e.addr = a.Unmap()
		return e, true
	}
	host = strings.TrimSuffix(host, ".")
	switch {
	case host == "*":
		e.any = true
		return e, true
	case strings.HasPrefix(host, "*."):
		n, reason := normalizeName(host[2:])
		if reason != "" {
			return entry{}, false
		}
		e.suffix = "." + n
		return e, true
	}
	n, reason := normalizeName(host)
	if reason != "" {
		return entry{}, false
	}
	e.name = n
	return e, true
}

func parsePort(s string) uint16 {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0
	}
	return uint16(n)
}

func (e entry) matchesHost(t target) bool {
	switch {
	case e.any:
		return true
	case e.addr.IsValid():
		return t.addr.IsValid() && t.addr.WithZone("").Unmap() == e.addr
	case t.addr.IsValid():
		return false
	case e.suffix != "":
		return len(t.host) > len(e.suffix) && strings.HasSuffix(t.host, e.suffix)
	default:
		return t.host == e.name
	}
}

// Special-purpose ranges refused unless Policy.AllowPrivate is set, beyond
// what netip.Addr's predicates cover.
var reservedRanges = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a reserved (\"this network\") address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "a reserved (IETF protocol assignment) address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a reserved (benchmarking) address"},
	{netip.MustParsePrefix("255.255.255.255/32"), "a broadcast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/96"), "a reserved (IPv4-compatible) address"},
	{netip.MustParsePrefix("100::/64"), "a reserved (discard-only) address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a reserved (local-use NAT64) address"},
	{netip.MustParsePrefix("2001::/32"), "a reserved (Teredo) address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
}

// Well-known cloud instance-metadata endpoints. Most already fall in a
// refused range; naming them gives a clearer error.
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, GCP, Azure, OpenStack, ...
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task metadata
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS IMDS over IPv6
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("192.0.0.192"):     true, // Oracle Cloud
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// classifyAddr returns "" for a public unicast address and, otherwise, a
// noun phrase naming why the address is refused (e.g. "a loopback address").
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they map, and
// NAT64 / 6to4 addresses by the IPv4 address they embed.
func classifyAddr(a netip.Addr) string {
	if !a.IsValid() {
		return "an invalid address"
	}
	a = a.WithZone("").Unmap()
	if metadataAddrs[a] {
		return "a cloud metadata address"
	}
	switch {
	case a.IsUnspecified():
		return "an unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast():
		return "a multicast address"
	case a.IsPrivate() && a.Is4():
		return "a private address"
	case a.IsPrivate():
		return "a unique-local address"
	}
	for _, r := range reservedRanges {
		if r.prefix.Contains(a) {
			return r.reason
		}
	}
	b := a.As16()
	switch {
	case nat64Prefix.Contains(a):
		if r := classifyAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); r != "" {
			return r + " embedded in a NAT64 address"
		}
	case sixToFour.Contains(a):
		if r := classifyAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})); r != "" {
			return r + " embedded in a 6to4 address"
		}
	}
	return ""
}

// defaultClassify is the production classifier; the port is irrelevant.
func defaultClassify(ap netip.AddrPort) string { return classifyAddr(ap.Addr()) }
