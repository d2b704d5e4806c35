package pdk

import (
	"errors"
	"fmt"
)

// ErrNotInGuest is returned by every host call made outside a runlet guest.
var ErrNotInGuest = errors.New("pdk: not running inside a runlet guest")

// HostError is a host call the host refused or could not carry out.
type HostError struct {
	Op          Op     // the operation
	Message     string // the host's explanation
	Unsupported bool   // the host does not know the operation (older host)
}

func (e *HostError) Error() string { return fmt.Sprintf("pdk: host call %d: %s", e.Op, e.Message) }
