package badgerstore_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/internal/store/badgerstore"
)

func randomText(t testing.TB, label string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return label + "-" + hex.EncodeToString(b)
}

// rawValues returns every value of every version of every key, read with
// Badger directly (the store must be closed).
func rawValues(t testing.TB, dir string) [][]byte {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	must(t, err)
	defer db.Close()
	var out [][]byte
	must(t, db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{AllVersions: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, append(it.Item().KeyCopy(nil), v...))
		}
		return nil
	}))
	return out
}

// rawFiles concatenates every file under dir. Badger's logs are large
// sparse files written from the start, so each file is read up to its
// first all-zero MiB.
func rawFiles(t testing.TB, dir string) []byte {
	t.Helper()
	var all []byte
	zero := make([]byte, 1<<20)
	must(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		buf := make([]byte, 1<<20)
		for {
			n, err := io.ReadFull(f, buf)
			if n == 0 || bytes.Equal(buf[:n], zero[:n]) {
				return nil
			}
			all = append(all, buf[:n]...)
			if err != nil {
				return nil
			}
		}
	}))
	return all
}

func contains(values [][]byte, s string) bool {
	for _, v := range values {
		if bytes.Contains(v, []byte(s)) {
			return true
		}
	}
	return false
}

// sealedKeyID is the key id inside the stored ciphertext of a variable.
func sealedKeyID(t testing.TB, values [][]byte, path string) string {
	t.Helper()
	for _, v := range values {
		i := bytes.IndexByte(v, '{')
		if i < 0 || !bytes.Contains(v[:i], []byte(path)) {
			continue
		}
		var rec struct {
			Sealed []byte `json:"sealed"`
		}
		if json.Unmarshal(v[i:], &rec) == nil && len(rec.Sealed) > 5 {
			return hex.EncodeToString(rec.Sealed[1:5])
		}
	}
	t.Fatalf("no sealed value for %s", path)
	return ""
}

func keyLines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Secret values are absent from Badger's values and files; plain values
// (the control) are present; RotateKey re-encrypts, and secrets decrypt
// after a reopen even with only the new key left.
func TestSecretsAtRestAndRotation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	secretText, plainText := randomText(t, "SECRET"), randomText(t, "PLAIN")
	must(t, e.s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: "f/s", Value: secretText, Secret: true}))
	must(t, e.s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: "f/p", Value: plainText}))

	// While open: the memtable's write-ahead log is on disk, uncompressed.
	files := rawFiles(t, e.dir)
	if !bytes.Contains(files, []byte(plainText)) {
		t.Fatal("control: the plain value is not in Badger's files while open")
	}
	if bytes.Contains(files, []byte(secretText)) {
		t.Fatal("the secret is in Badger's files in plaintext (while open)")
	}

	info, err := os.Stat(e.keyFile)
	must(t, err)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	if lines := keyLines(t, e.keyFile); len(lines) != 1 || len(lines[0]) != 64 {
		t.Fatalf("key file lines = %q", lines)
	}

	must(t, e.s.Close())
	values := rawValues(t, e.dir)
	if !contains(values, plainText) {
		t.Fatal("control: the plain value is not among the raw values")
	}
	if contains(values, secretText) {
		t.Fatal("the secret is among the raw values in plaintext")
	}
	if bytes.Contains(rawFiles(t, e.dir), []byte(secretText)) {
		t.Fatal("the secret is in Badger's files in plaintext (after close)")
	}
	before := sealedKeyID(t, values, "f/s")

	e.open(t)
	must(t, e.s.RotateKey(ctx))
	lines := keyLines(t, e.keyFile)
	if len(lines) != 2 {
		t.Fatalf("key file after rotation has %d keys, want 2", len(lines))
	}
	if got, err := e.s.GetVariable(ctx, "acme", "f/s"); err != nil || got.Value != secretText {
		t.Fatalf("GetVariable after RotateKey = %+v, %v", got, err)
	}
	must(t, e.s.Close())
	if after := sealedKeyID(t, rawValues(t, e.dir), "f/s"); after == before {
		t.Fatalf("the secret is still sealed under key %s after rotation", before)
	}

	// Drop the old key: the secret was re-encrypted, so it still opens.
	must(t, os.WriteFile(e.keyFile, []byte(lines[0]+"\n"), 0o600))
	e.open(t)
	got, err := e.s.GetVariable(ctx, "acme", "f/s")
	must(t, err)
	if got.Value != secretText || !got.Secret {
		t.Fatalf("GetVariable after reopen = %+v", got)
	}
	if got, _ := e.s.GetVariable(ctx, "acme", "f/p"); got.Value != plainText {
		t.Fatalf("plain variable = %+v", got)
	}
}

// A ciphertext only opens for the variable it was written for, and a
// wrong key gives ErrKey.
func TestSecretWrongKey(t *testing.T) {
	t.Parallel()
	e := setup(t)
	must(t, e.s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: "f/s", Value: "v", Secret: true}))
	must(t, e.s.Close())
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	must(t, os.WriteFile(e.keyFile, []byte(hex.EncodeToString(other)+"\n"), 0o600))
	e.open(t)
	if _, err := e.s.GetVariable(ctx, "acme", "f/s"); !errors.Is(err, badgerstore.ErrKey) {
		t.Fatalf("GetVariable with the wrong key: %v, want ErrKey", err)
	}
	if !strings.Contains(e.logs.String(), "cannot be read") {
		t.Fatalf("no warning about unreadable secrets at open; logs: %s", e.logs)
	}
	// Listing still works (it never decrypts).
	if list, err := e.s.ListVariables(ctx, "acme", ""); err != nil || len(list) != 1 {
		t.Fatalf("ListVariables = %v, %v", list, err)
	}
}

func TestKeyFileMissing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	must(t, e.s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: "f/s", Value: "v", Secret: true}))
	must(t, e.s.Close())
	must(t, os.Rename(e.keyFile, e.keyFile+".bak"))
	if _, err := badgerstore.Open(e.options()); !errors.Is(err, badgerstore.ErrKey) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Open without the key file of a store with secrets: %v", err)
	}
	if _, err := os.Stat(e.keyFile); !os.IsNotExist(err) {
		t.Fatalf("a new key file was created: %v", err)
	}
	must(t, os.Rename(e.keyFile+".bak", e.keyFile))
	e.open(t)
	if got, err := e.s.GetVariable(ctx, "acme", "f/s"); err != nil || got.Value != "v" {
		t.Fatalf("after restoring the key file: %+v, %v", got, err)
	}

	// Without secrets, a missing key file is simply created.
	must(t, e.s.DeleteVariable(ctx, "acme", "f/s"))
	must(t, e.s.Close())
	must(t, os.Remove(e.keyFile))
	e.open(t)
	if lines := keyLines(t, e.keyFile); len(lines) != 1 {
		t.Fatalf("re-created key file: %q", lines)
	}
}

func TestKeyFileMalformed(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", "# only a comment\n", "abcd\n", strings.Repeat("zz", 32) + "\n"} {
		root := t.TempDir()
		kf := filepath.Join(root, "k")
		must(t, os.WriteFile(kf, []byte(content), 0o600))
		_, err := badgerstore.Open(badgerstore.Options{Dir: filepath.Join(root, "d"), KeyFile: kf, Logger: quiet})
		if !errors.Is(err, badgerstore.ErrKey) {
			t.Errorf("key file %q: %v, want ErrKey", content, err)
		}
	}
}

// Secrets written while RotateKey runs all end up under the new key.
func TestRotateKeyConcurrentPuts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := range 300 { // more than one re-encryption batch
		must(t, e.s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: fmt.Sprintf("f/old%03d", i), Value: fmt.Sprint("old", i), Secret: true}))
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := e.s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: fmt.Sprintf("a/new%d-%03d", w, i), Value: "new", Secret: true}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	must(t, e.s.RotateKey(ctx))
	wg.Wait()
	must(t, e.s.Close())
	lines := keyLines(t, e.keyFile)
	must(t, os.WriteFile(e.keyFile, []byte(lines[0]+"\n"), 0o600))
	e.open(t)
	list, err := e.s.ListVariables(ctx, "acme", "")
	must(t, err)
	if len(list) != 400 {
		t.Fatalf("%d variables, want 400", len(list))
	}
	for _, v := range list {
		if _, err := e.s.GetVariable(ctx, "acme", v.Path); err != nil {
			t.Fatalf("%s does not decrypt with the new key alone: %v", v.Path, err)
		}
	}
}

func TestInMemory(t *testing.T) {
	t.Parallel()
	s, err := badgerstore.Open(badgerstore.Options{InMemory: true, Logger: quiet})
	must(t, err)
	defer s.Close()
	must(t, s.PutVariable(ctx, store.Variable{Workspace: "acme", Path: "f/s", Value: "v", Secret: true}))
	if got, err := s.GetVariable(ctx, "acme", "f/s"); err != nil || got.Value != "v" {
		t.Fatalf("in-memory secret: %+v, %v", got, err)
	}
	must(t, s.Enqueue(ctx, job(t, "acme"), true))
	if j, err := s.Claim(ctx, "w", t0, 0); err != nil || j == nil {
		t.Fatalf("in-memory claim: %v, %v", j, err)
	}
	if err := s.RotateKey(ctx); !errors.Is(err, badgerstore.ErrKey) {
		t.Fatalf("RotateKey without a key file: %v", err)
	}
}
