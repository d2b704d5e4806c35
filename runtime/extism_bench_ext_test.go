package runtime_test

import (
	"context"
	"testing"

	"github.com/runlet/runlet/runtime"
)

// BenchmarkExtismJob is BenchmarkJob for an Extism plugin: the test
// plugin's main (JSON in, one config_get, JSON out) through go-sdk in a
// worker, one worker, back to back. Isolated jobs run on a new instance
// each (created after the previous reply); warm jobs reuse one.
func BenchmarkExtismJob(b *testing.B) {
	for _, mode := range []struct {
		name string
		mode runtime.Mode
	}{{"isolated", runtime.Isolated}, {"warm", runtime.Warm}} {
		b.Run(mode.name, func(b *testing.B) {
			e := newEngine(b, 1, false)
			job := extismJob(b, "main", `{"name":"bench"}`, runtime.Limits{})
			job.Mode = mode.mode
			if err := e.Prepare(context.Background(), job); err != nil {
				b.Fatal(err)
			}
			for range 3 {
				if _, err := e.Run(context.Background(), job); err != nil {
					b.Fatal(err)
				}
			}
			runJobs(b, e, job)
		})
	}
}
