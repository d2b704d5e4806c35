//go:build wasip1

package pdk

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand"
)

// seed asks the host for fresh randomness (WASI random_get).
func seed() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// warmup runs the lazy initialisation a typical job triggers (reflection
// caches of encoding/json, fmt's printer pool) so the host can snapshot an
// instance that has already paid for it.
func warmup() {
	var v struct {
		A int              `json:"a"`
		B []string         `json:"b"`
		C map[string]any   `json:"c"`
		D *json.RawMessage `json:"d"`
	}
	_ = json.Unmarshal([]byte(`{"a":1,"b":["x"],"c":{"k":1.5,"l":[true,null]},"d":{}}`), &v)
	_, _ = json.Marshal(v)
	_ = fmt.Sprintf("%v %d %s", v, 1, "x")
	reseed()
	if entryWarmup != nil {
		entryWarmup()
	}
}

// reseed gives math/rand's global source fresh randomness. The host calls
// it (export runlet_reseed) after restoring a snapshot, so jobs that start
// from the same memory image still draw different sequences.
func reseed() {
	//lint:ignore SA1019 reseeding the global source per job is the point: it would repeat otherwise
	rand.Seed(rand.Int63() ^ int64(seed()))
}
