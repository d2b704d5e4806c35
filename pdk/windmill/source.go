//go:build !wasip1

package windmill

import "embed"

// Source holds this package's own files; runlet builds scripts that import
// Windmill's Go client against them.
//
//go:embed *.go
var Source embed.FS
