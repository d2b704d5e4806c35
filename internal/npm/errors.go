package npm

import (
	"errors"
	"fmt"
)

// Sentinels, wrapped with the package or import they concern.
var (
	// ErrNotFound: the registry does not know the package (HTTP 404).
	ErrNotFound = errors.New("package not found")
	// ErrNoVersion: no published version satisfies the range.
	ErrNoVersion = errors.New("no version matches")
	// ErrIntegrity: a tarball does not match its integrity or shasum.
	ErrIntegrity = errors.New("integrity check failed")
	// ErrUnsafeArchive: a tarball holds an entry runlet refuses to write
	// (a path outside the package, a link, a device).
	ErrUnsafeArchive = errors.New("unsafe tarball")
	// ErrSpecifier: an import or dependency specifier runlet cannot use.
	ErrSpecifier = errors.New("bad specifier")
	// ErrLock: a lock that is not one runlet wrote (unknown version,
	// dangling reference, malformed entry).
	ErrLock = errors.New("bad lock")
)

// LimitError reports a download or package graph over one of the Limits.
type LimitError struct {
	Kind  string // "tarball bytes", "unpacked bytes", "files", "packument bytes", "total bytes", "packages"
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s limit exceeded (%d)", e.Kind, e.Limit)
}
