package wasmrewrite

// Opcodes the rewriter treats specially. Everything else is only skipped
// over, driven by the immediates table below.
const (
	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opElse        = 0x05
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opBrTable     = 0x0e

	opReturnCall         = 0x12
	opReturnCallIndirect = 0x13

	opGlobalGet = 0x23
	opI32Const  = 0x41

	opPrefixFC   = 0xfc // saturating truncation, bulk memory, table ops
	opPrefixSIMD = 0xfd
	opPrefixFE   = 0xfe // threads (atomics)

	blockTypeEmpty = 0x40
	valTypeI32     = 0x7f
)

// immKind says how the immediates following an opcode are encoded.
type immKind uint8

const (
	immInvalid   immKind = iota // unknown opcode
	immNone                     // no immediates
	immBlockType                // block, loop, if
	immU32                      // one index
	immU32x2                    // two indices (call_indirect)
	immBrTable                  // vec(labelidx) labelidx
	immMemArg                   // align, [memidx], offset
	immI32                      // signed LEB128, 32 bit
	immI64                      // signed LEB128, 64 bit
	immF32                      // 4 bytes
	immF64                      // 8 bytes
	immSelectT                  // vec(valtype)
	immHeapType                 // ref.null
	immPrefixFC
	immPrefixSIMD
	immPrefixFE
)

// immediates maps every single-byte opcode to its immediate encoding.
var immediates = func() (t [256]immKind) {
	set := func(k immKind, from, to int) {
		for op := from; op <= to; op++ {
			t[op] = k
		}
	}
	set(immNone, 0x00, 0x01)      // unreachable, nop
	set(immBlockType, 0x02, 0x04) // block, loop, if
	set(immNone, 0x05, 0x05)      // else
	set(immNone, 0x0b, 0x0b)      // end
	set(immU32, 0x0c, 0x0d)       // br, br_if
	set(immBrTable, 0x0e, 0x0e)   // br_table
	set(immNone, 0x0f, 0x0f)      // return
	set(immU32, 0x10, 0x10)       // call
	set(immU32x2, 0x11, 0x11)     // call_indirect typeidx tableidx
	set(immU32, 0x12, 0x12)       // return_call
	set(immU32x2, 0x13, 0x13)     // return_call_indirect
	set(immNone, 0x1a, 0x1b)      // drop, select
	set(immSelectT, 0x1c, 0x1c)   // select t*
	set(immU32, 0x20, 0x26)       // local.get/set/tee, global.get/set, table.get/set
	set(immMemArg, 0x28, 0x3e)    // loads and stores
	set(immU32, 0x3f, 0x40)       // memory.size, memory.grow (memidx)
	set(immI32, 0x41, 0x41)       // i32.const
	set(immI64, 0x42, 0x42)       // i64.const
	set(immF32, 0x43, 0x43)       // f32.const
	set(immF64, 0x44, 0x44)       // f64.const
	set(immNone, 0x45, 0xc4)      // numeric ops incl. sign extension 0xc0-0xc4
	set(immHeapType, 0xd0, 0xd0)  // ref.null
	set(immNone, 0xd1, 0xd1)      // ref.is_null
	set(immU32, 0xd2, 0xd2)       // ref.func
	t[opPrefixFC] = immPrefixFC
	t[opPrefixSIMD] = immPrefixSIMD
	t[opPrefixFE] = immPrefixFE
	return t
}()

// walkExpr advances r over one constant expression (a global's
// initializer): a sequence of instructions terminated by the end that closes
// its outermost block. Function bodies are walked by walkBody.
func walkExpr(r *reader) error {
	for depth := 1; depth > 0; {
		at := r.off()
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case opBlock, opLoop, opIf:
			depth++
			err = readBlockType(r)
		case opEnd:
			depth--
		default:
			err = skipImmediates(r, op, at)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// walkBody advances r over the instructions of a function body, through the
// end that closes it, and calls check(pos) with every position in r.buf at
// which place wants a stop check inserted, in increasing order. It returns
// the number of loop instructions in the body. frames is scratch space for
// the control stack, returned for reuse.
//
// The control stack has one frame per enclosing block, loop and if (else
// continues the frame of its if) below the frame of the function body, an
// implicit block; a frame records whether a branch to its label jumps back
// to the start of a loop. Label depth d names the d-th frame from the top.
// Only loop labels can repeat code, so PlaceBackEdges checks before every
// br or br_if to a loop label and every br_table with a loop label among
// its targets (default included). Both placements also check before every
// tail call (return_call, return_call_indirect): a function that tail-calls
// itself repeats without a loop and without growing the stack. The other
// block-like instructions (try, catch, delegate, try_table of exception
// handling) are not decoded: skipImmediates refuses them as unsupported.
func walkBody(r *reader, place Placement, frames []bool, check func(pos int)) (loops int, _ []bool, err error) {
	frames = append(frames[:0], false) // the function body
	for len(frames) > 0 {
		start, at := r.pos, r.off()
		op, err := r.byte()
		if err != nil {
			return loops, frames, err
		}
		switch op {
		case opBlock, opIf:
			frames = append(frames, false)
			err = readBlockType(r)
		case opLoop:
			frames = append(frames, true)
			loops++
			if err = readBlockType(r); err == nil && place == PlaceLoopHeaders {
				check(r.pos)
			}
		case opElse: // the frame of the if goes on
		case opEnd:
			frames = frames[:len(frames)-1]
		case opBr, opBrIf:
			var back bool
			if back, err = readLabel(r, frames); err == nil && back && place == PlaceBackEdges {
				check(start)
			}
		case opBrTable:
			var n uint32
			back := false
			n, err = r.u32()
			for i := uint64(0); i <= uint64(n) && err == nil; i++ { // n labels + default
				var b bool
				b, err = readLabel(r, frames)
				back = back || b
			}
			if err == nil && back && place == PlaceBackEdges {
				check(start)
			}
		case opReturnCall, opReturnCallIndirect:
			check(start)
			err = skipImmediates(r, op, at)
		default:
			err = skipImmediates(r, op, at)
		}
		if err != nil {
			return loops, frames, err
		}
	}
	return loops, frames, nil
}

// readLabel reads the label index of a branch and reports whether it names
// a loop frame of frames (the control stack, innermost last).
func readLabel(r *reader, frames []bool) (loop bool, err error) {
	at := r.off()
	l, err := r.u32()
	if err != nil {
		return false, err
	}
	if uint64(l) >= uint64(len(frames)) {
		return false, malformedf(at, "branch to label %d inside only %d blocks", l, len(frames))
	}
	return frames[len(frames)-1-int(l)], nil
}

// skipImmediates advances r over the immediates of the non-block opcode op,
// which was read at module offset at.
func skipImmediates(r *reader, op byte, at int) error {
	var err error
	switch immediates[op] {
	case immNone:
	case immU32:
		_, err = r.u32()
	case immU32x2:
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	case immBrTable:
		var n uint32
		if n, err = r.u32(); err == nil {
			for i := uint64(0); i <= uint64(n) && err == nil; i++ { // n labels + default
				_, err = r.u32()
			}
		}
	case immMemArg:
		err = readMemArg(r)
	case immI32:
		_, err = r.sleb(32)
	case immI64:
		_, err = r.sleb(64)
	case immF32:
		_, err = r.bytes(4)
	case immF64:
		_, err = r.bytes(8)
	case immSelectT:
		var n uint32
		if n, err = r.u32(); err == nil {
			for i := uint32(0); i < n && err == nil; i++ {
				err = readValType(r)
			}
		}
	case immHeapType:
		err = readHeapType(r)
	case immPrefixFC:
		err = skipFC(r, at)
	case immPrefixFE:
		err = skipFE(r, at)
	case immPrefixSIMD:
		return unsupportedf("SIMD (opcode 0x%02x at offset %d)", op, at)
	default:
		return unsupportedf("unknown opcode 0x%02x at offset %d", op, at)
	}
	return err
}

// skipFC skips a 0xFC-prefixed instruction (after the prefix byte).
func skipFC(r *reader, at int) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	n := 0 // number of u32 immediates
	switch {
	case sub <= 7: // i32/i64.trunc_sat_f32/f64_s/u
	case sub == 8: // memory.init dataidx memidx
		n = 2
	case sub == 9: // data.drop dataidx
		n = 1
	case sub == 10: // memory.copy memidx memidx
		n = 2
	case sub == 11: // memory.fill memidx
		n = 1
	case sub == 12: // table.init elemidx tableidx
		n = 2
	case sub == 13: // elem.drop elemidx
		n = 1
	case sub == 14: // table.copy tableidx tableidx
		n = 2
	case sub <= 17: // table.grow, table.size, table.fill tableidx
		n = 1
	default:
		return unsupportedf("unknown opcode 0xfc %d at offset %d", sub, at)
	}
	for range n {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// skipFE skips a 0xFE-prefixed (threads) instruction after the prefix byte.
func skipFE(r *reader, at int) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 0x02, 0x10 <= sub && sub <= 0x4e: // notify, wait, atomic loads/stores/rmw
		return readMemArg(r)
	case sub == 0x03: // atomic.fence
		b, err := r.byte()
		if err == nil && b != 0 {
			err = malformedf(r.off()-1, "atomic.fence: expected 0x00, got 0x%02x", b)
		}
		return err
	default:
		return unsupportedf("unknown opcode 0xfe 0x%02x at offset %d", sub, at)
	}
}

// readMemArg reads a memarg: align (with bit 6 flagging an explicit memory
// index, as in multi-memory), optional memidx, offset (u64 for memory64).
func readMemArg(r *reader) error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	_, err = r.u64()
	return err
}

// readBlockType reads a block type: 0x40 (empty), a single value type, or a
// non-negative type index encoded as signed LEB128 (s33).
func readBlockType(r *reader) error {
	if r.done() {
		return malformedf(r.off(), "unexpected end of input in block type")
	}
	switch b := r.buf[r.pos]; {
	case b == blockTypeEmpty:
		r.pos++
		return nil
	case b&0xc0 == 0x40: // single-byte negative s33: must be a value type
		return readValType(r)
	}
	at := r.off()
	idx, err := r.sleb(33)
	if err == nil && idx < 0 {
		err = malformedf(at, "invalid block type %d", idx)
	}
	return err
}

// readValType reads a value type. Only the number, vector and MVP reference
// types are known; anything else (e.g. GC types) is refused.
func readValType(r *reader) error {
	at := r.off()
	b, err := r.byte()
	if err != nil {
		return err
	}
	switch b {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f: // i32 i64 f32 f64 v128 funcref externref
		return nil
	}
	return unsupportedf("unknown value type 0x%02x at offset %d", b, at)
}

// readHeapType reads the heap type of ref.null (func or extern).
func readHeapType(r *reader) error {
	at := r.off()
	b, err := r.byte()
	if err != nil {
		return err
	}
	if b != 0x70 && b != 0x6f {
		return unsupportedf("unknown heap type 0x%02x at offset %d", b, at)
	}
	return nil
}
