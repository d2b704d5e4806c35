// Package gobuild turns a Windmill-style Go script (package inner, func
// main(...)) into a wasip1 reactor module speaking runlet's guest ABI.
//
// It generates the wrapper that decodes the job's JSON arguments into
// main's parameters, writes the pdk (and the drop-in for Windmill's Go
// client) next to the script so no download is needed for them, builds with
// GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, and caches the result by a
// hash of everything that affects it. Third-party modules resolve through
// the normal Go module mechanism; the go.mod and go.sum they resolved to are
// returned as the script version's Lock and reused verbatim when given back.
package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/runlet/runlet/internal/gosrc"
	"github.com/runlet/runlet/pdk"
	"github.com/runlet/runlet/pdk/windmill"
)

// Module paths the build workspace uses.
const (
	scriptModule   = "runlet.script"
	pdkModule      = "github.com/runlet/runlet/pdk"
	windmillModule = "github.com/windmill-labs/windmill-go-client"
)

// Lock pins the module versions a script version resolved.
type Lock struct {
	GoMod string `json:"go_mod"`
	GoSum string `json:"go_sum"`
}

// Output is a built script.
type Output struct {
	Wasm   []byte
	Lock   Lock
	Script *gosrc.Script
	Cached bool // the module came from the build cache
}

// BuildError is a script that did not parse or compile. Message holds the
// compiler's output with file names as the user wrote them.
type BuildError struct {
	Message string
}

func (e *BuildError) Error() string { return "build failed:\n" + e.Message }

// Builder builds Go scripts. Safe for concurrent use.
type Builder struct {
	// Dir caches builds. Required.
	Dir string
	// GoBin is the go command. Default "go" from PATH.
	GoBin string
	// Env is added to the go command's environment (e.g. GOPROXY, GOFLAGS).
	Env []string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// kitHash identifies the embedded pdk sources, so a new runlet rebuilds.
var kitHash = func() string {
	h := sha256.New()
	for _, fsys := range []fs.FS{pdk.Source, windmill.Source} {
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := fs.ReadFile(fsys, p)
				fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
				h.Write(b)
			}
			return nil
		})
	}
	return hex.EncodeToString(h.Sum(nil))
}()

func (b *Builder) lockFor(key string) *sync.Mutex {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locks == nil {
		b.locks = map[string]*sync.Mutex{}
	}
	if b.locks[key] == nil {
		b.locks[key] = &sync.Mutex{}
	}
	return b.locks[key]
}

// Build builds the script in src (named filename, for messages). A non-nil
// lock pins module versions; otherwise they are resolved and returned.
func (b *Builder) Build(ctx context.Context, filename string, src []byte, lock *Lock) (*Output, error) {
	script, err := gosrc.Parse(filename, src)
	if err != nil {
		return nil, &BuildError{Message: err.Error()}
	}
	if !script.HasMain {
		return nil, &BuildError{Message: filename + ": no func main: a script declares func main(...) with its parameters"}
	}
	goVersion, err := b.goVersion(ctx)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "runlet-go-build-v1\x00%s\x00%s\x00%s\x00", goVersion, kitHash, filepath.Base(filename))
	h.Write(src)
	if lock != nil {
		fmt.Fprintf(h, "\x00%s\x00%s", lock.GoMod, lock.GoSum)
	}
	key := hex.EncodeToString(h.Sum(nil))[:32]
	mu := b.lockFor(key)
	mu.Lock()
	defer mu.Unlock()

	dir := filepath.Join(b.Dir, key)
	if out, err := readCached(dir); err == nil {
		out.Script = script
		return out, nil
	}
	if err := os.MkdirAll(b.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("build dir: %w", err)
	}
	work, err := os.MkdirTemp(b.Dir, ".build-*")
	if err != nil {
		return nil, fmt.Errorf("build dir: %w", err)
	}
	defer os.RemoveAll(work)
	if err := b.writeWorkspace(work, filename, src, script, lock); err != nil {
		return nil, err
	}
	thirdParty := slices.ContainsFunc(script.Imports, func(p string) bool {
		first := strings.SplitN(p, "/", 2)[0]
		return strings.Contains(first, ".") && p != pdkModule && !strings.HasPrefix(p, pdkModule+"/") && p != windmillModule
	})
	if lock == nil && (thirdParty || len(script.Requires) > 0) {
		for _, r := range script.Requires {
			if _, err := b.goCmd(ctx, work, "mod", "edit", "-require="+r.Path+"@"+r.Version); err != nil {
				return nil, b.buildError(err, work, filename)
			}
		}
		if _, err := b.goCmd(ctx, work, "mod", "tidy"); err != nil {
			return nil, b.buildError(err, work, filename)
		}
	}
	wasmPath := filepath.Join(work, "module.wasm")
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-o", wasmPath, "."}
	if lock != nil {
		args = append([]string{args[0], "-mod=readonly"}, args[1:]...)
	}
	if _, err := b.goCmd(ctx, work, args...); err != nil {
		return nil, b.buildError(err, work, filename)
	}
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return nil, err
	}
	gomod, _ := os.ReadFile(filepath.Join(work, "go.mod"))
	gosum, _ := os.ReadFile(filepath.Join(work, "go.sum"))
	out := &Output{Wasm: wasm, Lock: Lock{GoMod: string(gomod), GoSum: string(gosum)}, Script: script}
	if err := writeCached(dir, out); err != nil {
		return nil, err
	}
	return out, nil
}

func readCached(dir string) (*Output, error) {
	wasm, err := os.ReadFile(filepath.Join(dir, "module.wasm"))
	if err != nil {
		return nil, err
	}
	lb, err := os.ReadFile(filepath.Join(dir, "lock.json"))
	if err != nil {
		return nil, err
	}
	out := &Output{Wasm: wasm, Cached: true}
	return out, json.Unmarshal(lb, &out.Lock)
}

func writeCached(dir string, out *Output) error {
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	lb, _ := json.Marshal(out.Lock)
	if err := os.WriteFile(filepath.Join(tmp, "module.wasm"), out.Wasm, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "lock.json"), lb, 0o600); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}

var (
	goVersionOnce sync.Once
	goVersionStr  string
	goVersionErr  error
)

func (b *Builder) goVersion(ctx context.Context) (string, error) {
	goVersionOnce.Do(func() {
		out, err := b.goCmd(ctx, "", "env", "GOVERSION")
		if err != nil {
			goVersionErr = &BuildError{Message: "the Go toolchain is needed to build Go scripts: " + err.Error()}
			return
		}
		goVersionStr = strings.TrimSpace(out)
	})
	return goVersionStr, goVersionErr
}

// cmdError is a failed go command with its output.
type cmdError struct {
	args   []string
	output string
	err    error
}

func (e *cmdError) Error() string {
	return fmt.Sprintf("go %s: %v\n%s", strings.Join(e.args, " "), e.err, e.output)
}

func (b *Builder) goCmd(ctx context.Context, dir string, args ...string) (string, error) {
	bin := b.GoBin
	if bin == "" {
		bin = "go"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	cmd.Env = append(cmd.Env, b.Env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return out.String(), &cmdError{args: args, output: out.String(), err: err}
	}
	return out.String(), nil
}

var buildDirPath = regexp.MustCompile(`(?:\./)?(?:` + regexp.QuoteMeta(scriptModule) + `/)?inner/`)

// buildError turns compiler output into a BuildError naming the user's file.
func (b *Builder) buildError(err error, work, filename string) error {
	var ce *cmdError
	if !errors.As(err, &ce) {
		return err
	}
	msg := strings.ReplaceAll(ce.output, work+string(filepath.Separator), "")
	base := filepath.Base(filename)
	msg = buildDirPath.ReplaceAllString(msg, "")
	msg = strings.ReplaceAll(msg, base, filename)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(msg), "\n") {
		if strings.HasPrefix(l, "# ") {
			continue // package header lines
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		lines = []string{ce.err.Error()}
	}
	return &BuildError{Message: strings.Join(lines, "\n")}
}

// MapPaths rewrites build-workspace paths in a stack trace or message to
// the script's own file name.
func MapPaths(s, filename string) string {
	base := filepath.Base(filename)
	return strings.ReplaceAll(s, scriptModule+"/inner/"+base, filename)
}
