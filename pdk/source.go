//go:build !wasip1

package pdk

import "embed"

// Source holds this package's own files. runlet writes them next to a
// script it builds, so building needs no module download.
//
//go:embed *.go
var Source embed.FS
