package quickjs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestModuleMatchesRecipe guards the committed module: its SHA-256 must
// equal quickjs.wasm.sha256 and SHA256. With RUNLET_REBUILD_PLUGINS=1 and
// clang installed it also runs build.sh into a temporary directory and
// requires the very same bytes (the build is reproducible).
func TestModuleMatchesRecipe(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256(Wasm)
	got := hex.EncodeToString(sum[:])
	if got != SHA256 {
		t.Errorf("embedded quickjs.wasm has sha256 %s, SHA256 says %s", got, SHA256)
	}
	b, err := os.ReadFile("quickjs.wasm.sha256")
	if err != nil {
		t.Fatal(err)
	}
	if fields := strings.Fields(string(b)); len(fields) != 2 || fields[0] != got || fields[1] != "quickjs.wasm" {
		t.Errorf("quickjs.wasm.sha256 is %q, want %q", b, got+"  quickjs.wasm\n")
	}
	onDisk, err := os.ReadFile("quickjs.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, Wasm) {
		t.Error("quickjs.wasm on disk differs from the embedded bytes")
	}

	if os.Getenv("RUNLET_REBUILD_PLUGINS") != "1" {
		t.Log("rebuild check skipped (set RUNLET_REBUILD_PLUGINS=1 with clang installed): ran only the hash check")
		return
	}
	if _, err := exec.LookPath("clang"); err != nil {
		t.Log("rebuild check skipped: clang is not installed; ran only the hash check")
		return
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "build.sh", out)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, log.String())
	}
	rebuilt, err := os.ReadFile(filepath.Join(out, "quickjs.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rebuilt, Wasm) {
		rs := sha256.Sum256(rebuilt)
		t.Fatalf("build.sh produced a different module: %d bytes, sha256 %x (committed: %d bytes, %s)\n%s",
			len(rebuilt), rs, len(Wasm), got, log.String())
	}
	t.Logf("rebuilt quickjs.wasm from SOURCE: identical (%d bytes)", len(rebuilt))
}
