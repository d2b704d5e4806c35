package server

import (
	"context"
	"encoding/json"

	"connectrpc.com/connect"

	runletv1 "github.com/runlet/runlet/gen/runlet/v1"
	"github.com/runlet/runlet/gen/runlet/v1/runletv1connect"
	"github.com/runlet/runlet/internal/store"
)

// flowAPI serves FlowService.
type flowAPI struct{ *connectAPI }

var _ runletv1connect.FlowServiceHandler = flowAPI{}

func (a flowAPI) CreateFlow(ctx context.Context, req *connect.Request[runletv1.CreateFlowRequest]) (*connect.Response[runletv1.CreateFlowResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	f, warns, err := a.svc.CreateFlow(ctx, p, workspace(m.GetWorkspace()), m.GetPath(), []byte(m.GetDefinitionJson()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.CreateFlowResponse{Path: f.Path, Version: f.Version, Warnings: flowWarningsPB(warns)}), nil
}

func (a flowAPI) UpdateFlow(ctx context.Context, req *connect.Request[runletv1.UpdateFlowRequest]) (*connect.Response[runletv1.UpdateFlowResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	ws := workspace(m.GetWorkspace())
	if err := checkPath("path", m.GetPath()); err != nil {
		return nil, err
	}
	if _, err := a.svc.GetFlow(ctx, p, ws, m.GetPath(), 0); err != nil {
		return nil, err
	}
	f, warns, err := a.svc.CreateFlow(ctx, p, ws, m.GetPath(), []byte(m.GetDefinitionJson()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.UpdateFlowResponse{Path: f.Path, Version: f.Version, Warnings: flowWarningsPB(warns)}), nil
}

func (a flowAPI) GetFlow(ctx context.Context, req *connect.Request[runletv1.GetFlowRequest]) (*connect.Response[runletv1.GetFlowResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if m.GetVersion() < 0 {
		return nil, invalid("version", "version %d: want a positive integer (0: the latest)", m.GetVersion())
	}
	f, err := a.svc.GetFlow(ctx, p, workspace(m.GetWorkspace()), m.GetPath(), m.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.GetFlowResponse{Flow: flowPB(f, true)}), nil
}

func (a flowAPI) ListFlows(ctx context.Context, req *connect.Request[runletv1.ListFlowsRequest]) (*connect.Response[runletv1.ListFlowsResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.ListFlows(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPathStart())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.ListFlowsResponse{Flows: flowsPB(list)}), nil
}

func (a flowAPI) FlowHistory(ctx context.Context, req *connect.Request[runletv1.FlowHistoryRequest]) (*connect.Response[runletv1.FlowHistoryResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.FlowHistory(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPath())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.FlowHistoryResponse{Flows: flowsPB(list)}), nil
}

func (a flowAPI) ArchiveFlow(ctx context.Context, req *connect.Request[runletv1.ArchiveFlowRequest]) (*connect.Response[runletv1.ArchiveFlowResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := a.svc.ArchiveFlow(ctx, p, workspace(m.GetWorkspace()), m.GetPath(), !m.GetUnarchive()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.ArchiveFlowResponse{}), nil
}

func (a flowAPI) DeleteFlow(ctx context.Context, req *connect.Request[runletv1.DeleteFlowRequest]) (*connect.Response[runletv1.DeleteFlowResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.DeleteFlow(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPath()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.DeleteFlowResponse{}), nil
}

func (a flowAPI) RunFlow(ctx context.Context, req *connect.Request[runletv1.RunFlowRequest]) (*connect.Response[runletv1.RunFlowResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if m.GetVersion() < 0 {
		return nil, invalid("version", "version %d: want a positive integer (0: the latest)", m.GetVersion())
	}
	args, err := jsonObject("args", m.GetArgs())
	if err != nil {
		return nil, err
	}
	rr := runRequest(m.GetPath(), "", m.GetJobId(), args, m.GetQueueLimit())
	rr.Flow, rr.FlowVersion, rr.Sync = true, m.GetVersion(), m.GetWait()
	ws := workspace(m.GetWorkspace())
	j, err := a.svc.Run(ctx, p, ws, rr)
	if err != nil {
		return nil, argField(err)
	}
	if !m.GetWait() {
		return connect.NewResponse(&runletv1.RunFlowResponse{Job: jobPB(j), Completed: j.Done()}), nil
	}
	if j, err = a.svc.WaitEarly(ctx, ws, j.ID, a.cfg.WaitLimit); err != nil {
		return nil, err
	}
	out := &runletv1.RunFlowResponse{Job: jobPB(j), Completed: j.Done()}
	if !j.Done() && j.Flow != nil && j.Flow.EarlyReturn != nil {
		out.EarlyReturn = jsonValue(j.Flow.EarlyReturn)
	}
	return connect.NewResponse(out), nil
}

// flowPB converts a flow version; full adds the definition and schema.
func flowPB(f *store.Flow, full bool) *runletv1.Flow {
	out := &runletv1.Flow{
		Path: f.Path, Version: f.Version, Summary: f.Summary, Description: f.Description,
		CreatedBy: f.CreatedBy, CreatedAt: timestamp(f.CreatedAt), Archived: f.Archived,
	}
	if full {
		out.DefinitionJson = text(string(f.Definition))
		out.SchemaJson = text(string(f.Schema))
	}
	return out
}

func flowsPB(list []store.Flow) []*runletv1.Flow {
	out := make([]*runletv1.Flow, len(list))
	for i := range list {
		out[i] = flowPB(&list[i], false)
	}
	return out
}

func flowWarningsPB(warns []FlowWarning) []*runletv1.FlowWarning {
	out := make([]*runletv1.FlowWarning, len(warns))
	for i, w := range warns {
		out[i] = &runletv1.FlowWarning{Field: text(w.Field), Message: text(w.Message)}
	}
	return out
}

// flowStatusJSON is a flow run's progress as JSON; "" for a script's job.
func flowStatusJSON(j *store.Job) string {
	if j.Flow == nil {
		return ""
	}
	b, err := json.Marshal(j.Flow)
	if err != nil {
		return ""
	}
	return text(string(b))
}
