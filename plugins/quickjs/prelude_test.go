package quickjs

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Tests of the JavaScript environment of glue/prelude.js.

func TestBase64(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export function main(s) {
  let bad;
  try { btoa("✓"); } catch (e) { bad = e.name; }
  let badIn;
  try { atob("a"); } catch (e) { badIn = e.name; }
  return { enc: btoa(s), dec: atob(btoa(s)), spaced: atob(" aGV s bG8= "), nopad: atob("aGk"), bad, badIn };
}`)
	// a binary string: code points 0-255 (JSON carries them as such)
	got := g.run(t, "hi\u0000\u00ff\u0080 there")
	var r map[string]string
	if err := json.Unmarshal([]byte(got), &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"enc": base64.StdEncoding.EncodeToString([]byte{'h', 'i', 0, 0xff, 0x80, ' ', 't', 'h', 'e', 'r', 'e'}),
		"dec": "hi\x00\u00ff\u0080 there", "spaced": "hello", "nopad": "hi",
		"bad": "InvalidCharacterError", "badIn": "InvalidCharacterError",
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("result = %q\nwant     %q", r, want)
	}
}

func TestTextEncoderDecoder(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export function main(s) {
  const b = new TextEncoder().encode(s);
  const d = new TextDecoder();
  let fatal;
  try { new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xff])); } catch (e) { fatal = e.name; }
  return {
    isU8: b instanceof Uint8Array, bytes: Array.from(b), back: d.decode(b), fromBuffer: d.decode(b.buffer),
    lossy: d.decode(new Uint8Array([0x61, 0xff, 0xe2, 0x9c, 0x62])), emoji: d.decode(new TextEncoder().encode("😀")),
    lone: Array.from(new TextEncoder().encode("\ud800")), fatal,
  };
}`)
	s := "héllo ✓"
	var r struct {
		IsU8       bool   `json:"isU8"`
		Bytes      []int  `json:"bytes"`
		Back       string `json:"back"`
		FromBuffer string `json:"fromBuffer"`
		Lossy      string `json:"lossy"`
		Emoji      string `json:"emoji"`
		Lone       []int  `json:"lone"`
		Fatal      string `json:"fatal"`
	}
	if err := json.Unmarshal([]byte(g.run(t, s)), &r); err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, b := range []byte(s) {
		want = append(want, int(b))
	}
	if !r.IsU8 || !reflect.DeepEqual(r.Bytes, want) || r.Back != s || r.FromBuffer != s {
		t.Errorf("round trip of %q: %+v; want bytes %v", s, r, want)
	}
	if r.Lossy != "a\ufffd\ufffdb" || r.Emoji != "😀" || !reflect.DeepEqual(r.Lone, []int{0xef, 0xbf, 0xbd}) || r.Fatal != "TypeError" {
		t.Errorf("edge cases: %+v", r)
	}
}

func TestStructuredCloneAndMicrotask(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export async function main() {
  const a = { x: [1, { y: 2 }] };
  const b = structuredClone(a);
  b.x[1].y = 3;
  const order = [];
  queueMicrotask(() => order.push("micro"));
  order.push("sync");
  await null; await null;
  return { a, b, order };
}`)
	if got, want := g.run(t), `{"a":{"x":[1,{"y":2}]},"b":{"x":[1,{"y":3}]},"order":["sync","micro"]}`; got != want {
		t.Errorf("result = %s, want %s", got, want)
	}
}

func TestFetch(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export async function main(mode) {
  if (mode === "fail") {
    try { await fetch("https://down.example/"); return "resolved"; }
    catch (e) { return { name: e.name, message: e.message, isTypeError: e instanceof TypeError }; }
  }
  const r = await fetch("https://api.example/items?q=1", {
    method: "post", headers: { "Content-Type": "application/json", "X-Token": "t0k" }, body: JSON.stringify({ msg: "héllo" }),
  });
  const r2 = await fetch("https://api.example/text");
  const buf = await (await fetch("https://api.example/text")).arrayBuffer();
  let reread;
  try { await r2.text(); await r2.text(); } catch (e) { reread = e.name; }
  return {
    status: r.status, ok: r.ok, statusText: r.statusText, ct: r.headers.get("content-type"),
    multi: r.headers.get("SET-COOKIE"), missing: r.headers.get("x-none"), json: await r.json(),
    status2: r2.status, ok2: r2.ok, bufLen: buf.byteLength, reread,
  };
}`)
	var reqs []map[string]any
	g.http = func(req []byte) (uint64, []byte) {
		var r map[string]any
		if err := json.Unmarshal(req, &r); err != nil {
			return 1, []byte("bad JSON")
		}
		reqs = append(reqs, r)
		switch r["url"] {
		case "https://api.example/items?q=1":
			b, _ := json.Marshal(map[string]any{
				"status":  201,
				"headers": map[string][]string{"Content-Type": {"application/json"}, "Set-Cookie": {"a=1", "b=2"}},
				"body":    []byte(`{"id":7,"name":"✓"}`),
			})
			return 0, b
		case "https://api.example/text":
			b, _ := json.Marshal(map[string]any{"status": 404, "headers": map[string][]string{}, "body": []byte("nope")})
			return 0, b
		}
		return 1, []byte("dial tcp: lookup down.example: no such host")
	}
	got := g.run(t, "ok")
	var r map[string]any
	if err := json.Unmarshal([]byte(got), &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"status": 201.0, "ok": true, "statusText": "", "ct": "application/json", "multi": "a=1, b=2", "missing": nil,
		"json": map[string]any{"id": 7.0, "name": "✓"}, "status2": 404.0, "ok2": false, "bufLen": 4.0, "reread": "TypeError",
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("result = %v\nwant     %v", r, want)
	}
	if len(reqs) != 3 {
		t.Fatalf("host got %d requests, want 3: %v", len(reqs), reqs)
	}
	body, _ := base64.StdEncoding.DecodeString(reqs[0]["body"].(string))
	wantReq := map[string]any{
		"method": "POST", "url": "https://api.example/items?q=1",
		"headers": map[string]any{"Content-Type": "application/json", "X-Token": "t0k"},
		"body":    reqs[0]["body"],
	}
	if !reflect.DeepEqual(reqs[0], wantReq) || string(body) != `{"msg":"héllo"}` {
		t.Errorf("request = %v (body %q)\nwant      %v with body {\"msg\":\"héllo\"}", reqs[0], body, wantReq)
	}
	if reqs[1]["method"] != "GET" || reqs[1]["body"] != nil {
		t.Errorf("second request = %v, want a GET without body", reqs[1])
	}
	// status 1: a rejected promise with the host's message as a TypeError
	if got, want := g.run(t, "fail"), `{"name":"TypeError","message":"dial tcp: lookup down.example: no such host","isTypeError":true}`; got != want {
		t.Errorf("failed fetch = %s, want %s", got, want)
	}
}

func TestGetRandomValues(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export function main() {
  const a = crypto.getRandomValues(new Uint8Array(32)), b = crypto.getRandomValues(new Uint8Array(32));
  const w = new Uint32Array(4), same = crypto.getRandomValues(w) === w;
  let float, quota;
  try { crypto.getRandomValues(new Float64Array(2)); } catch (e) { float = e.name; }
  try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { quota = e.name; }
  return { a: Array.from(a), b: Array.from(b), w: Array.from(w), same, float, quota, uuids: [crypto.randomUUID(), crypto.randomUUID()] };
}`)
	var r struct {
		A, B, W []int
		Same    bool
		Float   string
		Quota   string
		UUIDs   []string
	}
	if err := json.Unmarshal([]byte(g.run(t)), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.A) != 32 || len(r.B) != 32 || reflect.DeepEqual(r.A, r.B) {
		t.Errorf("getRandomValues: %v and %v; want two different 32-byte arrays", r.A, r.B)
	}
	if len(r.W) != 4 || !r.Same || (r.W[0] == 0 && r.W[1] == 0 && r.W[2] == 0 && r.W[3] == 0) {
		t.Errorf("Uint32Array: %v, returned the same array: %v", r.W, r.Same)
	}
	if r.Float != "TypeError" || r.Quota != "QuotaExceededError" {
		t.Errorf("errors: float %q, quota %q", r.Float, r.Quota)
	}
	for _, u := range r.UUIDs {
		if len(u) != 36 || u[14] != '4' || !strings.Contains("89ab", u[19:20]) || strings.Count(u, "-") != 4 {
			t.Errorf("randomUUID() = %q, not a version 4 UUID", u)
		}
	}
	if len(r.UUIDs) != 2 || r.UUIDs[0] == r.UUIDs[1] {
		t.Errorf("randomUUID twice: %v", r.UUIDs)
	}
}

func TestTimers(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export async function main(mode) {
  if (mode === "sleep") {
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    return Date.now() - t0;
  }
  if (mode === "interval") {
    const ticks = [];
    await new Promise((resolve) => {
      const id = setInterval((x) => { ticks.push(x); if (ticks.length === 3) { clearInterval(id); setTimeout(resolve, 15); } }, 2, "tick");
    });
    return ticks;
  }
  if (mode === "order") {
    const out = [];
    const cancelled = setTimeout(() => out.push("cancelled"), 1);
    setTimeout(() => out.push("b"), 6);
    setTimeout(() => { out.push("a"); Promise.resolve().then(() => out.push("a-micro")); }, 3);
    setTimeout(() => out.push("b2"), 6);
    clearTimeout(cancelled);
    await new Promise((r) => setTimeout(r, 10));
    return out;
  }
  if (mode === "leave") {
    setTimeout(() => { globalThis.leaked = true; }, 1);
    setInterval(() => { globalThis.leaked = true; }, 1);
    return "left";
  }
  if (mode === "check") {
    await new Promise((r) => setTimeout(r, 10));
    return globalThis.leaked === true ? "leaked" : "clean";
  }
  if (mode === "throw") {
    await new Promise(() => setTimeout(() => { throw new Error("from a timer"); }, 1));
  }
  if (mode === "pending") {
    setTimeout(() => {}, 1);
    return new Promise(() => {});
  }
}`)
	start := time.Now()
	got := g.run(t, "sleep")
	if elapsed := time.Since(start); elapsed < 20*time.Millisecond {
		t.Errorf("setTimeout(r, 20) resolved after %v", elapsed)
	}
	var ms float64
	if err := json.Unmarshal([]byte(got), &ms); err != nil || ms < 19 {
		t.Errorf("main measured %s ms", got)
	}
	if got, want := g.run(t, "interval"), `["tick","tick","tick"]`; got != want {
		t.Errorf("interval = %s, want %s", got, want)
	}
	if got, want := g.run(t, "order"), `["a","a-micro","b","b2"]`; got != want {
		t.Errorf("timer order = %s, want %s", got, want)
	}
	if got := g.run(t, "leave"); got != `"left"` {
		t.Errorf("leave = %s", got)
	}
	if got := g.run(t, "check"); got != `"clean"` {
		t.Errorf("timers of the earlier run fired in the next one: %s", got)
	}
	rc, _, failure := g.runArgs(t, "throw")
	if f := parseFailure(t, failure); rc != 1 || f.Message != "from a timer" {
		t.Errorf("throwing timer: rc %d, error %s", rc, failure)
	}
	rc, _, failure = g.runArgs(t, "pending")
	if rc != 1 || !strings.Contains(failure, "never settled") {
		t.Errorf("pending after the last timer: rc %d, error %s", rc, failure)
	}
}

func TestProcessEnv(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
export function main(name) {
  "use strict";
  let readOnly = false;
  try { process.env[name] = "x"; } catch (e) { readOnly = e instanceof TypeError; }
  return { v: process.env[name], missing: process.env.RUNLET_NO_SUCH_VAR, readOnly, keys: Object.keys(process.env).includes(name) };
}`)
	got := g.run(t, testEnvName)
	want, _ := json.Marshal(map[string]any{"v": testEnvValue, "readOnly": true, "keys": true})
	var a, b map[string]any
	json.Unmarshal([]byte(got), &a)
	json.Unmarshal(want, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("result = %s, want %s", got, want)
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
function parts(u) {
  return [u.href, u.protocol, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, u.origin];
}
export function main() {
  const u = new URL("HTTPS://user:pw@Example.COM:8443/a/./b/../c d?x=1&y=two%20words#frag");
  const v = new URL("../up?q", "http://h.example/one/two/three");
  const w = new URL("http://h.example:80");
  w.searchParams.set("k", "v w&");
  w.searchParams.append("k", "2");
  w.pathname = "/p";
  w.hash = "h";
  const sp = new URLSearchParams("?a=1&b=x+y&a=3&c=%E2%9C%93");
  sp.delete("b");
  sp.set("a", "9");
  let invalid;
  try { new URL("/relative"); } catch (e) { invalid = e.name; }
  return {
    u: parts(u), y: u.searchParams.get("y"), user: [u.username, u.password],
    v: parts(v), w: String(w), wk: w.searchParams.getAll("k"),
    sp: sp.toString(), c: sp.get("c"), obj: new URLSearchParams({ q: "a b", n: 1 }).toString(),
    json: JSON.stringify({ u: new URL("http://x.example/") }), invalid,
    mailto: [new URL("mailto:a@b.example").protocol, new URL("mailto:a@b.example").pathname],
  };
}`)
	var r map[string]any
	if err := json.Unmarshal([]byte(g.run(t)), &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"u": []any{"https://user:pw@example.com:8443/a/c%20d?x=1&y=two%20words#frag", "https:", "example.com:8443", "example.com", "8443",
			"/a/c%20d", "?x=1&y=two%20words", "#frag", "https://example.com:8443"},
		"y": "two words", "user": []any{"user", "pw"},
		"v":       []any{"http://h.example/one/up?q", "http:", "h.example", "h.example", "", "/one/up", "?q", "", "http://h.example"},
		"w":       "http://h.example/p?k=v+w%26&k=2#h",
		"wk":      []any{"v w&", "2"},
		"sp":      "a=9&c=%E2%9C%93",
		"c":       "✓",
		"obj":     "q=a+b&n=1",
		"json":    `{"u":"http://x.example/"}`,
		"invalid": "TypeError",
		"mailto":  []any{"mailto:", "a@b.example"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(r[k], v) {
			t.Errorf("%s = %v, want %v", k, r[k], v)
		}
	}
}

func TestSubtleCrypto(t *testing.T) {
	t.Parallel()
	g := newGuest(t, `
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
export async function main(msg, key) {
  const enc = new TextEncoder();
  const k = await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  const k1 = await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: { name: "SHA-1" } }, false, ["sign"]);
  const sig = await crypto.subtle.sign("HMAC", k, enc.encode(msg));
  let unsupported;
  try { await crypto.subtle.digest("SHA-512", enc.encode(msg)); } catch (e) { unsupported = e.name; }
  return {
    sha256: hex(await crypto.subtle.digest("SHA-256", enc.encode(msg))),
    sha1: hex(await crypto.subtle.digest({ name: "SHA-1" }, enc.encode(msg).buffer)),
    hmac256: hex(sig), hmac1: hex(await crypto.subtle.sign("HMAC", k1, enc.encode(msg))),
    ok: await crypto.subtle.verify("HMAC", k, sig, enc.encode(msg)),
    bad: await crypto.subtle.verify("HMAC", k, sig, enc.encode(msg + "!")),
    unsupported,
  };
}`)
	for _, tc := range []struct{ msg, key string }{
		{"", "k"},
		{"héllo ✓", "secret"},
		{strings.Repeat("abcdefgh", 17), strings.Repeat("K", 100)}, // > 1 block, key > block size
		{strings.Repeat("x", 55), "k"},                             // padding edge
		{strings.Repeat("x", 64), "k"},
	} {
		var r map[string]any
		if err := json.Unmarshal([]byte(g.run(t, tc.msg, tc.key)), &r); err != nil {
			t.Fatal(err)
		}
		s256 := sha256.Sum256([]byte(tc.msg))
		s1 := sha1.Sum([]byte(tc.msg))
		h256 := hmac.New(sha256.New, []byte(tc.key))
		h256.Write([]byte(tc.msg))
		h1 := hmac.New(sha1.New, []byte(tc.key))
		h1.Write([]byte(tc.msg))
		want := map[string]any{
			"sha256": hex.EncodeToString(s256[:]), "sha1": hex.EncodeToString(s1[:]),
			"hmac256": hex.EncodeToString(h256.Sum(nil)), "hmac1": hex.EncodeToString(h1.Sum(nil)),
			"ok": true, "bad": false, "unsupported": "NotSupportedError",
		}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("msg %q key %q:\n got %v\nwant %v", tc.msg, tc.key, r, want)
		}
	}
}
