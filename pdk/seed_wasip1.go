//go:build wasip1

package pdk

import (
	crand "crypto/rand"
	"encoding/binary"
)

// seed asks the host for fresh randomness (WASI random_get).
func seed() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}
