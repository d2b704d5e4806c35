package wasmrewrite

import "unicode/utf8"

// reader decodes the primitive encodings of the WebAssembly binary format
// from buf. base is the offset of buf[0] in the whole module and is only
// used to report error positions.
type reader struct {
	buf  []byte
	pos  int
	base int
}

// off returns the current absolute offset in the module.
func (r *reader) off() int { return r.base + r.pos }

// done reports whether the reader consumed all of its input.
func (r *reader) done() bool { return r.pos >= len(r.buf) }

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.buf) {
		return 0, malformedf(r.off(), "unexpected end of input")
	}
	b := r.buf[r.pos]
	r.pos++
	return b, nil
}

// bytes returns the next n bytes without copying.
func (r *reader) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(r.buf)-r.pos) {
		return nil, malformedf(r.off(), "length %d overruns the input (%d bytes left)", n, len(r.buf)-r.pos)
	}
	b := r.buf[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b, nil
}

// uleb reads an unsigned LEB128 number of at most bits bits, rejecting
// overlong encodings and set bits beyond the width, as the spec requires.
func (r *reader) uleb(bits uint) (uint64, error) {
	if r.pos < len(r.buf) && r.buf[r.pos] < 0x80 { // fast path: one byte
		r.pos++
		return uint64(r.buf[r.pos-1]), nil
	}
	start := r.off()
	var v uint64
	for shift := uint(0); ; shift += 7 {
		b, err := r.byte()
		if err != nil {
			return 0, malformedf(start, "truncated LEB128")
		}
		if left := bits - shift; left < 7 {
			// Last possible byte: no continuation and no bits beyond the width.
			if b&0x80 != 0 || b>>left != 0 {
				return 0, malformedf(start, "invalid LEB128 (overlong or too large for u%d)", bits)
			}
		}
		v |= uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, nil
		}
	}
}

// sleb reads a signed LEB128 number of at most bits bits (32, 33 or 64).
func (r *reader) sleb(bits uint) (int64, error) {
	start := r.off()
	var v int64
	for shift := uint(0); ; shift += 7 {
		b, err := r.byte()
		if err != nil {
			return 0, malformedf(start, "truncated LEB128")
		}
		if left := bits - shift; left < 7 {
			// Last possible byte: no continuation, and the unused high bits
			// must all equal the sign bit.
			ext := byte(0x7f>>(left-1)) << (left - 1) & 0x7f
			if b&0x80 != 0 || (b&ext != 0 && b&ext != ext) {
				return 0, malformedf(start, "invalid LEB128 (overlong or too large for s%d)", bits)
			}
		}
		v |= int64(b&0x7f) << shift
		if b&0x80 == 0 {
			if shift+7 < 64 && b&0x40 != 0 {
				v |= -1 << (shift + 7) // sign-extend
			}
			return v, nil
		}
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

func (r *reader) u64() (uint64, error) { return r.uleb(64) }

// name reads a length-prefixed UTF-8 name.
func (r *reader) name() (string, error) {
	start := r.off()
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(uint64(n))
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", malformedf(start, "name is not valid UTF-8")
	}
	return string(b), nil
}

// appendULEB appends v as unsigned LEB128 in its shortest form.
func appendULEB(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}
