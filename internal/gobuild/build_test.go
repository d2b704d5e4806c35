package gobuild

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// proxy writes a file:// module proxy holding example.com/greet at the
// given versions; Greeting() returns "hello from <version>".
func proxy(t *testing.T, dir string, versions ...string) string {
	t.Helper()
	mod := filepath.Join(dir, "example.com", "greet", "@v")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		gomod := "module example.com/greet\n\ngo 1.21\n"
		if err := os.WriteFile(filepath.Join(mod, v+".mod"), []byte(gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, v+".info"), []byte(fmt.Sprintf(`{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, v)), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(mod, v+".zip"))
		if err != nil {
			t.Fatal(err)
		}
		z := zip.NewWriter(f)
		prefix := "example.com/greet@" + v + "/"
		for name, body := range map[string]string{
			"go.mod":   gomod,
			"greet.go": fmt.Sprintf("package greet\n\nfunc Greeting() string { return %q }\n", "hello from "+v),
		} {
			w, _ := z.Create(prefix + name)
			w.Write([]byte(body))
		}
		z.Close()
		f.Close()
	}
	list := strings.Join(versions, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(mod, "list"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + dir
}

func newBuilder(t *testing.T, proxyURL string) *Builder {
	t.Helper()
	return &Builder{Dir: t.TempDir(), Env: []string{
		"GOPROXY=" + proxyURL, "GOSUMDB=off", "GONOSUMDB=*", "GOPRIVATE=", "GOMODCACHE=" + t.TempDir(), "GOFLAGS=-mod=mod -modcacherw",
	}}
}

const greetScript = `package inner

import "example.com/greet"

func main() (string, error) { return greet.Greeting(), nil }
`

func TestThirdPartyModulesArePinned(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	url := proxy(t, dir, "v1.0.0")
	b := newBuilder(t, url)
	ctx := context.Background()
	first, err := b.Build(ctx, "greet.go", []byte(greetScript), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.Lock.GoMod, "example.com/greet v1.0.0") || !strings.Contains(first.Lock.GoSum, "example.com/greet v1.0.0") {
		t.Fatalf("lock does not pin v1.0.0:\n%s\n%s", first.Lock.GoMod, first.Lock.GoSum)
	}
	// A newer version appears upstream.
	proxy(t, dir, "v1.0.0", "v1.1.0")
	// Re-running the pinned version does not change it (the build reads the
	// lock, not the proxy: the proxy may even be gone).
	b2 := newBuilder(t, "off")
	again, err := b2.Build(ctx, "greet.go", []byte(greetScript), &first.Lock)
	if err == nil {
		if !strings.Contains(again.Lock.GoMod, "v1.0.0") {
			t.Fatalf("pinned rebuild changed versions:\n%s", again.Lock.GoMod)
		}
	} else if !strings.Contains(err.Error(), "module lookup disabled") && !strings.Contains(err.Error(), "GOPROXY=off") {
		// With GOPROXY=off and an empty module cache the pinned build must
		// fail to download rather than silently resolve something else.
		t.Fatalf("pinned rebuild: %v", err)
	}
	pinned, err := newBuilder(t, url).Build(ctx, "greet.go", []byte(greetScript), &first.Lock)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pinned.Lock.GoMod, "example.com/greet v1.0.0") {
		t.Fatalf("pinned rebuild moved to another version:\n%s", pinned.Lock.GoMod)
	}
	// A new push (no lock) resolves the newest version.
	fresh, err := newBuilder(t, url).Build(ctx, "greet.go", []byte(greetScript), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fresh.Lock.GoMod, "example.com/greet v1.1.0") {
		t.Fatalf("a new push did not pick up v1.1.0:\n%s", fresh.Lock.GoMod)
	}
}

func TestRequireComment(t *testing.T) {
	t.Parallel()
	url := proxy(t, t.TempDir(), "v1.0.0", "v1.1.0")
	src := "//require example.com/greet v1.0.0\n" + greetScript
	out, err := newBuilder(t, url).Build(context.Background(), "greet.go", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Lock.GoMod, "example.com/greet v1.0.0") {
		t.Fatalf("//require not honoured:\n%s", out.Lock.GoMod)
	}
}

func TestBuildErrorNamesUserLines(t *testing.T) {
	t.Parallel()
	src := "package inner\n\nfunc main(n int) (int, error) {\n\treturn n + undefinedThing, nil\n}\n"
	_, err := newBuilder(t, "off").Build(context.Background(), "scripts/add.go", []byte(src), nil)
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a BuildError", err)
	}
	if !strings.Contains(be.Message, "scripts/add.go:4:13: undefined: undefinedThing") {
		t.Fatalf("message does not point at the user's line:\n%s", be.Message)
	}
	if strings.Contains(be.Message, ".build-") || strings.Contains(be.Message, "runlet.script") {
		t.Fatalf("message leaks the build workspace:\n%s", be.Message)
	}
}

func TestParseErrorIsBuildError(t *testing.T) {
	t.Parallel()
	_, err := newBuilder(t, "off").Build(context.Background(), "bad.go", []byte("package inner\nfunc main( {"), nil)
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(be.Message, "bad.go:2:") {
		t.Fatalf("err = %v, want a BuildError with a position", err)
	}
	_, err = newBuilder(t, "off").Build(context.Background(), "nomain.go", []byte("package inner\nfunc helper() {}\n"), nil)
	if !errors.As(err, &be) || !strings.Contains(be.Message, "no func main") {
		t.Fatalf("err = %v, want a missing-main BuildError", err)
	}
}

func TestCacheByContent(t *testing.T) {
	t.Parallel()
	b := newBuilder(t, "off")
	src := []byte("package main\n\nfunc main(x []int64) ([]int64, error) { return x, nil }\n")
	first, err := b.Build(context.Background(), "a.go", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.Build(context.Background(), "a.go", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || !second.Cached || string(first.Wasm) != string(second.Wasm) {
		t.Fatalf("cached=%v/%v, same=%v", first.Cached, second.Cached, string(first.Wasm) == string(second.Wasm))
	}
	third, err := b.Build(context.Background(), "a.go", append(src, '\n'), nil)
	if err != nil || third.Cached {
		t.Fatalf("a changed source must rebuild: %v cached=%v", err, third.Cached)
	}
}
