package wasmrewrite

import (
	"bytes"
	"strings"
)

// Section ids of the WebAssembly binary format.
const (
	secCustom   = 0
	secImport   = 2
	secFunction = 3
	secGlobal   = 6
	secExport   = 7
	secCode     = 10

	externFunc   = 0
	externGlobal = 3
)

var wasmHeader = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// sectionRank gives the position each non-custom section must have in a
// module; sections must appear in strictly increasing rank. The data count
// section (12) sits between element (9) and code (10), the tag section (13)
// between memory (5) and global (6). Rank 0 marks custom or unknown ids.
var sectionRank = [...]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

// section is one section of the input module.
type section struct {
	id         byte
	start, end int    // the whole section (id, size, payload) is wasm[start:end]
	payload    reader // positioned at the start of the payload
}

// splitSections checks the header and splits wasm into sections, checking
// that they do not overrun the module and are in the order the spec requires.
func splitSections(wasm []byte) ([]section, error) {
	if len(wasm) < len(wasmHeader) || !bytes.Equal(wasm[:4], wasmHeader[:4]) {
		return nil, malformedf(0, "missing \\0asm magic")
	}
	if !bytes.Equal(wasm[4:8], wasmHeader[4:]) {
		return nil, malformedf(4, "unsupported binary version % x", wasm[4:8])
	}
	r := reader{buf: wasm, pos: len(wasmHeader)}
	var secs []section
	lastRank := 0
	for !r.done() {
		start := r.pos
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		payloadAt := r.pos
		payload, err := r.bytes(uint64(size))
		if err != nil {
			return nil, malformedf(start, "section %d of size %d overruns the module", id, size)
		}
		if id != secCustom {
			if int(id) >= len(sectionRank) || sectionRank[id] == 0 {
				return nil, malformedf(start, "unknown section id %d", id)
			}
			if sectionRank[id] <= lastRank {
				return nil, malformedf(start, "section %d is duplicated or out of order", id)
			}
			lastRank = sectionRank[id]
		}
		secs = append(secs, section{id: id, start: start, end: r.pos,
			payload: reader{buf: payload, base: payloadAt}})
	}
	return secs, nil
}

// module holds what the rewriter needs to know about the input.
type module struct {
	importedFuncs   uint32
	importedGlobals uint32
	funcCount       uint32 // entries of the function section

	definedGlobals uint32
	globalEntries  []byte // global section payload after its count

	exportCount   uint32
	exportEntries []byte // export section payload after its count

	code *section
}

// decode fills m from the sections it cares about.
func (m *module) decode(secs []section) error {
	for i := range secs {
		s := &secs[i]
		r := &s.payload
		var err error
		switch s.id {
		case secImport:
			err = m.decodeImports(r)
		case secFunction:
			if m.funcCount, err = r.u32(); err == nil {
				for j := uint32(0); j < m.funcCount && err == nil; j++ {
					_, err = r.u32()
				}
			}
		case secGlobal:
			err = m.decodeGlobals(r)
		case secExport:
			err = m.decodeExports(r)
		case secCode:
			m.code = s
			continue // decoded while rewriting
		default:
			continue
		}
		if err == nil && !r.done() {
			err = malformedf(r.off(), "section %d has %d trailing bytes", s.id, len(r.buf)-r.pos)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *module) decodeImports(r *reader) error {
	n, err := r.u32()
	for i := uint32(0); i < n && err == nil; i++ {
		if _, err = r.name(); err != nil { // module
			break
		}
		if _, err = r.name(); err != nil { // field
			break
		}
		var kind byte
		if kind, err = r.byte(); err != nil {
			break
		}
		switch kind {
		case externFunc:
			m.importedFuncs++
			_, err = r.u32()
		case 1: // table: reftype limits
			if err = readValType(r); err == nil {
				err = readLimits(r)
			}
		case 2: // memory
			err = readLimits(r)
		case externGlobal:
			m.importedGlobals++
			err = readGlobalType(r)
		case 4: // tag: attribute typeidx
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			err = malformedf(r.off()-1, "unknown import kind %d", kind)
		}
	}
	return err
}

func (m *module) decodeGlobals(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	m.definedGlobals = n
	entriesAt := r.pos
	for i := uint32(0); i < n; i++ {
		if err := readGlobalType(r); err != nil {
			return err
		}
		if err := walkExpr(r); err != nil { // init expression
			return err
		}
	}
	m.globalEntries = r.buf[entriesAt:r.pos]
	return nil
}

func (m *module) decodeExports(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	m.exportCount = n
	entriesAt := r.pos
	for i := uint32(0); i < n; i++ {
		at := r.off()
		name, err := r.name()
		if err != nil {
			return err
		}
		switch {
		case name == StopGlobalName:
			return ErrAlreadyRewritten
		case strings.HasPrefix(name, reservedPrefix):
			return malformedf(at, "export name %q uses the reserved prefix %q", name, reservedPrefix)
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		if kind > 4 {
			return malformedf(r.off()-1, "unknown export kind %d", kind)
		}
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	m.exportEntries = r.buf[entriesAt:r.pos]
	return nil
}

// readLimits reads table or memory limits. The flags allow a maximum (bit 0),
// shared memory (bit 1, threads) and 64-bit indices (bit 2, memory64).
func readLimits(r *reader) error {
	at := r.off()
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 7 {
		return malformedf(at, "invalid limits flags 0x%02x", flags)
	}
	bits := uint(32)
	if flags&4 != 0 {
		bits = 64
	}
	if _, err := r.uleb(bits); err != nil { // min
		return err
	}
	if flags&1 != 0 {
		_, err = r.uleb(bits) // max
	}
	return err
}

// readGlobalType reads a value type and a mutability byte.
func readGlobalType(r *reader) error {
	if err := readValType(r); err != nil {
		return err
	}
	at := r.off()
	mut, err := r.byte()
	if err == nil && mut > 1 {
		err = malformedf(at, "invalid global mutability %d", mut)
	}
	return err
}
