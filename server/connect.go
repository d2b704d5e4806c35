package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/runlet/runlet/gen/runlet/v1/runletv1connect"
)

// The Connect API (proto/runlet/v1): nine services on the REST port,
// each call served over Connect, gRPC and gRPC-Web by connect-go, plus
// gRPC reflection. Every handler is a thin translation onto the service
// layer; authentication and error mapping live in one interceptor.

// connectRoutes mounts the Connect services and gRPC reflection on mux.
func (s *Server) connectRoutes(mux *http.ServeMux) {
	a := &connectAPI{svc: s.svc, cfg: s.cfg}
	opts := []connect.HandlerOption{
		connect.WithInterceptors(&authInterceptor{s: s}),
		connect.WithReadMaxBytes(int(s.cfg.MaxBodyBytes)),
	}
	mux.Handle(runletv1connect.NewWorkspaceServiceHandler(workspaceAPI{a}, opts...))
	mux.Handle(runletv1connect.NewScriptServiceHandler(scriptAPI{a}, opts...))
	mux.Handle(runletv1connect.NewJobServiceHandler(jobAPI{a}, opts...))
	mux.Handle(runletv1connect.NewVariableServiceHandler(variableAPI{a}, opts...))
	mux.Handle(runletv1connect.NewResourceServiceHandler(resourceAPI{a}, opts...))
	mux.Handle(runletv1connect.NewTokenServiceHandler(tokenAPI{a}, opts...))
	mux.Handle(runletv1connect.NewUserServiceHandler(userAPI{a}, opts...))
	mux.Handle(runletv1connect.NewScheduleServiceHandler(scheduleAPI{a}, opts...))
	mux.Handle(runletv1connect.NewFlowServiceHandler(flowAPI{a}, opts...))
	// Reflection needs no token: it describes the API, not the data.
	r := grpcreflect.NewStaticReflector(ConnectServices...)
	mux.Handle(grpcreflect.NewHandlerV1(r))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(r))
}

// ConnectServices are the fully-qualified names of the Connect services.
var ConnectServices = []string{
	runletv1connect.WorkspaceServiceName,
	runletv1connect.ScriptServiceName,
	runletv1connect.JobServiceName,
	runletv1connect.VariableServiceName,
	runletv1connect.ResourceServiceName,
	runletv1connect.TokenServiceName,
	runletv1connect.UserServiceName,
	runletv1connect.ScheduleServiceName,
	runletv1connect.FlowServiceName,
}

// connectAPI is what every service's handlers share.
type connectAPI struct {
	svc *Service
	cfg Config
}

// authInterceptor authenticates each call by its bearer token (the
// principal rides in the context) and maps the errors handlers return to
// Connect codes, counting and logging refusals as the REST API does.
type authInterceptor struct{ s *Server }

var _ connect.Interceptor = (*authInterceptor)(nil)

func (i *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		p, err := i.s.svc.Authenticate(ctx, bearer(req.Header()))
		if err != nil {
			return nil, i.fail(req.Spec().Procedure, err)
		}
		res, err := next(withPrincipal(ctx, p), req)
		if err != nil {
			return nil, i.fail(req.Spec().Procedure, err)
		}
		return res, nil
	}
}

func (i *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		p, err := i.s.svc.Authenticate(ctx, bearer(conn.RequestHeader()))
		if err != nil {
			return i.fail(conn.Spec().Procedure, err)
		}
		if err := next(withPrincipal(ctx, p), conn); err != nil {
			return i.fail(conn.Spec().Procedure, err)
		}
		return nil
	}
}

// fail maps err to a Connect error, counting a refusal and logging it as
// the REST API's writeError does.
func (i *authInterceptor) fail(procedure string, err error) error {
	ce, e := connectError(err)
	if e == nil {
		return ce
	}
	i.s.met.refuse(e)
	log := i.s.cfg.Logger
	if e.Status >= 500 {
		log.Error("request failed", "procedure", procedure, "err", err)
	} else if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		log.Info("request refused", "procedure", procedure, "status", e.Status)
	}
	return ce
}

// bearer is the token of an "Authorization: Bearer <token>" header.
func bearer(h http.Header) string {
	t, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(t)
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principal is the caller the interceptor authenticated. Without one (a
// handler mounted without the interceptor) every call is unauthenticated.
func principal(ctx context.Context) (*Principal, error) {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok {
		return p, nil
	}
	return nil, errUnauthenticated
}

// workspace is a request's workspace: DefaultWorkspace when empty.
func workspace(ws string) string {
	if ws == "" {
		return DefaultWorkspace
	}
	return ws
}

// timestamp converts t; nil for the zero time.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// jsonValue converts a JSON document; nil for none (or one that is not
// valid JSON, which the store never holds).
func jsonValue(raw json.RawMessage) *structpb.Value {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	v := &structpb.Value{}
	if protojson.Unmarshal(raw, v) != nil {
		return nil
	}
	return v
}

// jsonStruct converts a JSON object; nil for none or for another value.
func jsonStruct(raw json.RawMessage) *structpb.Struct {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	v := &structpb.Struct{}
	if protojson.Unmarshal(raw, v) != nil {
		return nil
	}
	return v
}

// rawJSON converts a protobuf JSON value (Struct, Value) to JSON; nil for
// nil.
func rawJSON(field string, m proto.Message) (json.RawMessage, error) {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil, nil
	}
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, invalid(field, "%s: %v", field, err)
	}
	return b, nil
}

// jsonObject converts a Struct to the map a JSON object decodes to, with
// numbers as json.Number (as the REST API decodes bodies).
func jsonObject(field string, st proto.Message) (map[string]any, error) {
	b, err := rawJSON(field, st)
	if err != nil || b == nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, invalid(field, "%s: %v", field, err)
	}
	return m, nil
}

// text makes s valid UTF-8, as protobuf strings must be (script output
// may not be).
func text(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
