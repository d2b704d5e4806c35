/*
 * prelude.js: runlet's JavaScript environment on top of QuickJS.
 *
 * build.sh turns this file into the C string prelude_js (prelude.h) that
 * glue/runlet.c evaluates once, before the script is loaded, so its cost
 * lands in the snapshot. The file is one function expression: the glue
 * calls it with the native helpers and keeps the hooks it returns (the
 * timer loop and the per-run reset); nothing of the natives is left on the
 * global object.
 *
 * native.call(op, json, name) -> string  host call; throws Error(message)
 * native.random(n) -> ArrayBuffer         n bytes from WASI random_get
 * native.now() -> ms                      monotonic clock
 * native.env() -> {name: value}           the WASI environment
 *
 * The returned hooks: next(), fire() and reset() for the event loop,
 * findTask(name, ns) for task jobs, and exports, the module exports
 * written here (the workflow functions).
 */
(function (native) {
  "use strict";
  const g = globalThis;
  const def = (obj, name, value) =>
    Object.defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: false });

  /* ---- base64 ---- */
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const B64INV = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) B64INV[B64.charCodeAt(i)] = i;

  function invalidChar(msg) {
    const e = new Error(msg);
    e.name = "InvalidCharacterError";
    return e;
  }
  function b64encode(bytes) {
    const out = [];
    const n = bytes.length;
    let s = "";
    for (let i = 0; i < n; i += 3) {
      const a = bytes[i], b = i + 1 < n ? bytes[i + 1] : 0, c = i + 2 < n ? bytes[i + 2] : 0;
      s += B64[a >> 2] + B64[((a & 3) << 4) | (b >> 4)] +
        (i + 1 < n ? B64[((b & 15) << 2) | (c >> 6)] : "=") + (i + 2 < n ? B64[c & 63] : "=");
      if (s.length >= 8192) { out.push(s); s = ""; }
    }
    out.push(s);
    return out.join("");
  }
  /* bytes of a base64 string (forgiving: whitespace ignored, padding optional) */
  function b64decode(str) {
    str = String(str).replace(/[\t\n\f\r ]+/g, "");
    if (str.length % 4 === 0) str = str.replace(/==?$/, "");
    if (str.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(str))
      throw invalidChar("The string to be decoded is not correctly encoded.");
    const out = new Uint8Array((str.length * 3) >> 2);
    let acc = 0, bits = 0, j = 0;
    for (let i = 0; i < str.length; i++) {
      acc = (acc << 6) | B64INV[str.charCodeAt(i)];
      bits += 6;
      if (bits >= 8) { bits -= 8; out[j++] = (acc >> bits) & 255; }
    }
    return out;
  }
  function binaryString(bytes) {
    const parts = [];
    for (let i = 0; i < bytes.length; i += 8192)
      parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 8192)));
    return parts.join("");
  }
  def(g, "btoa", function btoa(s) {
    if (arguments.length < 1) throw new TypeError("btoa: 1 argument required");
    s = String(s);
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 255) throw invalidChar("Invalid character");
      bytes[i] = c;
    }
    return b64encode(bytes);
  });
  def(g, "atob", function atob(s) {
    if (arguments.length < 1) throw new TypeError("atob: 1 argument required");
    return binaryString(b64decode(s));
  });

  /* ---- UTF-8 ---- */
  function toBytes(v, what) {
    if (v instanceof Uint8Array) return v;
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    throw new TypeError(what + ": expected an ArrayBuffer or a typed array");
  }
  function utf8encode(s) {
    s = String(s);
    const out = new Uint8Array(s.length * 3);
    let j = 0;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        } else {
          c = 0xfffd; /* lone surrogate */
        }
      }
      if (c < 0x80) out[j++] = c;
      else if (c < 0x800) { out[j++] = 0xc0 | (c >> 6); out[j++] = 0x80 | (c & 63); }
      else if (c < 0x10000) {
        out[j++] = 0xe0 | (c >> 12); out[j++] = 0x80 | ((c >> 6) & 63); out[j++] = 0x80 | (c & 63);
      } else {
        out[j++] = 0xf0 | (c >> 18); out[j++] = 0x80 | ((c >> 12) & 63);
        out[j++] = 0x80 | ((c >> 6) & 63); out[j++] = 0x80 | (c & 63);
      }
    }
    return out.slice(0, j);
  }
  function utf8decode(b, fatal, ignoreBOM) {
    const units = [];
    const parts = [];
    let i = 0;
    if (!ignoreBOM && b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3;
    const bad = () => {
      if (fatal) throw new TypeError("The encoded data was not valid for encoding utf-8");
      units.push(0xfffd);
    };
    while (i < b.length) {
      const c = b[i];
      let need, cp, lo = 0x80, hi = 0xbf;
      if (c < 0x80) { units.push(c); i++; continue; }
      else if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
      else if (c >= 0xe0 && c <= 0xef) {
        need = 2; cp = c & 0x0f;
        if (c === 0xe0) lo = 0xa0; else if (c === 0xed) hi = 0x9f;
      } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3; cp = c & 0x07;
        if (c === 0xf0) lo = 0x90; else if (c === 0xf4) hi = 0x8f;
      } else { bad(); i++; continue; }
      i++;
      let ok = true;
      for (let k = 0; k < need; k++, i++) {
        const d = b[i];
        if (i >= b.length || d < lo || d > hi) { ok = false; break; }
        lo = 0x80; hi = 0xbf;
        cp = (cp << 6) | (d & 0x3f);
      }
      if (!ok) { bad(); continue; }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else units.push(cp);
      if (units.length >= 8192) { parts.push(String.fromCharCode.apply(null, units)); units.length = 0; }
    }
    parts.push(String.fromCharCode.apply(null, units));
    return parts.join("");
  }
  function checkLabel(label) {
    const l = String(label).trim().toLowerCase();
    if (l !== "utf-8" && l !== "utf8" && l !== "unicode-1-1-utf-8")
      throw new RangeError("The \"" + label + "\" encoding is not supported (runlet: UTF-8 only)");
  }
  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(s = "") { return utf8encode(s); }
    encodeInto(s, dest) {
      const b = utf8encode(s);
      /* whole characters only */
      let n = Math.min(b.length, dest.length);
      while (n > 0 && n < b.length && (b[n] & 0xc0) === 0x80) n--;
      dest.set(b.subarray(0, n));
      return { read: utf8decode(b.subarray(0, n), false, true).length, written: n };
    }
  }
  class TextDecoder {
    #fatal; #ignoreBOM;
    constructor(label = "utf-8", options = {}) {
      checkLabel(label);
      this.#fatal = !!(options && options.fatal);
      this.#ignoreBOM = !!(options && options.ignoreBOM);
    }
    get encoding() { return "utf-8"; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input) {
      if (input === undefined) return "";
      return utf8decode(toBytes(input, "TextDecoder.decode"), this.#fatal, this.#ignoreBOM);
    }
  }
  def(g, "TextEncoder", TextEncoder);
  def(g, "TextDecoder", TextDecoder);

  def(g, "structuredClone", function structuredClone(v) {
    return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
  });
  def(g, "queueMicrotask", function queueMicrotask(fn) {
    if (typeof fn !== "function") throw new TypeError("queueMicrotask: callback is not a function");
    Promise.resolve().then(() => fn());
  });

  /* ---- Headers, Response, fetch ---- */
  const lower = (s) => String(s).toLowerCase();
  class Headers {
    #map = new Map(); /* lower-case name -> [name, value] */
    constructor(init) {
      if (init == null) return;
      if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
      else if (Array.isArray(init) || typeof init[Symbol.iterator] === "function")
        for (const [k, v] of init) this.append(k, v);
      else for (const k of Object.keys(init)) this.append(k, init[k]);
    }
    append(name, value) {
      const k = lower(name), old = this.#map.get(k);
      value = String(value).trim();
      this.#map.set(k, old ? [old[0], old[1] + ", " + value] : [String(name), value]);
    }
    set(name, value) { this.#map.set(lower(name), [String(name), String(value).trim()]); }
    get(name) { const e = this.#map.get(lower(name)); return e ? e[1] : null; }
    has(name) { return this.#map.has(lower(name)); }
    delete(name) { this.#map.delete(lower(name)); }
    forEach(fn, thisArg) { for (const [k, v] of this) fn.call(thisArg, v, k, this); }
    *entries() { for (const k of [...this.#map.keys()].sort()) yield [k, this.#map.get(k)[1]]; }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
    /* name -> value with the names as given (the host request's shape) */
    _object() { const o = {}; for (const [n, v] of this.#map.values()) o[n] = v; return o; }
  }
  def(g, "Headers", Headers);

  class Response {
    #bytes; #used = false;
    constructor(body, init = {}) {
      this.#bytes = body == null ? new Uint8Array(0) : typeof body === "string" ? utf8encode(body) : toBytes(body, "Response");
      this.status = init.status === undefined ? 200 : init.status | 0;
      this.statusText = init.statusText === undefined ? "" : String(init.statusText);
      this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
      this.ok = this.status >= 200 && this.status <= 299;
      this.url = init.url || "";
      this.redirected = false;
      this.type = "basic";
    }
    get bodyUsed() { return this.#used; }
    #take() {
      if (this.#used) return Promise.reject(new TypeError("Body is unusable: Body has already been read"));
      this.#used = true;
      return Promise.resolve(this.#bytes);
    }
    arrayBuffer() { return this.#take().then((b) => b.slice().buffer); }
    bytes() { return this.#take().then((b) => b.slice()); }
    text() { return this.#take().then((b) => utf8decode(b, false, false)); }
    json() { return this.text().then((t) => JSON.parse(t)); }
    clone() {
      if (this.#used) throw new TypeError("Response.clone: Body has already been consumed");
      return new Response(this.#bytes.slice(), { status: this.status, statusText: this.statusText, headers: new Headers(this.headers), url: this.url });
    }
  }
  def(g, "Response", Response);

  function bodyBytes(body) {
    if (body == null) return null;
    if (typeof body === "string") return utf8encode(body);
    if (body instanceof g.URLSearchParams) return utf8encode(body.toString());
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return toBytes(body, "fetch");
    return utf8encode(String(body));
  }
  function fetch(input, init = {}) {
    return new Promise((resolve, reject) => {
      init = init || {};
      let url, method, headers, body;
      if (input instanceof Object && typeof input.url === "string" && !(input instanceof g.URL)) {
        url = input.url; method = input.method; headers = input.headers; body = input.body;
      } else {
        url = String(input);
      }
      if (init.method !== undefined) method = init.method;
      if (init.headers !== undefined) headers = init.headers;
      if (init.body !== undefined) body = init.body;
      method = method === undefined ? "GET" : String(method).toUpperCase();
      const h = new Headers(headers);
      const bytes = bodyBytes(body);
      if (bytes && typeof body === "string" && !h.has("content-type")) h.set("Content-Type", "text/plain;charset=UTF-8");
      if (body instanceof g.URLSearchParams && !h.has("content-type"))
        h.set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8");
      const req = { method, url, headers: h._object() };
      if (bytes) req.body = b64encode(bytes);
      let resp;
      try {
        resp = JSON.parse(native.call(6, JSON.stringify(req), "fetch"));
      } catch (e) {
        reject(new TypeError(e && e.message !== undefined ? e.message : String(e)));
        return;
      }
      const rh = new Headers();
      const hs = resp.headers || {};
      for (const k of Object.keys(hs)) {
        const v = hs[k];
        if (Array.isArray(v)) v.forEach((x) => rh.append(k, x)); else rh.append(k, v);
      }
      resolve(new Response(resp.body ? b64decode(resp.body) : null, { status: resp.status, headers: rh, url }));
    });
  }
  def(g, "fetch", fetch);

  /* ---- crypto ---- */
  function getRandomValues(a) {
    if (!(ArrayBuffer.isView(a)) || a instanceof Float32Array || a instanceof Float64Array || a instanceof DataView)
      throw new TypeError("crypto.getRandomValues: the argument must be an integer typed array");
    if (a.byteLength > 65536) {
      const e = new Error("crypto.getRandomValues: the array is longer than 65536 bytes");
      e.name = "QuotaExceededError";
      throw e;
    }
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(new Uint8Array(native.random(a.byteLength)));
    return a;
  }
  function randomUUID() {
    const b = new Uint8Array(native.random(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = "";
    for (let i = 0; i < 16; i++) {
      h += (b[i] + 256).toString(16).slice(1);
      if (i === 3 || i === 5 || i === 7 || i === 9) h += "-";
    }
    return h;
  }

  /* SHA-1 and SHA-256 of a Uint8Array */
  function pad(msg) {
    const n = msg.length, len = ((n + 9 + 63) >> 6) << 6;
    const b = new Uint8Array(len);
    b.set(msg);
    b[n] = 0x80;
    const dv = new DataView(b.buffer);
    dv.setUint32(len - 8, Math.floor(n / 0x20000000));
    dv.setUint32(len - 4, (n << 3) >>> 0);
    return dv;
  }
  const K256 = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ];
  function sha256(msg) {
    const dv = pad(msg), w = new Int32Array(64);
    const h = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    for (let off = 0; off < dv.byteLength; off += 64) {
      for (let i = 0; i < 16; i++) w[i] = dv.getInt32(off + i * 4);
      for (let i = 16; i < 64; i++) {
        const a = w[i - 15], b = w[i - 2];
        const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      let [a, b, c, d, e, f, gg, hh] = h;
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (hh + S1 + ((e & f) ^ (~e & gg)) + K256[i] + w[i]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = gg; gg = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += gg; h[7] += hh;
    }
    const out = new DataView(new ArrayBuffer(32));
    for (let i = 0; i < 8; i++) out.setInt32(i * 4, h[i]);
    return new Uint8Array(out.buffer);
  }
  function sha1(msg) {
    const dv = pad(msg), w = new Int32Array(80);
    const h = new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
    for (let off = 0; off < dv.byteLength; off += 64) {
      for (let i = 0; i < 16; i++) w[i] = dv.getInt32(off + i * 4);
      for (let i = 16; i < 80; i++) {
        const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
        w[i] = (x << 1) | (x >>> 31);
      }
      let [a, b, c, d, e] = h;
      for (let i = 0; i < 80; i++) {
        let f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
        else { f = b ^ c ^ d; k = 0xca62c1d6; }
        const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) | 0;
        e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
      }
      h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    const out = new DataView(new ArrayBuffer(20));
    for (let i = 0; i < 5; i++) out.setInt32(i * 4, h[i]);
    return new Uint8Array(out.buffer);
  }
  const HASHES = { "SHA-256": sha256, "SHA-1": sha1 };
  function hashOf(alg) {
    const name = lower(typeof alg === "object" && alg !== null ? alg.name : alg).toUpperCase();
    const fn = HASHES[name];
    if (!fn) {
      const e = new Error("runlet: unsupported hash algorithm " + name + " (SHA-256 and SHA-1 only)");
      e.name = "NotSupportedError";
      throw e;
    }
    return { name, fn };
  }
  function hmac(fn, key, msg) {
    if (key.length > 64) key = fn(key);
    const k = new Uint8Array(64);
    k.set(key);
    const ipad = new Uint8Array(64 + msg.length), opad = new Uint8Array(64 + (fn === sha1 ? 20 : 32));
    for (let i = 0; i < 64; i++) { ipad[i] = k[i] ^ 0x36; opad[i] = k[i] ^ 0x5c; }
    ipad.set(msg, 64);
    opad.set(fn(ipad), 64);
    return fn(opad);
  }
  class CryptoKey {
    #raw;
    constructor(raw, hash, extractable, usages) {
      this.#raw = raw;
      this.type = "secret";
      this.extractable = extractable;
      this.algorithm = { name: "HMAC", hash: { name: hash }, length: raw.length * 8 };
      this.usages = usages;
    }
    static raw(k) { return k.#raw; }
  }
  const keyBytes = (key) => {
    if (!(key instanceof CryptoKey)) throw new TypeError("crypto.subtle: key is not a CryptoKey");
    return CryptoKey.raw(key);
  };
  const async = (f) => new Promise((resolve) => resolve(f()));
  const subtle = {
    digest(alg, data) {
      return async(() => hashOf(alg).fn(toBytes(data, "crypto.subtle.digest").slice()).buffer);
    },
    importKey(format, keyData, alg, extractable, usages) {
      return async(() => {
        if (format !== "raw") throw new TypeError("runlet: crypto.subtle.importKey supports the \"raw\" format only");
        if (!alg || lower(alg.name) !== "hmac") throw new TypeError("runlet: crypto.subtle.importKey supports HMAC only");
        return new CryptoKey(toBytes(keyData, "importKey").slice(), hashOf(alg.hash).name, !!extractable, usages || []);
      });
    },
    exportKey(format, key) {
      return async(() => {
        if (format !== "raw" || !key.extractable) throw new TypeError("crypto.subtle.exportKey: not exportable as " + format);
        return keyBytes(key).slice().buffer;
      });
    },
    sign(alg, key, data) {
      return async(() => hmac(hashOf(key.algorithm.hash).fn, keyBytes(key), toBytes(data, "sign").slice()).buffer);
    },
    verify(alg, key, signature, data) {
      return async(() => {
        const a = hmac(hashOf(key.algorithm.hash).fn, keyBytes(key), toBytes(data, "verify").slice());
        const b = toBytes(signature, "verify");
        if (a.length !== b.length) return false;
        let d = 0;
        for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
        return d === 0;
      });
    },
  };
  def(g, "crypto", { getRandomValues, randomUUID, subtle });
  def(g, "CryptoKey", CryptoKey);

  /* ---- process ---- */
  let envCache = null;
  const process = {
    get env() {
      if (!envCache) envCache = Object.freeze(native.env());
      return envCache;
    },
    argv: [],
    platform: "wasi",
  };
  def(g, "process", process);

  /* ---- URL, URLSearchParams ---- */
  const formEncode = (s) =>
    encodeURIComponent(s).replace(/[!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%20/g, "+");
  const formDecode = (s) => {
    s = s.replace(/\+/g, " ");
    try { return decodeURIComponent(s); } catch (e) {
      return s.replace(/%([0-9a-fA-F]{2})/g, (m, h) => String.fromCharCode(parseInt(h, 16)));
    }
  };
  class URLSearchParams {
    #list = [];
    _url = null;
    constructor(init = "") {
      if (init instanceof URLSearchParams) this.#list = init.#list.map((e) => e.slice());
      else if (typeof init === "object" && init !== null) {
        if (typeof init[Symbol.iterator] === "function")
          for (const pair of init) {
            const p = [...pair];
            if (p.length !== 2) throw new TypeError("URLSearchParams: each pair must have two elements");
            this.#list.push([String(p[0]), String(p[1])]);
          }
        else for (const k of Object.keys(init)) this.#list.push([k, String(init[k])]);
      } else this._parse(String(init));
    }
    _parse(s) {
      this.#list = [];
      if (s[0] === "?") s = s.slice(1);
      for (const part of s.split("&")) {
        if (part === "") continue;
        const i = part.indexOf("=");
        this.#list.push(i < 0 ? [formDecode(part), ""] : [formDecode(part.slice(0, i)), formDecode(part.slice(i + 1))]);
      }
    }
    #update() { if (this._url) this._url._setQuery(this.toString()); }
    get size() { return this.#list.length; }
    append(k, v) { this.#list.push([String(k), String(v)]); this.#update(); }
    delete(k) { k = String(k); this.#list = this.#list.filter((e) => e[0] !== k); this.#update(); }
    get(k) { k = String(k); const e = this.#list.find((e) => e[0] === k); return e ? e[1] : null; }
    getAll(k) { k = String(k); return this.#list.filter((e) => e[0] === k).map((e) => e[1]); }
    has(k) { k = String(k); return this.#list.some((e) => e[0] === k); }
    set(k, v) {
      k = String(k); v = String(v);
      const i = this.#list.findIndex((e) => e[0] === k);
      if (i < 0) this.#list.push([k, v]);
      else { this.#list[i][1] = v; this.#list = this.#list.filter((e, j) => j <= i || e[0] !== k); }
      this.#update();
    }
    sort() { this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this.#update(); }
    forEach(fn, thisArg) { for (const [k, v] of this.#list) fn.call(thisArg, v, k, this); }
    *entries() { for (const e of this.#list) yield [e[0], e[1]]; }
    *keys() { for (const e of this.#list) yield e[0]; }
    *values() { for (const e of this.#list) yield e[1]; }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this.#list.map((e) => formEncode(e[0]) + "=" + formEncode(e[1])).join("&"); }
  }
  def(g, "URLSearchParams", URLSearchParams);

  const SPECIAL = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443", "ftp:": "21", "file:": "" };
  /* percent-encode code points outside printable ASCII and those in set */
  function pct(s, set) {
    let out = "";
    for (const ch of s) {
      const c = ch.codePointAt(0);
      if (c <= 0x20 || c >= 0x7f || set.indexOf(ch) >= 0)
        for (const b of utf8encode(ch)) out += "%" + (b + 256).toString(16).slice(1).toUpperCase();
      else out += ch;
    }
    return out;
  }
  const PATH_SET = "\"#<>?`{}", QUERY_SET = "\"#<>", FRAG_SET = "\"<>`", USER_SET = "\"#<>?`{}/:;=@[\\]^|";
  function normPath(p) {
    const out = [];
    const segs = p.split("/");
    for (let i = 1; i < segs.length; i++) {
      const s = segs[i], last = i === segs.length - 1;
      if (s === "..") { out.pop(); if (last) out.push(""); }
      else if (s === ".") { if (last) out.push(""); }
      else out.push(s);
    }
    return "/" + out.join("/");
  }
  function parseURL(input, base) {
    input = String(input).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(/[\t\n\r]/g, "");
    const u = { protocol: "", username: "", password: "", hostname: "", port: "", pathname: "", query: null, fragment: null, special: false };
    let rest = input;
    const hashAt = rest.indexOf("#");
    if (hashAt >= 0) { u.fragment = rest.slice(hashAt + 1); rest = rest.slice(0, hashAt); }
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(rest);
    if (m) {
      u.protocol = m[1].toLowerCase() + ":";
      rest = rest.slice(m[0].length);
      u.special = u.protocol in SPECIAL;
      if (u.special) {
        rest = rest.replace(/\\/g, "/");
        if (rest.slice(0, 2) !== "/" + "/") {
          if (base && base.protocol === u.protocol) return relative(u, rest, base);
          rest = "/" + "/" + rest.replace(/^\/*/, "");
        }
      } else if (rest.slice(0, 2) !== "/" + "/") {
        /* opaque path (mailto:, data:, urn:) */
        const q = rest.indexOf("?");
        if (q >= 0) { u.query = pct(rest.slice(q + 1), QUERY_SET); rest = rest.slice(0, q); }
        u.pathname = rest.replace(/[\u0000-\u001f\u007f-\uffff]/g, (c) => pct(c, ""));
        u.opaque = true;
        return finish(u);
      }
      return authority(u, rest.slice(2));
    }
    if (!base) throw new TypeError("Invalid URL: " + input);
    u.protocol = base.protocol;
    u.special = base.special;
    if (base.opaque) throw new TypeError("Invalid URL: " + input);
    if (u.special) rest = rest.replace(/\\/g, "/");
    if (rest.slice(0, 2) === "/" + "/") return authority(u, rest.slice(2));
    return relative(u, rest, base);
  }
  function relative(u, rest, base) {
    u.username = base.username; u.password = base.password; u.hostname = base.hostname; u.port = base.port;
    const q = rest.indexOf("?");
    let path = rest;
    if (q >= 0) { u.query = pct(rest.slice(q + 1), QUERY_SET); path = rest.slice(0, q); }
    if (path === "") {
      u.pathname = base.pathname;
      if (q < 0) u.query = base.query;
    } else if (path[0] === "/") {
      u.pathname = normPath(pct(path, PATH_SET));
    } else {
      const dir = base.pathname.slice(0, base.pathname.lastIndexOf("/") + 1) || "/";
      u.pathname = normPath(dir + pct(path, PATH_SET));
    }
    return finish(u);
  }
  function authority(u, rest) {
    const end = rest.search(u.special ? /[\/?\\]/ : /[\/?]/);
    let auth = end < 0 ? rest : rest.slice(0, end);
    rest = end < 0 ? "" : rest.slice(end);
    const at = auth.lastIndexOf("@");
    if (at >= 0) {
      const info = auth.slice(0, at), c = info.indexOf(":");
      u.username = pct(c < 0 ? info : info.slice(0, c), USER_SET);
      u.password = c < 0 ? "" : pct(info.slice(c + 1), USER_SET);
      auth = auth.slice(at + 1);
    }
    const pm = /^(\[[^\]]*\]|[^:]*)(?::([0-9]*))?$/.exec(auth);
    if (!pm) throw new TypeError("Invalid URL: bad host or port in " + JSON.stringify(auth));
    let host = pm[1];
    if (u.special) {
      try { host = decodeURIComponent(host); } catch (e) { throw new TypeError("Invalid URL: bad host " + host); }
      host = host.toLowerCase();
      if (host === "" && u.protocol !== "file:") throw new TypeError("Invalid URL: empty host");
      if (/[\u0000-\u0020#%\/:<>?@[\\\]^|]/.test(host.replace(/^\[(.*)\]$/, "x")) || /[^\u0000-\u007f]/.test(host))
        throw new TypeError("Invalid URL: bad host " + JSON.stringify(host) + (/[^\u0000-\u007f]/.test(host) ? " (runlet: no IDNA)" : ""));
    } else host = pct(host, "");
    u.hostname = host;
    if (pm[2] !== undefined && pm[2] !== "") {
      const port = Number(pm[2]);
      if (port > 65535) throw new TypeError("Invalid URL: port out of range");
      u.port = String(port) === SPECIAL[u.protocol] ? "" : String(port);
    }
    const q = rest.indexOf("?");
    let path = rest;
    if (q >= 0) { u.query = pct(rest.slice(q + 1), QUERY_SET); path = rest.slice(0, q); }
    u.pathname = path === "" ? (u.special ? "/" : "") : normPath(pct(path, PATH_SET));
    return finish(u);
  }
  function finish(u) {
    if (u.fragment !== null) u.fragment = pct(u.fragment, FRAG_SET);
    return u;
  }

  class URL {
    #u; #params;
    constructor(url, base) {
      let b = null;
      if (base !== undefined) b = base instanceof URL ? base.#u : parseURL(base, null);
      this.#set(parseURL(url, b));
    }
    static canParse(url, base) { try { new URL(url, base); return true; } catch (e) { return false; } }
    #set(u) {
      this.#u = u;
      if (!this.#params) { this.#params = new URLSearchParams(); this.#params._url = this; }
      this.#params._parse(u.query || "");
    }
    _setQuery(s) { this.#u.query = s === "" ? null : s; }
    get href() {
      const u = this.#u;
      let s = u.protocol;
      if (!u.opaque) {
        s += "/" + "/";
        if (u.username || u.password) s += u.username + (u.password ? ":" + u.password : "") + "@";
        s += this.host;
      }
      s += u.pathname;
      if (u.query !== null) s += "?" + u.query;
      if (u.fragment !== null) s += "#" + u.fragment;
      return s;
    }
    set href(v) { this.#set(parseURL(v, null)); }
    get origin() { return this.#u.special && this.#u.protocol !== "file:" ? this.#u.protocol + "/" + "/" + this.host : "null"; }
    get protocol() { return this.#u.protocol; }
    set protocol(v) {
      const p = String(v).replace(/:.*$/, "").toLowerCase() + ":";
      if (/^[a-z][a-z0-9+.-]*:$/.test(p) && (p in SPECIAL) === this.#u.special) {
        this.#u.protocol = p;
        if (this.#u.port === SPECIAL[p]) this.#u.port = "";
      }
    }
    get username() { return this.#u.username; }
    set username(v) { this.#u.username = pct(String(v), USER_SET); }
    get password() { return this.#u.password; }
    set password(v) { this.#u.password = pct(String(v), USER_SET); }
    get host() { return this.#u.hostname + (this.#u.port ? ":" + this.#u.port : ""); }
    set host(v) {
      const t = parseURL(this.#u.protocol + "/" + "/" + String(v), null);
      this.#u.hostname = t.hostname; this.#u.port = t.port;
    }
    get hostname() { return this.#u.hostname; }
    set hostname(v) { this.#u.hostname = parseURL(this.#u.protocol + "/" + "/" + String(v).replace(/:.*$/, ""), null).hostname; }
    get port() { return this.#u.port; }
    set port(v) {
      v = String(v);
      if (v === "") { this.#u.port = ""; return; }
      const m = /^[0-9]+/.exec(v);
      if (m && Number(m[0]) <= 65535) this.#u.port = String(Number(m[0])) === SPECIAL[this.#u.protocol] ? "" : String(Number(m[0]));
    }
    get pathname() { return this.#u.pathname; }
    set pathname(v) {
      if (this.#u.opaque) return;
      v = String(v);
      if (this.#u.special) v = v.replace(/\\/g, "/");
      this.#u.pathname = normPath(pct(v[0] === "/" ? v : "/" + v, PATH_SET));
    }
    get search() { return this.#u.query ? "?" + this.#u.query : ""; }
    set search(v) {
      v = String(v);
      if (v[0] === "?") v = v.slice(1);
      this.#u.query = v === "" ? null : pct(v, QUERY_SET);
      this.#params._parse(v);
    }
    get searchParams() { return this.#params; }
    get hash() { return this.#u.fragment ? "#" + this.#u.fragment : ""; }
    set hash(v) {
      v = String(v);
      if (v[0] === "#") v = v.slice(1);
      this.#u.fragment = v === "" ? null : pct(v, FRAG_SET);
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
  }
  def(g, "URL", URL);

  /* ---- workflows as code ----
   * The workflow exports of the "runlet" / "windmill-client" module (the
   * glue adds them to the C functions there): tasks run as child jobs of
   * the same script, steps are checkpointed by the host, sleeps and
   * approvals are durable. Host ops 9-15 (pdk/op.go). */

  /* host call op with the request object; the parsed JSON response
     (undefined when the host sent none). Throws the host's Error. */
  function hostJSON(op, req, name) {
    const s = native.call(op, JSON.stringify(req), name);
    return s === "" ? undefined : JSON.parse(s);
  }

  const TASK = Symbol("runlet.task"); /* a task's wrapper -> the task */
  const tasks = new Map();            /* name -> function, registered while the script loads */
  let running = false;                /* a run has started (the script is loaded) */

  /* A started task (child job): a thenable that waits for the job, a
     blocking host call, when it is first awaited; so tasks started one
     after the other, e.g. in Promise.all([t(a)(1), t(b)(2)]), all run
     before the first wait. */
  class TaskRun {
    #id; #error; #promise = null;
    constructor(id, error) { this.#id = id; this.#error = error; }
    /* the child job's id (undefined when it could not be started) */
    get id() { return this.#id; }
    #wait() {
      if (!this.#promise) {
        try {
          if (this.#error) throw this.#error;
          this.#promise = Promise.resolve(hostJSON(9, { id: this.#id }, "waitJob"));
        } catch (e) {
          this.#promise = Promise.reject(e);
        }
      }
      return this.#promise;
    }
    then(onFulfilled, onRejected) { return this.#wait().then(onFulfilled, onRejected); }
    catch(onRejected) { return this.#wait().catch(onRejected); }
    finally(onFinally) { return this.#wait().finally(onFinally); }
  }

  /* task(fn) -> (...args) => thenable: each call starts a child job that
     runs fn(...args) in this same script (op 10) and does not wait; the
     thenable resolves to the job's result (op 9). The task job finds fn by
     its name: an exported function of that name, or one given to task() at
     the top level of the script (task() calls inside main register
     nothing, since a task job does not run main). */
  function task(fn) {
    if (typeof fn === "string")
      throw new TypeError("task(path, fn): tasks running another script are not supported; use runScript(path, args)");
    if (typeof fn !== "function") throw new TypeError("task: the argument must be a function");
    if (fn[TASK]) return fn;
    const name = fn.name;
    if (typeof name !== "string" || name === "")
      throw new TypeError("task: the function must be named (task(async function fetchUser(id) {...})): a task job finds it by its name");
    if (!running) tasks.set(name, fn);
    const start = function (...args) {
      let id, error;
      try {
        id = hostJSON(10, { name, args }, "task").id;
      } catch (e) {
        error = e;
      }
      return new TaskRun(id, error);
    };
    Object.defineProperty(start, "name", { value: name });
    Object.defineProperty(start, TASK, { value: fn });
    return start;
  }

  /* step(name, fn): fn's result checkpointed under name (ops 11, 12); a
     replayed run gets the checkpoint back without calling fn. */
  async function step(name, fn) {
    if (typeof fn !== "function") throw new TypeError("step: the second argument must be a function");
    name = String(name);
    const got = hostJSON(11, { name }, "step");
    if (got && got.found) return got.value;
    const v = await fn();
    hostJSON(12, { name, value: v === undefined ? null : v }, "step");
    return v;
  }

  async function sleep(seconds) {
    const s = Number(seconds);
    if (!(s >= 0 && s < Infinity)) throw new TypeError("sleep: seconds must be a finite number >= 0");
    hostJSON(13, { seconds: s }, "sleep");
  }

  async function getResumeUrls(approver) {
    return hostJSON(14, approver == null ? {} : { approver: String(approver) }, "getResumeUrls");
  }

  async function waitForApproval(options) {
    const o = options || {}, req = {};
    if (o.timeout !== undefined) req.timeout = Number(o.timeout);
    if (o.approver !== undefined) req.approver = String(o.approver);
    return hostJSON(15, req, "waitForApproval");
  }

  /* workflow(fn) -> fn: Windmill's marker (export const main = workflow(...)) */
  function workflow(fn) {
    if (typeof fn !== "function") throw new TypeError("workflow: the argument must be a function");
    return fn;
  }

  /* The function a task job runs: the task registered as name while the
     script loaded, else the module's export name (a task's wrapper stands
     for its task). */
  function findTask(name, ns) {
    let fn = tasks.get(name);
    if (fn === undefined) fn = ns[name];
    if (typeof fn === "function" && fn[TASK]) fn = fn[TASK];
    if (typeof fn !== "function")
      throw new Error("task \"" + name + "\" not found: a task must be a named function exported by the script " +
        "or given to task() at its top level");
    return fn;
  }

  /* ---- timers ---- */
  let timers = new Map(); /* id -> {fn, args, at, every, seq} */
  let nextId = 1, seq = 0;
  function addTimer(fn, ms, args, repeat) {
    if (typeof fn !== "function") throw new TypeError("runlet: the timer callback must be a function (strings are not evaluated)");
    ms = Number(ms);
    if (!(ms >= 1) || ms > 2147483647) ms = 1;
    const id = nextId++;
    timers.set(id, { fn, args, at: native.now() + ms, every: repeat ? ms : 0, seq: seq++ });
    return id;
  }
  const clear = (id) => { timers.delete(Number(id)); };
  def(g, "setTimeout", function setTimeout(fn, ms, ...args) { return addTimer(fn, ms, args, false); });
  def(g, "setInterval", function setInterval(fn, ms, ...args) { return addTimer(fn, ms, args, true); });
  def(g, "clearTimeout", function clearTimeout(id) { clear(id); });
  def(g, "clearInterval", function clearInterval(id) { clear(id); });

  function earliest() {
    let best = null, bestId = 0;
    for (const [id, t] of timers)
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) { best = t; bestId = id; }
    return [bestId, best];
  }
  return {
    /* ms until the earliest timer is due (0 when one is), -1 when none */
    next() {
      const [, t] = earliest();
      return t ? Math.max(0, t.at - native.now()) : -1;
    },
    /* run the earliest timer when it is due */
    fire() {
      const [id, t] = earliest();
      if (!t || t.at > native.now()) return;
      if (t.every) { t.at = native.now() + t.every; t.seq = seq++; } else timers.delete(id);
      t.fn.apply(undefined, t.args);
    },
    /* start of a run: forget the timers and the environment of the last one */
    reset() {
      if (timers.size) timers = new Map();
      envCache = null;
      running = true;
    },
    /* findTask(name, namespace) -> the function a task job runs */
    findTask,
    /* the module exports written in JavaScript (the glue's WF_EXPORTS) */
    exports: { task, step, sleep, getResumeUrls, waitForApproval, workflow },
  };
})
