package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FlowWarning is a problem in a pushed flow that did not stop it (an
// unknown field, a script path with no script yet).
type FlowWarning struct {
	Field   string `json:"field"` // a path from the document's root
	Message string `json:"message"`
}

// PushedFlow is what flows/create and flows/update answer.
type PushedFlow struct {
	Path     string        `json:"path"`
	Version  int64         `json:"version"`
	Warnings []FlowWarning `json:"warnings"`
}

// Flow is a flow version as flows/get, flows/list and flows/history show
// it. Value is the OpenFlow value ({"modules": …}) as stored.
type Flow struct {
	Path        string          `json:"path"`
	Version     int64           `json:"version"`
	Summary     string          `json:"summary"`
	Description string          `json:"description,omitempty"`
	Value       json.RawMessage `json:"value"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	EditedBy    string          `json:"edited_by"`
	EditedAt    time.Time       `json:"edited_at"`
	Archived    bool            `json:"archived"`
}

// FlowStatus is a flow run's progress: one entry per top-level module.
type FlowStatus struct {
	Step        int                `json:"step"` // index of the module running or next
	Modules     []FlowModuleStatus `json:"modules"`
	Failure     *FlowModuleStatus  `json:"failure_module,omitempty"`
	EarlyReturn json.RawMessage    `json:"early_return,omitempty"`
}

// FlowModuleStatus is one module's progress. Status is waiting, running,
// suspended, success, failure or skipped.
type FlowModuleStatus struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	Job        string          `json:"job,omitempty"`       // a script step's child job
	Jobs       []string        `json:"flow_jobs,omitempty"` // a loop's or branch's child jobs
	Iterations int             `json:"iterations,omitempty"`
	Branch     *int            `json:"branch_chosen,omitempty"` // branchone; -1: default
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	Approvers  []string        `json:"approvers,omitempty"`
}

// FlowRun is jobs_u/flow_status: a flow run's status and progress.
type FlowRun struct {
	ID     string      `json:"id"`
	Status string      `json:"status"`
	Flow   *FlowStatus `json:"flow_status"`
}

// CreateFlow stores doc, an OpenFlow document (JSON or YAML), as the flow
// at path (POST flows/create); a path that has a flow gets its next
// version. A JSON document is sent with path added; a YAML one goes to
// flows/update/{path}, which stores a first version just the same.
func (c *Client) CreateFlow(ctx context.Context, path string, doc []byte) (*PushedFlow, error) {
	if !isJSONObject(doc) {
		return c.UpdateFlow(ctx, path, doc)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("flow document: %w", err)
	}
	p, err := json.Marshal(path)
	if err != nil {
		return nil, err
	}
	m["path"] = p
	var out PushedFlow
	if err := c.doJSON(ctx, request{method: http.MethodPost, endpoint: "flows/create", body: m}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateFlow stores doc (JSON or YAML, sent as is) as the next version of
// the flow at path (POST flows/update/{path}). A document identical to the
// latest version returns that version.
func (c *Client) UpdateFlow(ctx context.Context, path string, doc []byte) (*PushedFlow, error) {
	ct := "application/json"
	if !isJSONObject(doc) {
		ct = "application/yaml"
	}
	var out PushedFlow
	r := request{method: http.MethodPost, endpoint: "flows/update/" + pathEscape(path), raw: doc, contentType: ct}
	if err := c.doJSON(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// isJSONObject reports whether doc looks like a JSON object (its first
// non-space byte is '{'), as the server tells JSON from YAML.
func isJSONObject(doc []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// GetFlow returns the latest version of the flow at path, or version (when
// positive).
func (c *Client) GetFlow(ctx context.Context, path string, version int64) (*Flow, error) {
	ep := "flows/get/" + pathEscape(path)
	if version > 0 {
		ep = "flows/get/v/" + strconv.FormatInt(version, 10) + "/p/" + pathEscape(path)
	}
	var out Flow
	if err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: ep}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListFlows lists the latest version of each flow whose path starts with
// pathStart (all when empty).
func (c *Client) ListFlows(ctx context.Context, pathStart string) ([]Flow, error) {
	var q url.Values
	if pathStart != "" {
		q = url.Values{"path_start": {pathStart}}
	}
	var out []Flow
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "flows/list", query: q}, &out)
	return out, err
}

// FlowHistory lists the versions of the flow at path, newest first.
func (c *Client) FlowHistory(ctx context.Context, path string) ([]Flow, error) {
	var out []Flow
	err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "flows/history/p/" + pathEscape(path)}, &out)
	return out, err
}

// ArchiveFlow hides the flow at path from lists and runs (archived true)
// or brings it back.
func (c *Client) ArchiveFlow(ctx context.Context, path string, archived bool) error {
	return c.doJSON(ctx, request{method: http.MethodPost, endpoint: "flows/archive/" + pathEscape(path), body: map[string]bool{"archived": archived}}, nil)
}

// DeleteFlow deletes every version of the flow at path (its runs stay).
func (c *Client) DeleteFlow(ctx context.Context, path string) error {
	return c.doJSON(ctx, request{method: http.MethodDelete, endpoint: "flows/delete/" + pathEscape(path)}, nil)
}

// RunFlow queues a run of the flow at path with args (its inputs, a JSON
// object; nil means none) and returns the run's job id.
func (c *Client) RunFlow(ctx context.Context, path string, args json.RawMessage) (string, error) {
	id, err := c.doText(ctx, request{method: http.MethodPost, endpoint: "jobs/run/f/" + pathEscape(path), body: argsBody(args)})
	return strings.TrimSpace(id), err
}

// RunFlowWaitResult runs the flow at path and waits, up to the server's
// wait limit, for its result (or its early_return module's). A run still
// going at that limit is not an error: result is nil and pending is the
// job's id (see WaitJob). A failed run is a *JobError.
func (c *Client) RunFlowWaitResult(ctx context.Context, path string, args json.RawMessage) (result json.RawMessage, pending string, err error) {
	return c.runWaitResult(ctx, "jobs/run_wait_result/f/"+pathEscape(path), args)
}

// RunFlowWait runs the flow at path and waits for its result however long
// the run takes (or until ctx ends). A failed run is a *JobError.
func (c *Client) RunFlowWait(ctx context.Context, path string, args json.RawMessage) (json.RawMessage, error) {
	res, pending, err := c.RunFlowWaitResult(ctx, path, args)
	if err != nil || pending == "" {
		return res, err
	}
	return c.WaitJob(ctx, pending)
}

// FlowStatus returns a flow run's status and progress
// (jobs_u/flow_status/{id}).
func (c *Client) FlowStatus(ctx context.Context, id string) (*FlowRun, error) {
	var out FlowRun
	if err := c.doJSON(ctx, request{method: http.MethodGet, endpoint: "jobs_u/flow_status/" + url.PathEscape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// runWaitResult posts args to a run_wait_result endpoint: 200 is the
// result, 202 {"id"} a job still running, 500 a failed job.
func (c *Client) runWaitResult(ctx context.Context, endpoint string, args json.RawMessage) (json.RawMessage, string, error) {
	resp, err := c.do(ctx, request{method: http.MethodPost, endpoint: endpoint, body: argsBody(args)})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusInternalServerError {
			// A failed job is a 500 with {"error":{"name","message","stack"}}.
			return nil, "", ae.jobError()
		}
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("read run_wait_result response: %w", err)
	}
	if resp.StatusCode == http.StatusAccepted {
		var d struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &d); err != nil || d.ID == "" {
			return nil, "", fmt.Errorf("run_wait_result: 202 without a job id: %q", b)
		}
		return nil, d.ID, nil
	}
	return b, "", nil
}
