//go:build !wasip1

package pdk

func hostLogLine(level int, msg string) {}

// fakeHost answers host calls in this package's tests; nil otherwise.
var fakeHost func(op Op, req []byte) ([]byte, error)

func hostCall(op Op, req []byte) ([]byte, error) {
	if fakeHost != nil {
		return fakeHost(op, req)
	}
	return nil, ErrNotInGuest
}
