// Package fetch performs outbound HTTP requests on behalf of untrusted
// guest scripts running in WebAssembly.
//
// # Threat
//
// A script that can make the host send HTTP requests can try to use the host
// as a proxy into networks the script itself cannot see: the loopback
// interface, the operator's private network, or a cloud provider's
// instance-metadata service at 169.254.169.254 (server-side request forgery,
// SSRF). Checking the URL's host string is not enough: a public-looking name
// can resolve to a private address, and a name under the attacker's control
// can resolve to a public address when checked and to a private one when
// dialled (DNS rebinding). Redirects give the attacker a second chance at
// every hop.
//
// # Defences
//
// Every request is deny-by-default:
//
//   - The URL must be http or https, carry no credentials, and name a host on
//     the script's Policy.AllowedHosts (an empty list allows nothing). Host
//     names are restricted to ASCII letters, digits, '-', '_' and '.', and
//     numeric forms such as "2130706433" are refused.
//   - Unless Policy.AllowPrivate is set, the address actually dialled is
//     checked inside net.Dialer.ControlContext, after DNS resolution and
//     immediately before connect(2), for every address tried. Loopback,
//     RFC 1918 private, link-local (including 169.254.169.254), CGNAT
//     (100.64.0.0/10), unspecified, multicast, broadcast and other reserved
//     IPv4 ranges, IPv6 unique-local (fc00::/7), link-local, site-local,
//     IPv4-compatible, Teredo, and IPv4-mapped, NAT64 or 6to4 addresses
//     embedding any refused IPv4 address are all denied, as are the
//     well-known cloud metadata endpoints. Because the check runs on the
//     resolved address, DNS rebinding cannot bypass it.
//   - Every redirect hop is checked again against the allow-list and the
//     address rules, and at most Limits.MaxRedirects hops are followed.
//   - Environment proxy settings are ignored, so the dialled address is
//     always the destination itself.
//   - Requests with AllowPrivate and requests without it use separate
//     connection pools, so a connection opened under the override is never
//     reused for a script without it.
//
// # Defaults
//
// Limits default to a 30 s timeout (also bounded by the caller's context),
// 10 MiB request and response bodies, and 5 redirects. Response headers are
// bounded to 1 MiB. A request without a User-Agent header is sent with
// "User-Agent: runlet". The guest may not set the Host, Content-Length,
// Transfer-Encoding, Connection, Upgrade, TE, Trailer, Keep-Alive or
// Proxy-Connection headers; the host derives them.
package fetch
