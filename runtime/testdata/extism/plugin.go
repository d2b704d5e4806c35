//go:build wasip1

// Command plugin is a tiny Extism plugin written against the Extism ABI by
// hand (no PDK), used by runlet's tests. Build it as a reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// Every export takes the job's JSON arguments as the plugin input and sets
// JSON output.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// The Extism kernel imports (go-sdk v1.7.1, host.go). Offsets and lengths
// are i64 handles into the kernel's memory.

//go:wasmimport extism:host/env input_length
func inputLength() uint64

//go:wasmimport extism:host/env input_load_u8
func inputLoadU8(offs uint64) uint32

//go:wasmimport extism:host/env input_load_u64
func inputLoadU64(offs uint64) uint64

//go:wasmimport extism:host/env alloc
func alloc(n uint64) uint64

//go:wasmimport extism:host/env length
func length(offs uint64) uint64

//go:wasmimport extism:host/env load_u8
func loadU8(offs uint64) uint32

//go:wasmimport extism:host/env load_u64
func loadU64(offs uint64) uint64

//go:wasmimport extism:host/env store_u8
func storeU8(offs uint64, v uint32)

//go:wasmimport extism:host/env store_u64
func storeU64(offs uint64, v uint64)

//go:wasmimport extism:host/env output_set
func outputSet(offs, n uint64)

//go:wasmimport extism:host/env error_set
func errorSet(offs uint64)

//go:wasmimport extism:host/env config_get
func configGet(keyOffs uint64) uint64

//go:wasmimport extism:host/env var_get
func varGet(keyOffs uint64) uint64

//go:wasmimport extism:host/env var_set
func varSet(keyOffs, valueOffs uint64)

//go:wasmimport extism:host/env http_request
func httpRequest(reqOffs, bodyOffs uint64) uint64

//go:wasmimport extism:host/env http_status_code
func httpStatusCode() int32

//go:wasmimport extism:host/env log_debug
func logDebug(offs uint64)

//go:wasmimport extism:host/env log_info
func logInfo(offs uint64)

//go:wasmimport extism:host/env log_warn
func logWarn(offs uint64)

//go:wasmimport extism:host/env log_error
func logError(offs uint64)

func main() {}

// input copies the plugin input out of the kernel, 8 bytes per call.
func input() []byte {
	n := inputLength()
	b := make([]byte, n)
	i := uint64(0)
	for ; i+8 <= n; i += 8 {
		v := inputLoadU64(i)
		for k := range uint64(8) {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	for ; i < n; i++ {
		b[i] = byte(inputLoadU8(i))
	}
	return b
}

// put copies b into a new kernel memory block and returns its offset.
func put(b []byte) uint64 {
	offs := alloc(uint64(len(b)))
	n := uint64(len(b))
	i := uint64(0)
	for ; i+8 <= n; i += 8 {
		var v uint64
		for k := range uint64(8) {
			v |= uint64(b[i+k]) << (8 * k)
		}
		storeU64(offs+i, v)
	}
	for ; i < n; i++ {
		storeU8(offs+i, uint32(b[i]))
	}
	return offs
}

// get copies a kernel memory block out.
func get(offs uint64) []byte {
	if offs == 0 {
		return nil
	}
	n := length(offs)
	b := make([]byte, n)
	i := uint64(0)
	for ; i+8 <= n; i += 8 {
		v := loadU64(offs + i)
		for k := range uint64(8) {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	for ; i < n; i++ {
		b[i] = byte(loadU8(offs + i))
	}
	return b
}

func output(v any) int32 {
	b, err := json.Marshal(v)
	if err != nil {
		return fail(err.Error())
	}
	outputSet(put(b), uint64(len(b)))
	return 0
}

func fail(msg string) int32 {
	errorSet(put([]byte(msg)))
	return 1
}

func args() map[string]any {
	var m map[string]any
	if err := json.Unmarshal(input(), &m); err != nil {
		m = map[string]any{"_error": err.Error()}
	}
	return m
}

// main echoes its arguments with a greeting and the config value "GREETING".
//
//go:wasmexport main
func pluginMain() int32 {
	a := args()
	greeting := "hello"
	if offs := configGet(put([]byte("GREETING"))); offs != 0 {
		greeting = string(get(offs))
	}
	name, _ := a["name"].(string)
	return output(map[string]any{"greeting": greeting + " " + name, "args": a})
}

// fail reports an error through error_set and returns 1.
//
//go:wasmexport fail
func pluginFail() int32 {
	return fail(fmt.Sprintf("no %v allowed", args()["name"]))
}

// log writes one line at each level, and one to stdout and stderr.
//
//go:wasmexport log
func pluginLog() int32 {
	logDebug(put([]byte("a debug line")))
	logInfo(put([]byte("an info line")))
	logWarn(put([]byte("a warn line")))
	logError(put([]byte("an error line")))
	fmt.Println("to stdout")
	fmt.Fprintln(os.Stderr, "to stderr")
	return output("logged")
}

// flood logs until the host stops it.
//
//go:wasmexport flood
func pluginFlood() int32 {
	line := put([]byte(strings.Repeat("y", 100)))
	for {
		// The kernel frees a logged block; write a new one each time.
		logInfo(line)
		line = put([]byte(strings.Repeat("y", 100)))
	}
}

// fetch requests {"url", "method", "body"} and returns the status and body.
//
//go:wasmexport fetch
func pluginFetch() int32 {
	a := args()
	req := map[string]any{"url": a["url"], "method": a["method"], "headers": map[string]string{"X-Test": "1"}}
	b, _ := json.Marshal(req)
	var body uint64
	if s, ok := a["body"].(string); ok {
		body = put([]byte(s))
	}
	resp := get(httpRequest(put(b), body))
	return output(map[string]any{"status": httpStatusCode(), "body": string(resp)})
}

// spin never returns.
//
//go:wasmexport spin
func pluginSpin() int32 {
	x := 0
	for {
		x++
	}
}

var hoard [][]byte

// grow allocates 1 MiB blocks until memory runs out.
//
//go:wasmexport grow
func pluginGrow() int32 {
	for {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i)
		}
		hoard = append(hoard, b)
	}
}

var calls int

// count returns how many times this instance was called, and the var
// "count" the kernel keeps across calls of one instance.
//
//go:wasmexport count
func pluginCount() int32 {
	calls++
	key := put([]byte("count"))
	prev := string(get(varGet(key)))
	next := prev + "x"
	varSet(put([]byte("count")), put([]byte(next)))
	return output(map[string]any{"calls": calls, "var": len(next)})
}

// quit sets output and exits with status 0, which closes the instance.
//
//go:wasmexport quit
func pluginQuit() int32 {
	output("bye")
	os.Exit(0)
	return 0
}

// text sets output that is not JSON.
//
//go:wasmexport text
func pluginText() int32 {
	s := "plain text, not JSON"
	outputSet(put([]byte(s)), uint64(len(s)))
	return 0
}

// big returns a string of {"n"} bytes.
//
//go:wasmexport big
func pluginBig() int32 {
	n, _ := args()["n"].(float64)
	return output(strings.Repeat("z", int(n)))
}

// panics panics.
//
//go:wasmexport panics
func pluginPanics() int32 {
	panic("the plugin gave up")
}
