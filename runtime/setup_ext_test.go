package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/gobuild"
	"github.com/runlet/runlet/runtime"
)

// cacheDir is shared by every test in this binary (builds and compiled code).
var cacheDir string

// workerBin is the runlet binary the engines under test start as workers.
var workerBin string

func TestMain(m *testing.M) {
	if runtime.IsWorker() {
		os.Exit(runtime.WorkerMain())
	}
	dir, err := os.MkdirTemp("", "runlet-runtime-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	// Workers run the real runlet binary, built without the race detector:
	// compiling a guest under -race takes minutes. The engine (this
	// process) still runs with it; TestRaceWorker covers the worker code.
	workerBin = filepath.Join(dir, "runlet")
	build := exec.Command("go", "build", "-o", workerBin, "github.com/runlet/runlet/cmd/runlet")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build worker binary:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	modMu   sync.Mutex
	modules = map[string]runtime.Module{}
)

// buildModule builds and prepares the Go script at path once per test binary.
func buildModule(t testing.TB, path string) runtime.Module {
	t.Helper()
	modMu.Lock()
	defer modMu.Unlock()
	if m, ok := modules[path]; ok {
		return m
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := &gobuild.Builder{Dir: filepath.Join(cacheDir, "go")}
	out, err := b.Build(context.Background(), path, src, nil)
	if err != nil {
		t.Fatalf("build %s: %v", path, err)
	}
	m, err := runtime.Prepare(filepath.Join(cacheDir, "modules"), out.Wasm)
	if err != nil {
		t.Fatalf("prepare %s: %v", path, err)
	}
	modules[path] = m
	return m
}

// newEngine starts an engine with n workers, stopped at the end of the test.
func newEngine(t testing.TB, n int, spare bool) *runtime.Engine {
	t.Helper()
	return newEngineWith(t, runtime.Config{Workers: n, Spare: spare, Command: []string{workerBin}})
}

func newEngineWith(t testing.TB, cfg runtime.Config) *runtime.Engine {
	t.Helper()
	cfg.CacheDir = filepath.Join(cacheDir, "wazero")
	e, err := runtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

func args(t testing.TB, kv ...any) json.RawMessage {
	t.Helper()
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// warmUp compiles mod in every worker of e (compiling is slow under the race
// detector and must not count against a job's deadline in tests).
func warmUp(t testing.TB, e *runtime.Engine, mod runtime.Module) {
	t.Helper()
	start := time.Now()
	if err := e.Preload(context.Background(), mod); err != nil {
		t.Fatalf("preload: %v", err)
	}
	t.Logf("preload took %s", time.Since(start))
}
