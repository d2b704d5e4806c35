package runtime

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// linearMemory backs one guest's linear memory with an anonymous mapping
// reserved up to the script's memory limit. Growing never copies (the
// address is stable), a grow past the limit fails the guest's memory.grow
// (a Go guest then aborts with "out of memory"), the memory lives outside
// the Go heap, and resetting can hand dirty pages back to the kernel.
type linearMemory struct {
	mem   []byte // the whole reservation
	limit uint64
	size  uint64
	high  uint64 // highest size ever reached
	oom   bool   // a grow past the limit was refused
}

// memoryAllocator creates linear memories limited to limit bytes.
type memoryAllocator struct {
	limit uint64
	mu    sync.Mutex
	last  *linearMemory
}

func (a *memoryAllocator) Allocate(_, max uint64) experimental.LinearMemory {
	limit := min(a.limit, max)
	b, err := unix.Mmap(-1, 0, int(limit), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		panic(fmt.Errorf("runtime: reserve %d bytes of linear memory: %w", limit, err))
	}
	m := &linearMemory{mem: b, limit: limit}
	a.mu.Lock()
	a.last = m
	a.mu.Unlock()
	return m
}

// take returns the memory allocated by the last instantiation.
func (a *memoryAllocator) take() *linearMemory {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.last
	a.last = nil
	return m
}

func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.oom = true
		return nil
	}
	m.size = size
	m.high = max(m.high, size)
	return m.mem[:size:size]
}

func (m *linearMemory) Free() {
	if m.mem != nil {
		_ = unix.Munmap(m.mem)
		m.mem = nil
	}
}

// release zeroes [from, high) by returning those pages to the kernel.
func (m *linearMemory) release(from uint64) {
	if m.high > from {
		_ = unix.Madvise(m.mem[from:m.high], unix.MADV_DONTNEED)
		m.high = from
	}
}

// memoryInstance mirrors the leading fields of wazero v1.12's
// internal/wasm.MemoryInstance. wazero has no API to shrink a memory back to
// its snapshot size; shrink does it by setting the length and growing one
// page, which makes wazero refresh the engine's view of the memory. The
// layout is verified when the package loads; if it ever differs, shrinking
// is disabled and grown instances are replaced instead.
type memoryInstance struct {
	_      struct{}
	Buffer []byte
	Min    uint32
	Cap    uint32
}

var (
	layoutOnce sync.Once
	layoutOK   bool
)

func verifyShrinkLayout(mem api.Memory) bool {
	layoutOnce.Do(func() {
		v := reflect.ValueOf(mem)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			return
		}
		t := v.Elem().Type()
		if t.PkgPath() != "github.com/tetratelabs/wazero/internal/wasm" || t.Name() != "MemoryInstance" {
			return
		}
		buf, ok1 := t.FieldByName("Buffer")
		capf, ok2 := t.FieldByName("Cap")
		mine := reflect.TypeFor[memoryInstance]()
		myBuf, _ := mine.FieldByName("Buffer")
		myCap, _ := mine.FieldByName("Cap")
		layoutOK = ok1 && ok2 && buf.Offset == myBuf.Offset && capf.Offset == myCap.Offset &&
			buf.Type == reflect.TypeFor[[]byte]() && capf.Type == reflect.TypeFor[uint32]()
	})
	return layoutOK
}

// shrink sets mem's size back to size bytes (a multiple of the page size,
// at least one page, not above the current size).
func shrink(mem api.Memory, lm *linearMemory, size uint64) bool {
	cur := uint64(mem.Size())
	if cur == size {
		return true
	}
	if size < 1<<16 || size > cur || size%(1<<16) != 0 || !verifyShrinkLayout(mem) {
		return false
	}
	mi := (*memoryInstance)((*[2]unsafe.Pointer)(unsafe.Pointer(&mem))[1])
	lower := size - 1<<16
	mi.Buffer = lm.mem[:lower:lower]
	mi.Cap = uint32(lower >> 16)
	_, ok := mem.Grow(1)
	return ok && uint64(mem.Size()) == size
}
