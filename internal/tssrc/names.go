package tssrc

import (
	"strconv"
	"strings"
	"unicode"
)

// snakeCase turns a type name into the snake case Windmill uses in
// resource formats: PostgresDb is postgres_db, S3Bucket is s3_bucket and
// HTTPClient is http_client. A digit sticks to the letters before it.
func snakeCase(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// itoa formats n in decimal.
func itoa(n int) string { return strconv.Itoa(n) }
