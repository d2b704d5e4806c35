package server

import (
	"context"

	"connectrpc.com/connect"

	runletv1 "github.com/runlet/runlet/gen/runlet/v1"
	"github.com/runlet/runlet/gen/runlet/v1/runletv1connect"
	"github.com/runlet/runlet/internal/store"
)

// workspaceAPI serves WorkspaceService.
type workspaceAPI struct{ *connectAPI }

var _ runletv1connect.WorkspaceServiceHandler = workspaceAPI{}

func (a workspaceAPI) CreateWorkspace(ctx context.Context, req *connect.Request[runletv1.CreateWorkspaceRequest]) (*connect.Response[runletv1.CreateWorkspaceResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	w, u, token, err := a.svc.CreateWorkspace(ctx, p, req.Msg.GetId(), req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.CreateWorkspaceResponse{Workspace: workspacePB(w), Admin: userPB(u), Token: token}), nil
}

func (a workspaceAPI) ListWorkspaces(ctx context.Context, req *connect.Request[runletv1.ListWorkspacesRequest]) (*connect.Response[runletv1.ListWorkspacesResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.ListWorkspaces(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]*runletv1.Workspace, len(list))
	for i := range list {
		out[i] = workspacePB(&list[i])
	}
	return connect.NewResponse(&runletv1.ListWorkspacesResponse{Workspaces: out}), nil
}

func workspacePB(w *store.Workspace) *runletv1.Workspace {
	return &runletv1.Workspace{Id: w.ID, Name: w.Name, CreatedAt: timestamp(w.CreatedAt)}
}

// userAPI serves UserService.
type userAPI struct{ *connectAPI }

var _ runletv1connect.UserServiceHandler = userAPI{}

func (a userAPI) AddUser(ctx context.Context, req *connect.Request[runletv1.AddUserRequest]) (*connect.Response[runletv1.AddUserResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	u, err := a.svc.AddUser(ctx, p, workspace(m.GetWorkspace()), m.GetName(), m.GetRole())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.AddUserResponse{User: userPB(u)}), nil
}

func (a userAPI) ListUsers(ctx context.Context, req *connect.Request[runletv1.ListUsersRequest]) (*connect.Response[runletv1.ListUsersResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.ListUsers(ctx, p, workspace(req.Msg.GetWorkspace()))
	if err != nil {
		return nil, err
	}
	out := make([]*runletv1.User, len(list))
	for i := range list {
		out[i] = userPB(&list[i])
	}
	return connect.NewResponse(&runletv1.ListUsersResponse{Users: out}), nil
}

func (a userAPI) SetRole(ctx context.Context, req *connect.Request[runletv1.SetRoleRequest]) (*connect.Response[runletv1.SetRoleResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	u, err := a.svc.SetRole(ctx, p, workspace(m.GetWorkspace()), m.GetName(), m.GetRole())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.SetRoleResponse{User: userPB(u)}), nil
}

func (a userAPI) RemoveUser(ctx context.Context, req *connect.Request[runletv1.RemoveUserRequest]) (*connect.Response[runletv1.RemoveUserResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.RemoveUser(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetName()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.RemoveUserResponse{}), nil
}

func (a userAPI) WhoAmI(ctx context.Context, req *connect.Request[runletv1.WhoAmIRequest]) (*connect.Response[runletv1.WhoAmIResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if p, err = a.svc.WhoAmI(p, workspace(req.Msg.GetWorkspace())); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.WhoAmIResponse{Workspace: p.Workspace, User: p.User, Role: p.Role, Scopes: p.Scopes}), nil
}

func userPB(u *store.User) *runletv1.User {
	return &runletv1.User{Name: u.Name, Role: u.Role, CreatedAt: timestamp(u.CreatedAt)}
}

// tokenAPI serves TokenService.
type tokenAPI struct{ *connectAPI }

var _ runletv1connect.TokenServiceHandler = tokenAPI{}

func (a tokenAPI) CreateToken(ctx context.Context, req *connect.Request[runletv1.CreateTokenRequest]) (*connect.Response[runletv1.CreateTokenResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	exp, err := expiresIn(m.GetExpiresIn())
	if err != nil {
		return nil, err
	}
	tok, t, err := a.svc.CreateToken(ctx, p, workspace(m.GetWorkspace()), TokenRequest{
		User: m.GetUser(), Service: m.GetService(), Role: m.GetRole(), Scopes: m.GetScopes(), Expires: exp, Label: m.GetLabel(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.CreateTokenResponse{Token: tok, Info: tokenPB(t)}), nil
}

func (a tokenAPI) ListTokens(ctx context.Context, req *connect.Request[runletv1.ListTokensRequest]) (*connect.Response[runletv1.ListTokensResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.ListTokens(ctx, p, workspace(req.Msg.GetWorkspace()))
	if err != nil {
		return nil, err
	}
	out := make([]*runletv1.Token, len(list))
	for i := range list {
		out[i] = tokenPB(&list[i])
	}
	return connect.NewResponse(&runletv1.ListTokensResponse{Tokens: out}), nil
}

func (a tokenAPI) RevokeToken(ctx context.Context, req *connect.Request[runletv1.RevokeTokenRequest]) (*connect.Response[runletv1.RevokeTokenResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	n, err := a.svc.RevokeTokens(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPrefix())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.RevokeTokenResponse{Revoked: int32(n)}), nil
}

func tokenPB(t *store.Token) *runletv1.Token {
	return &runletv1.Token{Prefix: t.Prefix, Owner: t.Owner, Role: t.Role, Label: t.Label, Scopes: t.Scopes,
		ExpiresAt: timestamp(t.ExpiresAt), CreatedAt: timestamp(t.CreatedAt)}
}
