package server_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	runletv1 "github.com/runlet/runlet/gen/runlet/v1"
	"github.com/runlet/runlet/gen/runlet/v1/runletv1connect"
	"github.com/runlet/runlet/server"
)

// flowClient is a FlowService client with token over Connect, or over
// gRPC when opts say so.
func (s *testServer) flowClient(token string, opts ...connect.ClientOption) runletv1connect.FlowServiceClient {
	return runletv1connect.NewFlowServiceClient(h2c(), s.URL, append([]connect.ClientOption{connect.WithInterceptors(bearer(token))}, opts...)...)
}

// doubleFlow is a one-step flow: n → n * 2.
const doubleFlow = `{
  "summary": "doubles n",
  "value": {"modules": [{"id": "a", "value": {"type": "rawscript", "language": "typescript",
    "content": "export function main(x: number) { return x * 2 }",
    "input_transforms": {"x": {"type": "javascript", "expr": "flow_input.n"}}}}]},
  "schema": {"type": "object", "properties": {"n": {"type": "number"}}}
}`

func TestConnectFlows(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	ctx := context.Background()
	c := s.flowClient(s.Token)

	cr, err := c.CreateFlow(ctx, connect.NewRequest(&runletv1.CreateFlowRequest{Path: "f/flows/double", DefinitionJson: doubleFlow}))
	if err != nil {
		t.Fatal(err)
	}
	if cr.Msg.GetPath() != "f/flows/double" || cr.Msg.GetVersion() != 1 || len(cr.Msg.GetWarnings()) != 0 {
		t.Fatalf("create: %v", cr.Msg)
	}
	gr, err := c.GetFlow(ctx, connect.NewRequest(&runletv1.GetFlowRequest{Path: "f/flows/double"}))
	if err != nil {
		t.Fatal(err)
	}
	f := gr.Msg.GetFlow()
	var def struct {
		Value struct {
			Modules []struct {
				ID    string `json:"id"`
				Value struct {
					Type string `json:"type"`
				} `json:"value"`
			} `json:"modules"`
		} `json:"value"`
	}
	if err := json.Unmarshal([]byte(f.GetDefinitionJson()), &def); err != nil || len(def.Value.Modules) != 1 || def.Value.Modules[0].ID != "a" || def.Value.Modules[0].Value.Type != "rawscript" {
		t.Fatalf("definition %q: %v", f.GetDefinitionJson(), err)
	}
	if f.GetVersion() != 1 || f.GetSummary() != "doubles n" || f.GetCreatedBy() != "admin" || f.GetCreatedAt() == nil || f.GetArchived() ||
		!strings.Contains(f.GetSchemaJson(), `"n"`) {
		t.Fatalf("get: %v", f)
	}

	// An update (YAML is accepted too) is the next version; an identical
	// document returns the latest.
	yamlDoc := `summary: doubles n, again
value:
  modules:
    - id: a
      value:
        type: rawscript
        language: typescript
        content: "export function main(x: number) { return x * 2 }"
        input_transforms:
          x: {type: javascript, expr: flow_input.n}
        colour: blue
schema: {type: object, properties: {n: {type: number}}}
`
	ur, err := c.UpdateFlow(ctx, connect.NewRequest(&runletv1.UpdateFlowRequest{Path: "f/flows/double", DefinitionJson: yamlDoc}))
	if err != nil {
		t.Fatal(err)
	}
	if ur.Msg.GetVersion() != 2 || len(ur.Msg.GetWarnings()) != 1 || !strings.Contains(ur.Msg.GetWarnings()[0].GetField(), "colour") {
		t.Fatalf("update: %v", ur.Msg)
	}
	ur, err = c.UpdateFlow(ctx, connect.NewRequest(&runletv1.UpdateFlowRequest{Path: "f/flows/double", DefinitionJson: yamlDoc}))
	if err != nil || ur.Msg.GetVersion() != 2 {
		t.Fatalf("update unchanged: %v %v", ur, err)
	}
	_, err = c.UpdateFlow(ctx, connect.NewRequest(&runletv1.UpdateFlowRequest{Path: "f/flows/none", DefinitionJson: doubleFlow}))
	wantCode(t, "update a missing flow", err, connect.CodeNotFound)

	hr, err := c.FlowHistory(ctx, connect.NewRequest(&runletv1.FlowHistoryRequest{Path: "f/flows/double"}))
	if err != nil {
		t.Fatal(err)
	}
	if h := hr.Msg.GetFlows(); len(h) != 2 || h[0].GetVersion() != 2 || h[1].GetVersion() != 1 || h[0].GetSummary() != "doubles n, again" || h[0].GetDefinitionJson() != "" {
		t.Fatalf("history: %v", hr.Msg)
	}
	old, err := c.GetFlow(ctx, connect.NewRequest(&runletv1.GetFlowRequest{Path: "f/flows/double", Version: 1}))
	if err != nil || old.Msg.GetFlow().GetSummary() != "doubles n" {
		t.Fatalf("get version 1: %v %v", old, err)
	}

	if _, err := c.CreateFlow(ctx, connect.NewRequest(&runletv1.CreateFlowRequest{Path: "f/other/x", DefinitionJson: doubleFlow})); err != nil {
		t.Fatal(err)
	}
	lr, err := c.ListFlows(ctx, connect.NewRequest(&runletv1.ListFlowsRequest{PathStart: "f/flows/"}))
	if err != nil || len(lr.Msg.GetFlows()) != 1 || lr.Msg.GetFlows()[0].GetPath() != "f/flows/double" || lr.Msg.GetFlows()[0].GetVersion() != 2 {
		t.Fatalf("list: %v %v", lr, err)
	}

	// Runs: wait for the result, over Connect and gRPC; or queue.
	for name, rc := range map[string]runletv1connect.FlowServiceClient{"connect": c, "grpc": s.flowClient(s.Token, connect.WithGRPC())} {
		rr, err := rc.RunFlow(ctx, connect.NewRequest(&runletv1.RunFlowRequest{Path: "f/flows/double", Args: args(t, map[string]any{"n": 21}), Wait: true}))
		if err != nil {
			t.Fatalf("%s: run: %v", name, err)
		}
		j := rr.Msg.GetJob()
		if !rr.Msg.GetCompleted() || j.GetStatus() != runletv1.JobStatus_JOB_STATUS_SUCCESS || j.GetResult().GetNumberValue() != 42 || j.GetLanguage() != "flow" {
			t.Fatalf("%s: run: %v", name, rr.Msg)
		}
		var st struct {
			Modules []struct{ ID, Status, Job string } `json:"modules"`
		}
		if err := json.Unmarshal([]byte(j.GetFlowStatusJson()), &st); err != nil || len(st.Modules) != 1 || st.Modules[0].ID != "a" || st.Modules[0].Status != "success" || st.Modules[0].Job == "" {
			t.Fatalf("%s: flow status %q: %v", name, j.GetFlowStatusJson(), err)
		}
	}
	rr, err := c.RunFlow(ctx, connect.NewRequest(&runletv1.RunFlowRequest{Path: "f/flows/double", Version: 1, Args: args(t, map[string]any{"n": 5})}))
	if err != nil || rr.Msg.GetCompleted() || rr.Msg.GetJob().GetId() == "" {
		t.Fatalf("async run: %v %v", rr, err)
	}
	if j := s.waitJob(t, rr.Msg.GetJob().GetId()); jsonOf(j["result"]) != "10" || j["flow_version"] != float64(1) {
		t.Fatalf("async run's job: %s", jsonOf(j))
	}
	_, err = c.RunFlow(ctx, connect.NewRequest(&runletv1.RunFlowRequest{Path: "f/flows/double", Args: args(t, map[string]any{"n": "many"})}))
	if fields := wantCode(t, "run with a bad input", err, connect.CodeInvalidArgument); !slices.Equal(fields, []string{"args.n"}) {
		t.Fatalf("bad input: field violations %v", fields)
	}
	_, err = c.RunFlow(ctx, connect.NewRequest(&runletv1.RunFlowRequest{Path: "f/flows/none", Wait: true}))
	wantCode(t, "run a missing flow", err, connect.CodeNotFound)

	// An invalid definition names the module and its field.
	bad := strings.Replace(doubleFlow, `"language": "typescript"`, `"language": "cobol"`, 1)
	_, err = c.CreateFlow(ctx, connect.NewRequest(&runletv1.CreateFlowRequest{Path: "f/flows/bad", DefinitionJson: bad}))
	fields := wantCode(t, "invalid definition", err, connect.CodeInvalidArgument)
	if len(fields) != 1 || !strings.Contains(fields[0], "module a") || !strings.Contains(fields[0], "language") {
		t.Fatalf("invalid definition: field violations %v", fields)
	}
	_, err = c.CreateFlow(ctx, connect.NewRequest(&runletv1.CreateFlowRequest{Path: "f/flows/bad", DefinitionJson: "{"}))
	wantCode(t, "not JSON", err, connect.CodeInvalidArgument)
	_, err = c.CreateFlow(ctx, connect.NewRequest(&runletv1.CreateFlowRequest{Path: "nowhere", DefinitionJson: doubleFlow}))
	if fields := wantCode(t, "bad path", err, connect.CodeInvalidArgument); !slices.Equal(fields, []string{"path"}) {
		t.Fatalf("bad path: field violations %v", fields)
	}

	// Not found.
	_, err = c.GetFlow(ctx, connect.NewRequest(&runletv1.GetFlowRequest{Path: "f/flows/none"}))
	wantCode(t, "get a missing flow", err, connect.CodeNotFound)
	_, err = c.GetFlow(ctx, connect.NewRequest(&runletv1.GetFlowRequest{Path: "f/flows/double", Version: 9}))
	wantCode(t, "get a missing version", err, connect.CodeNotFound)
	_, err = c.FlowHistory(ctx, connect.NewRequest(&runletv1.FlowHistoryRequest{Path: "f/flows/none"}))
	wantCode(t, "history of a missing flow", err, connect.CodeNotFound)
	_, err = c.DeleteFlow(ctx, connect.NewRequest(&runletv1.DeleteFlowRequest{Path: "f/flows/none"}))
	wantCode(t, "delete a missing flow", err, connect.CodeNotFound)

	// A token scoped to reading flows reads them and nothing else.
	tok := s.connectClients(s.Token, nil).token
	ct, err := tok.CreateToken(ctx, connect.NewRequest(&runletv1.CreateTokenRequest{Label: "flows reader", Scopes: []string{"flows:read"}}))
	if err != nil {
		t.Fatal(err)
	}
	ro := s.flowClient(ct.Msg.GetToken())
	if _, err := ro.GetFlow(ctx, connect.NewRequest(&runletv1.GetFlowRequest{Path: "f/flows/double"})); err != nil {
		t.Fatalf("scoped read: %v", err)
	}
	_, err = ro.CreateFlow(ctx, connect.NewRequest(&runletv1.CreateFlowRequest{Path: "f/flows/double", DefinitionJson: doubleFlow}))
	wantCode(t, "scoped create", err, connect.CodePermissionDenied)
	_, err = ro.RunFlow(ctx, connect.NewRequest(&runletv1.RunFlowRequest{Path: "f/flows/double", Args: args(t, map[string]any{"n": 1})}))
	wantCode(t, "scoped run", err, connect.CodePermissionDenied)
	_, err = ro.DeleteFlow(ctx, connect.NewRequest(&runletv1.DeleteFlowRequest{Path: "f/flows/double"}))
	wantCode(t, "scoped delete", err, connect.CodePermissionDenied)
	_, err = s.flowClient("").ListFlows(ctx, connect.NewRequest(&runletv1.ListFlowsRequest{}))
	wantCode(t, "no token", err, connect.CodeUnauthenticated)

	// Archive hides a flow from lists; delete removes every version.
	if _, err := c.ArchiveFlow(ctx, connect.NewRequest(&runletv1.ArchiveFlowRequest{Path: "f/other/x"})); err != nil {
		t.Fatal(err)
	}
	if lr, err := c.ListFlows(ctx, connect.NewRequest(&runletv1.ListFlowsRequest{PathStart: "f/other/"})); err != nil || len(lr.Msg.GetFlows()) != 0 {
		t.Fatalf("list after archive: %v %v", lr, err)
	}
	if _, err := c.ArchiveFlow(ctx, connect.NewRequest(&runletv1.ArchiveFlowRequest{Path: "f/other/x", Unarchive: true})); err != nil {
		t.Fatal(err)
	}
	if lr, err := c.ListFlows(ctx, connect.NewRequest(&runletv1.ListFlowsRequest{PathStart: "f/other/"})); err != nil || len(lr.Msg.GetFlows()) != 1 {
		t.Fatalf("list after unarchive: %v %v", lr, err)
	}
	if _, err := c.DeleteFlow(ctx, connect.NewRequest(&runletv1.DeleteFlowRequest{Path: "f/flows/double"})); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFlow(ctx, connect.NewRequest(&runletv1.GetFlowRequest{Path: "f/flows/double"}))
	wantCode(t, "get a deleted flow", err, connect.CodeNotFound)
}
