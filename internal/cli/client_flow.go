package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/runlet/runlet/internal/client"
)

// The flow commands: push an OpenFlow document (JSON or YAML), run a flow,
// show it, list them, follow a run's modules.

func flowPushCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	pos, err := cc.parse(argv, 2, 2)
	if err != nil {
		return err
	}
	file, path := pos[0], pos[1]
	doc, err := os.ReadFile(file)
	if err != nil {
		return cc.usagef("%v", err)
	}
	if strings.TrimSpace(string(doc)) == "" {
		return cc.usagef("%s: empty file", file)
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	// A path that has a flow gets its next version.
	push := c.CreateFlow
	switch _, err := c.GetFlow(ctx, path, 0); {
	case err == nil:
		push = c.UpdateFlow
	case !errors.Is(err, client.ErrNotFound):
		return err
	}
	res, err := push(ctx, path, doc)
	var ae *client.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest && ae.Field == "path":
		return cc.usagef("%s", ae.Message)
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		// The document is at fault: a usage error naming the file.
		return cc.usagef("%s: %s", file, ae.Message)
	}
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(cc.env.Stderr, "warning: %s\n", w.Message)
	}
	fmt.Fprintf(cc.env.Stdout, "pushed %s version %d\n", res.Path, res.Version)
	return nil
}

func flowRunCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	return runPathCmd(ctx, cc, argv, runTarget{
		what: "flow",
		schema: func(ctx context.Context, c *client.Client, path string) (json.RawMessage, error) {
			f, err := c.GetFlow(ctx, path, 0)
			if err != nil {
				return nil, err
			}
			return f.Schema, nil
		},
		async: (*client.Client).RunFlow,
		wait:  (*client.Client).RunFlowWaitResult,
	})
}

// flowModule is what `flow show` reads of a module: enough to draw the
// tree.
type flowModule struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
	Value   struct {
		Type     string       `json:"type"`
		Language string       `json:"language"`
		Path     string       `json:"path"`
		Hash     string       `json:"hash"`
		Parallel bool         `json:"parallel"`
		Modules  []flowModule `json:"modules"`
		Branches []struct {
			Summary string       `json:"summary"`
			Expr    string       `json:"expr"`
			Modules []flowModule `json:"modules"`
		} `json:"branches"`
		Default []flowModule `json:"default"`
	} `json:"value"`
}

// flowValue is a flow's value as `flow show` reads it.
type flowValue struct {
	Modules       []flowModule `json:"modules"`
	FailureModule *flowModule  `json:"failure_module"`
	EarlyReturn   string       `json:"early_return"`
}

func flowShowCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	version := cc.fs.Int64("version", 0, "show version `N` (default the latest)")
	asJSON := cc.fs.Bool("json", false, "print JSON")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	if *version < 0 {
		return cc.usagef("--version %d: want a positive version", *version)
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	f, err := c.GetFlow(ctx, pos[0], *version)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(cc.env.Stdout, f)
	}
	var v flowValue
	if err := json.Unmarshal(f.Value, &v); err != nil {
		return fmt.Errorf("flow %s: value: %w", f.Path, err)
	}
	err = writeDetails(cc.env.Stdout, [][2]string{
		{"path", f.Path},
		{"version", strconv.FormatInt(f.Version, 10)},
		{"summary", f.Summary},
		{"description", f.Description},
		{"edited", timeCell(f.EditedAt) + " by " + f.EditedBy},
		{"archived", map[bool]string{true: "yes"}[f.Archived]},
		{"early return", v.EarlyReturn},
		{"schema", compactJSON(f.Schema)},
	})
	if err != nil {
		return err
	}
	w := cc.env.Stdout
	fmt.Fprintln(w, "\nmodules:")
	writeModules(w, v.Modules, 1)
	if v.FailureModule != nil {
		fmt.Fprintln(w, "failure module:")
		writeModules(w, []flowModule{*v.FailureModule}, 1)
	}
	return nil
}

// writeModules writes modules as a tree, "id  type (detail)", nested
// modules indented under their loop or branch.
func writeModules(w io.Writer, mods []flowModule, depth int) {
	ind := strings.Repeat("  ", depth)
	for _, m := range mods {
		mv := m.Value
		line := ind + m.ID + "  " + mv.Type
		switch mv.Type {
		case "rawscript":
			line += " (" + mv.Language + ")"
		case "script", "flow":
			line += " " + mv.Path
			if mv.Hash != "" {
				line += " (" + mv.Hash + ")"
			}
		case "forloopflow", "whileloopflow", "branchall":
			if mv.Parallel {
				line += " (parallel)"
			}
		}
		if m.Summary != "" {
			line += "  # " + tableCell(m.Summary)
		}
		fmt.Fprintln(w, line)
		writeModules(w, mv.Modules, depth+1)
		for i, b := range mv.Branches {
			label := ind + "  branch " + strconv.Itoa(i+1)
			switch {
			case b.Expr != "":
				label += ": " + tableCell(b.Expr)
			case b.Summary != "":
				label += ": " + tableCell(b.Summary)
			}
			fmt.Fprintln(w, label)
			writeModules(w, b.Modules, depth+2)
		}
		if len(mv.Default) > 0 {
			fmt.Fprintln(w, ind+"  default")
			writeModules(w, mv.Default, depth+2)
		}
	}
}

func flowListCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	prefix := cc.fs.String("prefix", "", "only flows whose path starts with `P` (or give P as the argument)")
	asJSON := cc.fs.Bool("json", false, "print JSON")
	pos, err := cc.parse(argv, 0, 1)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		*prefix = pos[0]
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	list, err := c.ListFlows(ctx, *prefix)
	if err != nil {
		return err
	}
	return writeFlows(cc, list, *asJSON, false)
}

func flowHistoryCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	list, err := c.FlowHistory(ctx, pos[0])
	if err != nil {
		return err
	}
	return writeFlows(cc, list, *asJSON, true)
}

// writeFlows prints flow versions as a table (history: without the path)
// or JSON.
func writeFlows(cc *clientCmd, list []client.Flow, asJSON, history bool) error {
	if asJSON {
		if list == nil {
			list = []client.Flow{}
		}
		return printJSON(cc.env.Stdout, list)
	}
	header := []string{"PATH", "VERSION", "EDITED", "BY", "SUMMARY"}
	if history {
		header = header[1:]
	}
	rows := make([][]string, len(list))
	for i, f := range list {
		rows[i] = []string{f.Path, strconv.FormatInt(f.Version, 10), timeCell(f.EditedAt), f.EditedBy, truncate(f.Summary, 60)}
		if history {
			rows[i] = rows[i][1:]
		}
	}
	return writeTable(cc.env.Stdout, header, rows)
}

func flowDeleteCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	if err := c.DeleteFlow(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "deleted flow %s\n", pos[0])
	return nil
}

func flowStatusCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	run, err := c.FlowStatus(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(cc.env.Stdout, run)
	}
	if err := writeDetails(cc.env.Stdout, [][2]string{{"job", run.ID}, {"status", run.Status}}); err != nil {
		return err
	}
	var mods []client.FlowModuleStatus
	if run.Flow != nil {
		mods = run.Flow.Modules
		if run.Flow.Failure != nil {
			mods = append(mods[:len(mods):len(mods)], *run.Flow.Failure)
		}
	}
	rows := make([][]string, len(mods))
	var errs []string
	for i, m := range mods {
		job := m.Job
		if job == "" && len(m.Jobs) > 0 {
			job = fmt.Sprintf("%d jobs", len(m.Jobs))
		}
		iters := ""
		if m.Iterations > 0 {
			iters = strconv.Itoa(m.Iterations)
		}
		rows[i] = []string{m.ID, m.Type, m.Status, job, iters}
		if m.Error != "" {
			errs = append(errs, fmt.Sprintf("error in %s: %s", m.ID, tableCell(m.Error)))
		}
	}
	fmt.Fprintln(cc.env.Stdout)
	if err := writeTable(cc.env.Stdout, []string{"MODULE", "TYPE", "STATUS", "JOB", "ITERATIONS"}, rows); err != nil {
		return err
	}
	for _, e := range errs {
		fmt.Fprintln(cc.env.Stdout, e)
	}
	return nil
}
