package runtime

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/runlet/runlet/host"
)

func TestDoneRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  doneMsg
	}{
		{"result", doneMsg{Result: json.RawMessage(`{"a":1}`), Stats: Stats{Run: time.Millisecond, Fresh: true}}},
		{"error with logs", doneMsg{Error: &wireError{Kind: "script", Message: "boom", Stack: "x.go:1"}, Logs: []host.Line{{Time: time.Unix(1, 0).UTC(), Level: host.LevelWarn, Text: "careful"}}, Stats: Stats{Prepare: 3, Reset: 4}}},
		{"empty", doneMsg{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := encodeDone(&tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeDone(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.msg) {
				t.Fatalf("got %+v, want %+v", *got, tt.msg)
			}
		})
	}
}

func TestJobRoundTrip(t *testing.T) {
	t.Parallel()
	id, warm, args, err := decodeJob(encodeJob(7, true, []byte(`{"n":1}`)))
	if err != nil || id != 7 || !warm || string(args) != `{"n":1}` {
		t.Fatalf("got %d %v %s %v", id, warm, args, err)
	}
	if _, _, _, err := decodeJob([]byte{1, 2}); err == nil {
		t.Fatal("short frame accepted")
	}
}

func FuzzDecodeDone(f *testing.F) {
	b, _ := encodeDone(&doneMsg{Result: json.RawMessage(`1`), Error: &wireError{Kind: "x"}, Logs: []host.Line{{Text: "l"}}})
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := decodeDone(p)
		if err == nil && d == nil {
			t.Fatal("nil message without error")
		}
	})
}
