package runtime

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/runlet/runlet/host"
	"github.com/runlet/runlet/internal/gobuild"
)

func hostileProgram(t *testing.T) (wazero.Runtime, *program) {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/hostile/hostile.go")
	if err != nil {
		t.Fatal(err)
	}
	out, err := (&gobuild.Builder{Dir: filepath.Join(os.TempDir(), "runlet-instance-test-go")}).Build(context.Background(), "hostile.go", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := Prepare(dir, out.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	wasm, _ := os.ReadFile(mod.Path)
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if err := host.Instantiate(ctx, rt); err != nil {
		t.Fatal(err)
	}
	c, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return rt, &program{compiled: c, limits: Limits{MaxMemory: 128 << 20}.WithDefaults(), globals: mod.Globals}
}

func callMode(t *testing.T, inst *instance, args string) string {
	t.Helper()
	j := &host.Job{Logs: host.NewLogs(1<<20, nil), MaxResult: 1 << 20}
	rc, err := inst.call(host.WithJob(context.Background(), j), []byte(args))
	if err != nil || rc != 0 {
		t.Fatalf("call %s: rc=%d err=%v failure=%s", args, rc, err, j.Failure())
	}
	return string(j.Result())
}

// TestResetShrinksGrownMemory checks isolated mode's reset: a job that grew
// linear memory leaves none of it behind: the size returns to the
// snapshot's, the released pages read as zero, and globals start over.
func TestResetShrinksGrownMemory(t *testing.T) {
	rt, p := hostileProgram(t)
	inst, err := instantiate(context.Background(), rt, p, func(api.MutableGlobal) {}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.close(context.Background())
	if !verifyShrinkLayout(inst.mod.Memory()) {
		t.Fatal("wazero's MemoryInstance layout changed: update memoryInstance in memory.go")
	}
	snapSize := uint32(len(p.snap.image))
	if got := callMode(t, inst, `{"mode":"incr","n":0}`); got != "1" {
		t.Fatalf("incr = %s", got)
	}
	if got := callMode(t, inst, `{"mode":"grow","n":40}`); got != "41943040" {
		t.Fatalf("grow = %s", got)
	}
	grown := inst.mod.Memory().Size()
	if grown <= snapSize {
		t.Fatalf("memory did not grow: %d <= %d", grown, snapSize)
	}
	if !inst.restore(p.snap) {
		t.Fatal("restore failed")
	}
	if got := inst.mod.Memory().Size(); got != snapSize {
		t.Fatalf("memory size after reset = %d, want the snapshot's %d (grown to %d)", got, snapSize, grown)
	}
	// The pages past the snapshot were released: they read back as zero
	// when the guest grows into them again.
	tail := inst.mem.mem[snapSize:grown]
	for i := 0; i < len(tail); i += 4096 {
		if tail[i] != 0 {
			t.Fatalf("byte %d past the snapshot is %d after reset", i, tail[i])
		}
	}
	if got := callMode(t, inst, `{"mode":"incr","n":0}`); got != "1" {
		t.Fatalf("incr after reset = %s, want 1", got)
	}
	// The guest grows again and works.
	if got := callMode(t, inst, `{"mode":"grow","n":40}`); got != "41943040" {
		t.Fatalf("grow after reset = %s", got)
	}
}
