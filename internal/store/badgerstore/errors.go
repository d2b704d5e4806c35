package badgerstore

import "errors"

var (
	// ErrFormat: the directory holds data this version cannot read (a newer
	// or unknown format version, or not a runlet store at all).
	ErrFormat = errors.New("unsupported store format")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
	// ErrNotEmpty: Restore into a store that already holds records.
	ErrNotEmpty = errors.New("store not empty")
	// ErrKey: a secret cannot be decrypted (its key is not in the key file,
	// or the ciphertext is damaged), or the key file is missing or malformed.
	ErrKey = errors.New("secret key")
	// ErrInvalid: an argument the store cannot accept (an empty id, a 0
	// byte inside a name, a non-final status given to Finish). The service
	// layer validates first, so this usually means a bug.
	ErrInvalid = errors.New("invalid argument")
)
