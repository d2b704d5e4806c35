package server

import (
	"context"

	"connectrpc.com/connect"

	runletv1 "github.com/runlet/runlet/gen/runlet/v1"
	"github.com/runlet/runlet/gen/runlet/v1/runletv1connect"
	"github.com/runlet/runlet/internal/store"
)

// variableAPI serves VariableService.
type variableAPI struct{ *connectAPI }

var _ runletv1connect.VariableServiceHandler = variableAPI{}

func (a variableAPI) CreateVariable(ctx context.Context, req *connect.Request[runletv1.CreateVariableRequest]) (*connect.Response[runletv1.CreateVariableResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	secret, desc := m.GetIsSecret(), m.GetDescription()
	in := VariableInput{Path: m.GetPath(), Value: m.Value, Secret: &secret, Description: &desc}
	if err := a.svc.PutVariable(ctx, p, workspace(m.GetWorkspace()), in, true); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.CreateVariableResponse{}), nil
}

func (a variableAPI) UpdateVariable(ctx context.Context, req *connect.Request[runletv1.UpdateVariableRequest]) (*connect.Response[runletv1.UpdateVariableResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	in := VariableInput{Path: m.GetPath(), Value: m.Value, Secret: m.IsSecret, Description: m.Description}
	if err := a.svc.PutVariable(ctx, p, workspace(m.GetWorkspace()), in, false); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.UpdateVariableResponse{}), nil
}

func (a variableAPI) GetVariable(ctx context.Context, req *connect.Request[runletv1.GetVariableRequest]) (*connect.Response[runletv1.GetVariableResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := a.svc.GetVariable(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPath())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.GetVariableResponse{Variable: variablePB(v)}), nil
}

func (a variableAPI) ListVariables(ctx context.Context, req *connect.Request[runletv1.ListVariablesRequest]) (*connect.Response[runletv1.ListVariablesResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.ListVariables(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPathStart())
	if err != nil {
		return nil, err
	}
	out := make([]*runletv1.Variable, len(list))
	for i := range list {
		out[i] = variablePB(&list[i])
	}
	return connect.NewResponse(&runletv1.ListVariablesResponse{Variables: out}), nil
}

func (a variableAPI) DeleteVariable(ctx context.Context, req *connect.Request[runletv1.DeleteVariableRequest]) (*connect.Response[runletv1.DeleteVariableResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.DeleteVariable(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPath()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.DeleteVariableResponse{}), nil
}

func variablePB(v *store.Variable) *runletv1.Variable {
	return &runletv1.Variable{Path: v.Path, Value: text(v.Value), IsSecret: v.Secret, Description: v.Description, UpdatedAt: timestamp(v.UpdatedAt)}
}

// resourceAPI serves ResourceService.
type resourceAPI struct{ *connectAPI }

var _ runletv1connect.ResourceServiceHandler = resourceAPI{}

func (a resourceAPI) CreateResource(ctx context.Context, req *connect.Request[runletv1.CreateResourceRequest]) (*connect.Response[runletv1.CreateResourceResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	value, err := rawJSON("value", m.GetValue())
	if err != nil {
		return nil, err
	}
	in := ResourceInput{Path: m.GetPath(), Value: value, Type: m.GetResourceType(), Description: m.GetDescription()}
	if err := a.svc.CreateResource(ctx, p, workspace(m.GetWorkspace()), in, m.GetUpdateIfExists()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.CreateResourceResponse{}), nil
}

func (a resourceAPI) GetResource(ctx context.Context, req *connect.Request[runletv1.GetResourceRequest]) (*connect.Response[runletv1.GetResourceResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	res, err := a.svc.GetResource(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPath())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.GetResourceResponse{Resource: resourcePB(res)}), nil
}

func (a resourceAPI) ListResources(ctx context.Context, req *connect.Request[runletv1.ListResourcesRequest]) (*connect.Response[runletv1.ListResourcesResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.ListResources(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPathStart())
	if err != nil {
		return nil, err
	}
	out := make([]*runletv1.Resource, len(list))
	for i := range list {
		out[i] = resourcePB(&list[i])
	}
	return connect.NewResponse(&runletv1.ListResourcesResponse{Resources: out}), nil
}

func (a resourceAPI) DeleteResource(ctx context.Context, req *connect.Request[runletv1.DeleteResourceRequest]) (*connect.Response[runletv1.DeleteResourceResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.DeleteResource(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPath()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.DeleteResourceResponse{}), nil
}

func resourcePB(r *store.Resource) *runletv1.Resource {
	return &runletv1.Resource{Path: r.Path, ResourceType: r.Type, Value: jsonValue(r.Value), Description: r.Description, UpdatedAt: timestamp(r.UpdatedAt)}
}
