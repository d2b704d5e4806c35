package server

import (
	"context"
	"encoding/base64"
	"time"

	"connectrpc.com/connect"

	runletv1 "github.com/runlet/runlet/gen/runlet/v1"
	"github.com/runlet/runlet/gen/runlet/v1/runletv1connect"
	"github.com/runlet/runlet/internal/scriptbuild"
	"github.com/runlet/runlet/internal/store"
)

// scriptAPI serves ScriptService.
type scriptAPI struct{ *connectAPI }

var _ runletv1connect.ScriptServiceHandler = scriptAPI{}

func (a scriptAPI) CreateScript(ctx context.Context, req *connect.Request[runletv1.CreateScriptRequest]) (*connect.Response[runletv1.CreateScriptResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	schema, err := rawJSON("schema", m.GetSchema())
	if err != nil {
		return nil, err
	}
	in := NewScript{
		Path: m.GetPath(), ParentHash: m.GetParentHash(), Content: m.GetContent(), Language: m.GetLanguage(),
		Kind: m.GetKind(), Summary: m.GetSummary(), Description: m.GetDescription(), Schema: schema,
		Timeout: int(m.GetTimeout()), MaxMemory: m.GetMaxMemory(), AllowedHosts: m.GetAllowedHosts(),
		AllowPrivate: m.GetAllowPrivate(), Warm: m.GetWarm(), Retry: retryIn(m.GetRetry()),
		Concurrency: int(m.GetConcurrentLimit()), Entry: m.GetEntry(),
	}
	if len(m.GetModule()) > 0 {
		in.ContentBase64 = base64.StdEncoding.EncodeToString(m.GetModule())
	}
	sc, err := a.svc.CreateScript(ctx, p, workspace(m.GetWorkspace()), in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.CreateScriptResponse{Script: scriptPB(sc, false)}), nil
}

func (a scriptAPI) GetScript(ctx context.Context, req *connect.Request[runletv1.GetScriptRequest]) (*connect.Response[runletv1.GetScriptResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	sc, err := a.svc.GetScript(ctx, p, workspace(m.GetWorkspace()), m.GetPath(), m.GetHash())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.GetScriptResponse{Script: scriptPB(sc, true)}), nil
}

func (a scriptAPI) ListScripts(ctx context.Context, req *connect.Request[runletv1.ListScriptsRequest]) (*connect.Response[runletv1.ListScriptsResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.ListScripts(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPathStart())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.ListScriptsResponse{Scripts: scriptsPB(list)}), nil
}

func (a scriptAPI) ScriptHistory(ctx context.Context, req *connect.Request[runletv1.ScriptHistoryRequest]) (*connect.Response[runletv1.ScriptHistoryResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.svc.ScriptHistory(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPath())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.ScriptHistoryResponse{Scripts: scriptsPB(list)}), nil
}

func (a scriptAPI) ArchiveScript(ctx context.Context, req *connect.Request[runletv1.ArchiveScriptRequest]) (*connect.Response[runletv1.ArchiveScriptResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := a.svc.ArchiveScript(ctx, p, workspace(m.GetWorkspace()), m.GetPath(), !m.GetUnarchive()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.ArchiveScriptResponse{}), nil
}

func (a scriptAPI) DeleteScript(ctx context.Context, req *connect.Request[runletv1.DeleteScriptRequest]) (*connect.Response[runletv1.DeleteScriptResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.DeleteScript(ctx, p, workspace(req.Msg.GetWorkspace()), req.Msg.GetPath()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.DeleteScriptResponse{}), nil
}

func (a scriptAPI) InferSchema(ctx context.Context, req *connect.Request[runletv1.InferSchemaRequest]) (*connect.Response[runletv1.InferSchemaResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	src := ScriptSource{Language: m.GetLanguage(), Content: m.GetContent()}
	if len(m.GetModule()) > 0 {
		src.ContentBase64 = base64.StdEncoding.EncodeToString(m.GetModule())
	}
	schema, err := a.svc.InferSchema(ctx, p, workspace(m.GetWorkspace()), m.GetPath(), src)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&runletv1.InferSchemaResponse{Schema: jsonStruct(schema)}), nil
}

// scriptPB converts a script version; full adds content, schema, lock and
// settings.
func scriptPB(sc *store.Script, full bool) *runletv1.Script {
	out := &runletv1.Script{
		Path: sc.Path, Hash: sc.Hash, ParentHash: sc.ParentHash, Language: sc.Language, Kind: sc.Kind,
		Summary: sc.Summary, Description: sc.Description, CreatedBy: sc.CreatedBy,
		CreatedAt: timestamp(sc.CreatedAt), Archived: sc.Archived,
	}
	if !full {
		return out
	}
	if sc.Language == scriptbuild.Wasm {
		out.Module = sc.Content
	} else {
		out.Content = text(string(sc.Content))
	}
	out.Schema, out.Lock = jsonStruct(sc.Schema), jsonValue(sc.Lock)
	set := sc.Settings
	out.Settings = &runletv1.ScriptSettings{
		Timeout: int32(set.Timeout / time.Second), MaxMemory: set.MaxMemory, AllowedHosts: set.AllowedHosts,
		AllowPrivate: set.AllowPrivate, Warm: set.Warm, Retry: retryPB(set.Retry),
		ConcurrentLimit: int32(set.ConcurrencyLimit), Entry: set.Entry,
	}
	return out
}

func scriptsPB(list []store.Script) []*runletv1.Script {
	out := make([]*runletv1.Script, len(list))
	for i := range list {
		out[i] = scriptPB(&list[i], false)
	}
	return out
}

func retryIn(r *runletv1.Retry) *store.Retry {
	if r == nil {
		return nil
	}
	out := &store.Retry{}
	if c := r.GetConstant(); c != nil {
		out.Constant = &store.ConstantRetry{Attempts: int(c.GetAttempts()), Seconds: int(c.GetSeconds())}
	}
	if x := r.GetExponential(); x != nil {
		out.Exponential = &store.ExponentialRetry{Attempts: int(x.GetAttempts()), Multiplier: int(x.GetMultiplier()),
			Seconds: int(x.GetSeconds()), RandomFactor: int(x.GetRandomFactor())}
	}
	return out
}

func retryPB(r *store.Retry) *runletv1.Retry {
	if r == nil {
		return nil
	}
	out := &runletv1.Retry{}
	if c := r.Constant; c != nil {
		out.Constant = &runletv1.ConstantRetry{Attempts: int32(c.Attempts), Seconds: int32(c.Seconds)}
	}
	if x := r.Exponential; x != nil {
		out.Exponential = &runletv1.ExponentialRetry{Attempts: int32(x.Attempts), Multiplier: int32(x.Multiplier),
			Seconds: int32(x.Seconds), RandomFactor: int32(x.RandomFactor)}
	}
	return out
}
