package pdk

import (
	"errors"
	"testing"
)

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  string
		kv   []any
		want string
	}{
		{"plain", "hello", nil, "hello"},
		{"pairs", "rows", []any{"count", 3, "table", "users"}, "rows count=3 table=users"},
		{"quoted", "x", []any{"v", "a b"}, `x v="a b"`},
		{"odd", "x", []any{"lonely"}, "x !BADKEY=lonely"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := format(tt.msg, tt.kv); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUserStackStopsAtEntry(t *testing.T) {
	t.Parallel()
	stack := "goroutine 1 [running]:\nruntime/debug.Stack()\n\tstack.go:1\npanic({0x1})\n\tpanic.go:2\nrunlet.script/inner.main()\n\tx.go:7 +0x1\nrunlet.script/inner.RunletEntry()\n\tx.go:20\ngithub.com/runlet/runlet/pdk.invoke()\n\tentry.go:3\n"
	want := "goroutine 1 [running]:\nrunlet.script/inner.main()\n\tx.go:7 +0x1"
	if got := userStack([]byte(stack)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestOutsideGuest(t *testing.T) {
	t.Parallel()
	if _, err := GetState(); !errors.Is(err, ErrNotInGuest) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Get("http://example.com"); !errors.Is(err, ErrNotInGuest) {
		t.Fatalf("err = %v", err)
	}
}

func TestInvoke(t *testing.T) {
	Register(func(args []byte) (any, error) {
		switch string(args) {
		case "panic":
			panic("boom")
		case "err":
			return nil, errors.New("bad")
		}
		return map[string]int{"n": len(args)}, nil
	})
	defer Register(nil)
	if out, f := invoke([]byte("abc")); f != nil || string(out) != `{"n":3}` {
		t.Fatalf("ok: %s %+v", out, f)
	}
	if _, f := invoke([]byte("err")); f == nil || f.Message != "bad" || f.Panic {
		t.Fatalf("err: %+v", f)
	}
	if _, f := invoke([]byte("panic")); f == nil || f.Message != "boom" || !f.Panic {
		t.Fatalf("panic: %+v", f)
	}
}
