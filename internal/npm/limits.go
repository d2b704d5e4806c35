package npm

import (
	"fmt"
	"time"
)

// Limits bound what one Resolve may download and unpack. A zero field
// takes its default; a negative one is an error.
type Limits struct {
	// MaxTarballBytes caps one package's compressed tarball. Default 32 MiB.
	MaxTarballBytes int64
	// MaxUnpackedBytes caps the extracted files of one package (a gzip bomb
	// stops here). Default 128 MiB.
	MaxUnpackedBytes int64
	// MaxFiles caps the entries of one tarball. Default 20000.
	MaxFiles int
	// MaxPackumentBytes caps one registry metadata document. Default 32 MiB.
	MaxPackumentBytes int64
	// MaxTotalBytes caps everything one Resolve downloads, metadata and
	// tarballs together. Default 512 MiB.
	MaxTotalBytes int64
	// MaxPackages caps the packages in one lock (the whole dependency
	// graph of a script). Default 1000.
	MaxPackages int
	// HTTPTimeout bounds each registry request, reading the body included.
	// Default 60s.
	HTTPTimeout time.Duration
}

// The defaults of Limits.
const (
	DefaultMaxTarballBytes   = 32 << 20
	DefaultMaxUnpackedBytes  = 128 << 20
	DefaultMaxFiles          = 20000
	DefaultMaxPackumentBytes = 32 << 20
	DefaultMaxTotalBytes     = 512 << 20
	DefaultMaxPackages       = 1000
	DefaultHTTPTimeout       = 60 * time.Second
)

func (l Limits) validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxTarballBytes", l.MaxTarballBytes},
		{"MaxUnpackedBytes", l.MaxUnpackedBytes},
		{"MaxFiles", int64(l.MaxFiles)},
		{"MaxPackumentBytes", l.MaxPackumentBytes},
		{"MaxTotalBytes", l.MaxTotalBytes},
		{"MaxPackages", int64(l.MaxPackages)},
		{"HTTPTimeout", int64(l.HTTPTimeout)},
	} {
		if f.v < 0 {
			return fmt.Errorf("npm: limits: %s must not be negative", f.name)
		}
	}
	return nil
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxTarballBytes, DefaultMaxTarballBytes)
	def(&l.MaxUnpackedBytes, DefaultMaxUnpackedBytes)
	def(&l.MaxPackumentBytes, DefaultMaxPackumentBytes)
	def(&l.MaxTotalBytes, DefaultMaxTotalBytes)
	if l.MaxFiles == 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxPackages == 0 {
		l.MaxPackages = DefaultMaxPackages
	}
	if l.HTTPTimeout == 0 {
		l.HTTPTimeout = DefaultHTTPTimeout
	}
	return l
}
