package badgerstore

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	sealVersion = 1
	keyIDLen    = 4
	nonceLen    = 12
	keyLen      = 32
)

// keyring holds the secret keys; keys[0] is current (seals), every key
// opens what it sealed. Immutable once built.
type keyring struct {
	keys  [][keyLen]byte
	ids   []uint32
	aeads []cipher.AEAD
}

func keyID(k [keyLen]byte) uint32 {
	h := sha256.Sum256(append([]byte("runlet key id\x00"), k[:]...))
	return binary.BigEndian.Uint32(h[:keyIDLen])
}

func newKeyring(keys [][keyLen]byte) (*keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("no key: %w", ErrKey)
	}
	r := &keyring{keys: keys}
	for _, k := range keys {
		block, err := aes.NewCipher(k[:])
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		r.ids = append(r.ids, keyID(k))
		r.aeads = append(r.aeads, aead)
	}
	return r, nil
}

func randomKey() ([keyLen]byte, error) {
	var k [keyLen]byte
	_, err := rand.Read(k[:])
	return k, err
}

// current is the id of the key that seals.
func (r *keyring) current() uint32 { return r.ids[0] }

// has reports whether the ring holds the key with this id.
func (r *keyring) has(id uint32) bool {
	for _, x := range r.ids {
		if x == id {
			return true
		}
	}
	return false
}

// seal encrypts plaintext under the current key, bound to aad.
func (r *keyring) seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+keyIDLen+nonceLen, 1+keyIDLen+nonceLen+len(plaintext)+r.aeads[0].Overhead())
	out[0] = sealVersion
	binary.BigEndian.PutUint32(out[1:], r.ids[0])
	nonce := out[1+keyIDLen:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return r.aeads[0].Seal(out, nonce, plaintext, aad), nil
}

// sealedKeyID returns the key id of a ciphertext.
func sealedKeyID(ct []byte) (uint32, error) {
	if len(ct) < 1+keyIDLen+nonceLen || ct[0] != sealVersion {
		return 0, fmt.Errorf("malformed ciphertext: %w", ErrKey)
	}
	return binary.BigEndian.Uint32(ct[1:]), nil
}

// open decrypts a ciphertext made by seal with any key of the ring.
func (r *keyring) open(ct, aad []byte) ([]byte, error) {
	id, err := sealedKeyID(ct)
	if err != nil {
		return nil, err
	}
	for i, x := range r.ids {
		if x != id {
			continue
		}
		nonce := ct[1+keyIDLen : 1+keyIDLen+nonceLen]
		pt, err := r.aeads[i].Open(nil, nonce, ct[1+keyIDLen+nonceLen:], aad)
		if err != nil {
			return nil, fmt.Errorf("decrypt with key %08x: %w", id, ErrKey)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("key %08x is not in the key file: %w", id, ErrKey)
}

// readKeyFile parses a key file: one hex key per line, the first current;
// blank lines and lines starting with # are ignored. It returns
// fs.ErrNotExist (wrapped) when the file is missing.
func readKeyFile(path string) ([][keyLen]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys [][keyLen]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var k [keyLen]byte
		if len(line) != 2*keyLen {
			return nil, fmt.Errorf("key file %s line %d: want %d hex digits: %w", path, n, 2*keyLen, ErrKey)
		}
		if _, err := hex.Decode(k[:], []byte(line)); err != nil {
			return nil, fmt.Errorf("key file %s line %d: %v: %w", path, n, err, ErrKey)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("key file %s holds no key: %w", path, ErrKey)
	}
	return keys, nil
}

// writeKeyFile replaces path atomically with keys (mode 0600): a temporary
// file in the same directory is written and fsynced, renamed over path,
// and the directory is fsynced.
func writeKeyFile(path string, keys [][keyLen]byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# runlet secret keys: one per line, the first encrypts, all decrypt. Keep a copy apart from backups.\n")
	for _, k := range keys {
		b.WriteString(hex.EncodeToString(k[:]))
		b.WriteByte('\n')
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return err
	}
	return nil
}
