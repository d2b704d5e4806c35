package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/runlet/runlet/internal/store"
)

// jobRun observes one run of a job: it logs the start (Debug) and counts
// it, and returns the function to call when the run is over, which reads
// how it ended from j: finished (success, failure, canceled), requeued for
// a retry (its attempt went up) or requeued at shutdown (neither).
// Every line carries job, path and workspace.
func (s *Service) jobRun(j *store.Job) (end func()) {
	t, attempt := time.Now(), j.Attempt
	log := s.log.With("job", j.ID, "path", j.ScriptPath, "workspace", j.Workspace)
	log.Debug("job started", "language", j.Language, "trigger", j.Trigger, "attempt", attempt)
	s.met.start(j.Language)
	return func() {
		d := time.Since(t)
		out, retried := outcome(j), false
		switch {
		case j.Done():
		case j.Attempt > attempt:
			retried = true
		default:
			out = "requeued"
		}
		s.met.end(j.Language, out, d, retried)
		attrs := []any{"outcome", out, "duration", d.Round(time.Microsecond), "attempt", attempt}
		switch {
		case out == "success", out == "skipped":
			log.Debug("job finished", attrs...)
		case out == "requeued":
			log.Info("job requeued at shutdown", attrs...)
		case out == "canceled":
			log.Info("job canceled", append(attrs, "canceled_by", j.CanceledBy)...)
		default:
			name := ""
			if j.Error != nil {
				name = j.Error.Name
			}
			msg := "job failed"
			if retried {
				msg = "job failed; retrying"
				attrs = append(attrs, "next_attempt", j.Attempt, "retry_at", j.ScheduledFor)
			}
			log.Log(context.Background(), failureLevel(name), msg, append(attrs, "error", name)...)
		}
	}
}

// failureLevel is Info for failures the script causes (its error, its
// limits, bad arguments) and Warn for those an operator should look at.
func failureLevel(name string) slog.Level {
	switch name {
	case "ScriptError", "Timeout", "OutOfMemory", "LimitExceeded", "Exit", "ArgumentError":
		return slog.LevelInfo
	}
	return slog.LevelWarn
}
