package flow

import (
	"strings"
	"testing"
)

func TestWalk(t *testing.T) {
	t.Parallel()
	f, _ := mustParse(t, allTypes)
	var got []string
	Walk(f.Value.Modules, func(m *Module, path string) bool {
		got = append(got, m.ID+"@"+path)
		return true
	})
	want := []string{
		"a@[0]", "b@[1]", "c@[2]", "d@[3]", "d1@[3].value.modules[0]", "e@[4]", "e1@[4].value.modules[0]",
		"f@[5]", "f1@[5].value.branches[0].modules[0]", "f2@[5].value.default[0]", "g@[6]", "g1@[6].value.branches[0].modules[0]", "h@[7]",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("walk\n %v\nwant\n %v", got, want)
	}

	var n int
	Walk(f.Value.Modules, func(m *Module, _ string) bool { n++; return m.ID != "d1" })
	if n != 5 {
		t.Errorf("visited %d modules before stopping, want 5", n)
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	f, _ := mustParse(t, allTypes)
	for _, id := range []string{"a", "d1", "f2", "g1", "h", "failure"} {
		m := f.Find(id)
		if m == nil || m.ID != id {
			t.Errorf("Find(%q) = %+v", id, m)
		}
	}
	if m := f.Find("nope"); m != nil {
		t.Errorf("Find(nope) = %+v", m)
	}
	// Find returns the module itself, not a copy.
	f.Find("g1").Summary = "changed"
	f.Find("failure").Summary = "changed too"
	if f.Value.Modules[6].Value.Branches[0].Modules[0].Summary != "changed" || f.Value.FailureModule.Summary != "changed too" {
		t.Error("Find returned a copy")
	}
}
