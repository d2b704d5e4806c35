package runtime

import (
	"slices"
	"testing"
)

func TestManifestHosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		want     []string
	}{
		{name: "none", patterns: nil, want: nil},
		{name: "names", patterns: []string{"api.example.com", "*.Example.com."}, want: []string{"api.example.com", "*.example.com"}},
		{name: "ports go", patterns: []string{"api.example.com:8443", "*:443", "127.0.0.1:1"}, want: []string{"api.example.com", "*", "127.0.0.1"}},
		{name: "ipv6", patterns: []string{"2001:db8::1", "[2001:db8::2]:8443", "[::1]"}, want: []string{"2001:db8::1", "2001:db8::2", "::1"}},
		{name: "duplicates", patterns: []string{"a.example", "a.example:1", "A.example"}, want: []string{"a.example"}},
		{name: "glob syntax left out", patterns: []string{"{a,b}.example", "a?.example", "[x", "ok.example"}, want: []string{"ok.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := manifestHosts(tt.patterns); !slices.Equal(got, tt.want) {
				t.Fatalf("manifestHosts(%q) = %q, want %q", tt.patterns, got, tt.want)
			}
		})
	}
}

func TestJSONOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, out, want string
		fails           bool
	}{
		{name: "empty is null", out: "", want: "null"},
		{name: "blank is null", out: " \n", want: "null"},
		{name: "JSON as is", out: `{"a":[1,2]}`, want: `{"a":[1,2]}`},
		{name: "JSON scalar", out: `42`, want: `42`},
		{name: "text becomes a string", out: `Hello, "you"!`, want: `"Hello, \"you\"!"`},
		{name: "binary fails", out: "\xff\xfe", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := jsonOutput([]byte(tt.out))
			if tt.fails != (err != nil) || (!tt.fails && string(got) != tt.want) {
				t.Fatalf("jsonOutput(%q) = %s, %v; want %s (fails %v)", tt.out, got, err, tt.want, tt.fails)
			}
		})
	}
}
