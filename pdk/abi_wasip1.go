//go:build wasip1

package pdk

import (
	"encoding/json"
	"unsafe"
)

//go:wasmimport runlet result_set
func hostResultSet(ptr, n uint32)

//go:wasmimport runlet error_set
func hostErrorSet(ptr, n uint32)

//go:wasmimport runlet log
func hostLog(level, ptr, n uint32)

//go:wasmimport runlet call
func hostCallRaw(op, ptr, n uint32) uint64

//go:wasmimport runlet recv
func hostRecv(ptr uint32)

// inbuf holds the arguments the host writes; a package-level variable so the
// guest GC cannot reuse it between runlet_alloc and runlet_run.
var inbuf []byte

func addr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

//go:wasmexport runlet_abi_v1
func abiV1() {}

//go:wasmexport runlet_alloc
func guestAlloc(size uint32) uint32 {
	if uint32(cap(inbuf)) < size {
		inbuf = make([]byte, size)
	}
	inbuf = inbuf[:size]
	if size == 0 {
		return 0
	}
	return addr(inbuf)
}

//go:wasmexport runlet_run
func guestRun(ptr, n uint32) uint32 {
	var args []byte
	if n > 0 {
		args = unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
	}
	out, failure := invoke(args)
	if failure != nil {
		b, _ := json.Marshal(failure)
		hostErrorSet(addr(b), uint32(len(b)))
		return 1
	}
	hostResultSet(addr(out), uint32(len(out)))
	return 0
}

//go:wasmexport runlet_warmup
func guestWarmup() { warmup() }

//go:wasmexport runlet_reseed
func guestReseed() { reseed() }

func hostLogLine(level int, msg string) {
	b := []byte(msg)
	hostLog(uint32(level), addr(b), uint32(len(b)))
}

func hostCall(op Op, req []byte) ([]byte, error) {
	r := hostCallRaw(uint32(op), addr(req), uint32(len(req)))
	status, n := uint32(r>>32), uint32(r)
	resp := make([]byte, n)
	if n > 0 {
		hostRecv(addr(resp))
	}
	switch status {
	case StatusOK:
		return resp, nil
	case StatusUnsupported:
		return nil, &HostError{Op: op, Message: "not supported by this host", Unsupported: true}
	default:
		return nil, &HostError{Op: op, Message: string(resp)}
	}
}
