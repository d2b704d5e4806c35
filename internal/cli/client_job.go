package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/runlet/runlet/internal/client"
)

func jobListCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	path := cc.fs.String("path", "", "only jobs of the script at `P`")
	limit := cc.fs.Int("limit", 30, "at most `N` jobs")
	if _, err := cc.parse(argv, 0, 0); err != nil {
		return err
	}
	if *limit <= 0 {
		return cc.usagef("--limit: must be positive")
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	jobs, err := c.ListJobs(ctx, client.JobFilter{ScriptPath: *path, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		if jobs == nil {
			jobs = []client.Job{}
		}
		return printJSON(cc.env.Stdout, jobs)
	}
	rows := make([][]string, len(jobs))
	for i, j := range jobs {
		rows[i] = []string{j.ID, j.ScriptPath, j.State(), j.Trigger, j.SchedulePath, timeCell(j.CreatedAt), jobDuration(&j), truncate(compactJSON(j.Args), 60)}
	}
	return writeTable(cc.env.Stdout, []string{"ID", "PATH", "STATUS", "TRIGGER", "SCHEDULE", "CREATED", "DURATION", "ARGS"}, rows)
}

// jobDuration is how long a completed job ran, "" otherwise.
func jobDuration(j *client.Job) string {
	switch {
	case !j.Done():
		return ""
	case j.DurationMS > 0:
		return (time.Duration(j.DurationMS) * time.Millisecond).String()
	case !j.CompletedAt.IsZero() && !j.StartedAt.IsZero():
		return j.CompletedAt.Sub(j.StartedAt).Round(time.Millisecond).String()
	}
	return ""
}

func jobGetCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	j, err := c.GetJob(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(cc.env.Stdout, j)
	}
	attempt := ""
	if j.Attempt > 0 {
		attempt = strconv.Itoa(j.Attempt)
	}
	canceled := ""
	if j.Canceled {
		canceled = "yes"
		if j.CanceledReason != "" {
			canceled = j.CanceledReason
		}
	}
	opt := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return timeCell(t)
	}
	return writeDetails(cc.env.Stdout, [][2]string{
		{"id", j.ID},
		{"path", j.ScriptPath},
		{"hash", j.ScriptHash},
		{"language", j.Language},
		{"status", j.State()},
		{"trigger", j.Trigger},
		{"schedule", j.SchedulePath},
		{"parent job", j.ParentJob},
		{"created", timeCell(j.CreatedAt) + " by " + j.CreatedBy},
		{"scheduled for", opt(j.ScheduledFor)},
		{"started", opt(j.StartedAt)},
		{"completed", opt(j.CompletedAt)},
		{"duration", jobDuration(j)},
		{"attempt", attempt},
		{"canceled", canceled},
		{"args", compactJSON(j.Args)},
		{"result", compactJSON(j.Result)},
	})
}

func jobLogsCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	follow := cc.fs.Bool("follow", false, "keep printing new logs until the job completes")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	if *follow {
		return c.FollowLogs(ctx, pos[0], cc.env.Stdout)
	}
	logs, err := c.JobLogs(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprint(cc.env.Stdout, logs)
	return nil
}

func jobCancelCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	reason := cc.fs.String("reason", "", "why, recorded with the job")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	if err := c.CancelJob(ctx, pos[0], *reason); err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "canceled %s\n", pos[0])
	return nil
}
