package npm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// digest is one hash of a Subresource Integrity string.
type digest struct {
	algo string // sha512, sha384, sha256, sha1
	sum  []byte
}

func (d digest) String() string { return d.algo + "-" + base64.StdEncoding.EncodeToString(d.sum) }

func (d digest) hash() hash.Hash {
	switch d.algo {
	case "sha512":
		return sha512.New()
	case "sha384":
		return sha512.New384()
	case "sha256":
		return sha256.New()
	}
	return sha1.New()
}

var digestSize = map[string]int{"sha512": 64, "sha384": 48, "sha256": 32, "sha1": 20}

// parseIntegrity picks the strongest hash of an SRI string
// ("sha512-<base64> sha1-<base64>"; options after "?" are ignored).
func parseIntegrity(sri string) (digest, error) {
	var best digest
	rank := map[string]int{"sha1": 1, "sha256": 2, "sha384": 3, "sha512": 4}
	for _, tok := range strings.Fields(sri) {
		algo, b64, ok := strings.Cut(tok, "-")
		if !ok || rank[algo] == 0 {
			continue
		}
		b64, _, _ = strings.Cut(b64, "?")
		sum, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sum) != digestSize[algo] {
			return digest{}, fmt.Errorf("integrity %q: bad %s value", sri, algo)
		}
		if rank[algo] > rank[best.algo] {
			best = digest{algo, sum}
		}
	}
	if best.algo == "" {
		return digest{}, fmt.Errorf("integrity %q has no sha512, sha384, sha256 or sha1 hash", sri)
	}
	return best, nil
}

// expectedDigest is what a tarball must hash to: dist.integrity, or the
// hex sha1 dist.shasum when the registry gives no integrity.
func expectedDigest(integrity, shasum string) (digest, error) {
	if integrity != "" {
		return parseIntegrity(integrity)
	}
	sum, err := hex.DecodeString(shasum)
	if err != nil || len(sum) != sha1.Size {
		if shasum == "" {
			return digest{}, errors.New("the registry gives neither dist.integrity nor dist.shasum")
		}
		return digest{}, fmt.Errorf("dist.shasum %q is not a sha1", shasum)
	}
	return digest{"sha1", sum}, nil
}

// check compares a computed sum with d.
func (d digest) check(got []byte) error {
	if !bytes.Equal(got, d.sum) {
		return fmt.Errorf("%w: want %s, got %s", ErrIntegrity, d, digest{d.algo, got})
	}
	return nil
}

// extract unpacks a gzip tarball into dir, dropping each entry's first path
// component ("package/" in what npm publishes; npm strips whatever the
// first component is, and so does runlet). Only regular files and
// directories are written, never outside dir: absolute paths, ".."
// components, links and special files are refused, as are archives over
// the file or size limits.
func extract(tgz io.Reader, dir string, lim Limits) error {
	gz, err := gzip.NewReader(tgz)
	if err != nil {
		return fmt.Errorf("tarball is not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	var total int64
	files := 0
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("tarball is corrupt: %v", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		files++
		if files > lim.MaxFiles {
			return &LimitError{Kind: "files", Limit: int64(lim.MaxFiles)}
		}
		rel, err := entryPath(h.Name)
		if err != nil {
			return err
		}
		if rel == "" {
			continue // the top directory itself
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("tarball entry %q: %v", h.Name, err)
			}
		case tar.TypeReg:
			if h.Size < 0 || total+h.Size > lim.MaxUnpackedBytes {
				return &LimitError{Kind: "unpacked bytes", Limit: lim.MaxUnpackedBytes}
			}
			if err := writeEntry(target, tr, h.Size); err != nil {
				return fmt.Errorf("tarball entry %q: %v", h.Name, err)
			}
			total += h.Size
		case tar.TypeSymlink, tar.TypeLink:
			return fmt.Errorf("%w: entry %q is a link (to %q)", ErrUnsafeArchive, h.Name, h.Linkname)
		default:
			return fmt.Errorf("%w: entry %q has type %q", ErrUnsafeArchive, h.Name, h.Typeflag)
		}
	}
	// Trailing garbage after the tar end marker is harmless; a truncated
	// gzip stream is not.
	if _, err := io.Copy(io.Discard, io.LimitReader(gz, lim.MaxUnpackedBytes)); err != nil {
		return fmt.Errorf("tarball is corrupt: %v", err)
	}
	return nil
}

// entryPath is a tar entry's path inside the package, slash-separated, or
// an error when the entry would land outside it.
func entryPath(name string) (string, error) {
	if strings.ContainsAny(name, "\\\x00") || path.IsAbs(name) || (len(name) > 1 && name[1] == ':') {
		return "", fmt.Errorf("%w: entry %q has an absolute or unusual path", ErrUnsafeArchive, name)
	}
	var parts []string
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "", ".":
			continue
		case "..":
			return "", fmt.Errorf("%w: entry %q leaves the package directory", ErrUnsafeArchive, name)
		}
		parts = append(parts, seg)
	}
	if len(parts) <= 1 {
		return "", nil
	}
	return strings.Join(parts[1:], "/"), nil
}

func writeEntry(target string, r io.Reader, size int64) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, r, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
