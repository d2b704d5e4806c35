package jsonschema

import "testing"

func TestErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		problems []Problem
		want     string
	}{
		{"one", []Problem{{"n", "want integer, got string"}}, `parameter "n": want integer, got string`},
		{"unknown", []Problem{{"x", msgUnknown}}, `unknown parameter "x"`},
		{"several", []Problem{{"items[2]", "want integer, got null"}, {"cfg.port", "missing required value"}},
			`parameter "items[2]": want integer, got null; parameter "cfg.port": missing required value`},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := (&Error{Problems: tt.problems}).Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}
