//go:build !wasip1

package pdk

func hostLogLine(level int, msg string) {}

func hostCall(op Op, req []byte) ([]byte, error) { return nil, ErrNotInGuest }
