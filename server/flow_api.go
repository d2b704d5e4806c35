package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/runlet/runlet/internal/flow"
	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/internal/scriptbuild"
	"github.com/runlet/runlet/internal/store"
)

// FlowWarning is a problem in a pushed flow that did not stop it (an
// unknown field, a script path that does not exist yet).
type FlowWarning = flow.Warning

// flowOptions are the parser's limits from the server's configuration.
func (s *Service) flowOptions() flow.Options {
	return flow.Options{MaxModules: s.cfg.FlowMaxModules, MaxWhileIterations: s.cfg.FlowMaxIterations}
}

// CreateFlow validates a flow document (OpenFlow, JSON or YAML), builds
// its inline scripts and stores it as the path's next version. A document
// identical to the latest version returns that version.
func (s *Service) CreateFlow(ctx context.Context, p *Principal, ws, path string, doc []byte) (*store.Flow, []FlowWarning, error) {
	if err := checkPath("path", path); err != nil {
		return nil, nil, err
	}
	if err := p.authorize(ws, actWrite, "flows", path); err != nil {
		return nil, nil, err
	}
	f, warns, err := flow.Parse(doc, s.flowOptions())
	if err != nil {
		var fe *flow.Error
		if errors.As(err, &fe) {
			field := fe.Field
			if fe.Module != "" {
				field = "module " + fe.Module + ": " + fe.Field
			}
			return nil, nil, invalid(field, "invalid flow: %s", fe.Error())
		}
		return nil, nil, invalid("value", "invalid flow: %v", err)
	}
	if len(f.Schema) > 0 {
		var sch jsonschema.Schema
		if err := json.Unmarshal(f.Schema, &sch); err != nil {
			return nil, nil, invalid("schema", "schema: %v", err)
		}
	}
	rec := store.Flow{
		Workspace: ws, Path: path, Summary: f.Summary, Description: f.Description, Schema: f.Schema,
		Steps: map[string]string{}, CreatedBy: p.User, CreatedAt: time.Now().UTC(),
	}
	// Inline scripts become script versions (by hash, at <flow path>/<id>).
	var buildErr error
	all := append([]flow.Module(nil), f.Value.Modules...)
	if f.Value.FailureModule != nil {
		all = append(all, *f.Value.FailureModule)
	}
	flow.Walk(all, func(m *flow.Module, _ string) bool {
		switch m.Value.Type {
		case flow.TypeRawScript:
			h, err := s.storeInlineScript(ctx, p, ws, path, m)
			if err != nil {
				buildErr = err
				return false
			}
			rec.Steps[m.ID] = h
		case flow.TypeScript:
			if m.Value.Hash == "" {
				if _, err := s.st.GetScript(ctx, ws, m.Value.Path); err != nil {
					warns = append(warns, flow.Warning{Field: "value.path", Message: fmt.Sprintf("module %q: no script at %q yet (runs will fail until there is one)", m.ID, m.Value.Path)})
				}
			} else if _, err := s.st.GetScriptByHash(ctx, ws, m.Value.Hash); err != nil {
				warns = append(warns, flow.Warning{Field: "value.hash", Message: fmt.Sprintf("module %q: no script version %s", m.ID, m.Value.Hash)})
			}
		case flow.TypeFlow:
			if m.Value.Path == path {
				buildErr = invalid("module "+m.ID+": value.path", "invalid flow: module %q: value.path: a flow cannot run itself", m.ID)
				return false
			}
		}
		return true
	})
	if buildErr != nil {
		return nil, nil, buildErr
	}
	def, err := json.Marshal(f)
	if err != nil {
		return nil, nil, err
	}
	rec.Definition = def
	if cur, err := s.st.GetFlow(ctx, ws, path, 0); err == nil && bytes.Equal(cur.Definition, def) {
		return cur, warns, nil
	}
	if err := s.st.CreateFlow(ctx, &rec); err != nil {
		return nil, nil, err
	}
	return &rec, warns, nil
}

// storeInlineScript builds a rawscript module and stores it as a script
// version; it returns the hash.
func (s *Service) storeInlineScript(ctx context.Context, p *Principal, ws, flowPath string, m *flow.Module) (string, error) {
	field := "module " + m.ID + ": value.content"
	lang := scriptbuild.Normalize(m.Value.Language)
	if lang == "" || lang == scriptbuild.Wasm {
		return "", invalid("module "+m.ID+": value.language", "invalid flow: module %q: value.language %q: want go, typescript or javascript", m.ID, m.Value.Language)
	}
	content := []byte(m.Value.Content)
	if len(content) > MaxScriptBytes {
		return "", invalid(field, "invalid flow: module %q: value.content: %d bytes, over the %d-byte limit", m.ID, len(content), MaxScriptBytes)
	}
	spath := flowPath + "/" + m.ID
	file := pathFile(spath, lang)
	schema, params, err := scriptbuild.Schema(lang, file, content, nil)
	if err != nil {
		return "", invalid(field, "invalid flow: module %q: value.content: %v", m.ID, err)
	}
	built, err := s.builder.Build(ctx, lang, file, content, nil, params)
	if err != nil {
		e := buildError(err)
		var se *Error
		if errors.As(e, &se) {
			se.Field = field
			se.Message = fmt.Sprintf("invalid flow: module %q: %s", m.ID, se.Message)
		}
		return "", e
	}
	schemaJSON, err := json.Marshal(schema)
	if err != nil {
		return "", err
	}
	kind := "script"
	if m.Value.IsTrigger {
		kind = "trigger"
	}
	sc := store.Script{
		Workspace: ws, Path: spath, Language: lang, Kind: kind, Content: content, Schema: schemaJSON,
		Lock: built.Lock, Settings: store.ScriptSettings{ConcurrencyLimit: m.Value.ConcurrentLimit},
		CreatedBy: p.User, CreatedAt: time.Now().UTC(),
	}
	sc.Hash = scriptHash(&sc)
	if err := s.st.PutScriptVersion(ctx, sc); err != nil {
		return "", err
	}
	s.cacheBuilt(ws, sc.Hash, built, schema)
	return sc.Hash, nil
}

// GetFlow returns a flow's latest version, or version v.
func (s *Service) GetFlow(ctx context.Context, p *Principal, ws, path string, v int64) (*store.Flow, error) {
	if err := p.authorize(ws, actRead, "flows", path); err != nil {
		return nil, err
	}
	f, err := s.st.GetFlow(ctx, ws, path, v)
	if errors.Is(err, store.ErrNotFound) {
		if v > 0 {
			return nil, notFound("no version %d of flow %q", v, path)
		}
		return nil, notFound("no flow at %q", path)
	}
	return f, err
}

// ListFlows lists the latest version of each flow under prefix.
func (s *Service) ListFlows(ctx context.Context, p *Principal, ws, prefix string) ([]store.Flow, error) {
	if err := p.authorize(ws, actRead, "flows", ""); err != nil && len(p.Scopes) == 0 {
		return nil, err
	}
	all, err := s.st.ListFlows(ctx, ws, prefix)
	if err != nil {
		return nil, err
	}
	return visible(p, ws, "flows", all, func(f *store.Flow) string { return f.Path }), nil
}

// FlowHistory lists a flow's versions, newest first.
func (s *Service) FlowHistory(ctx context.Context, p *Principal, ws, path string) ([]store.Flow, error) {
	if err := p.authorize(ws, actRead, "flows", path); err != nil {
		return nil, err
	}
	h, err := s.st.FlowHistory(ctx, ws, path)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no flow at %q", path)
	}
	return h, err
}

// ArchiveFlow hides a flow from runs and lists (or shows it again).
func (s *Service) ArchiveFlow(ctx context.Context, p *Principal, ws, path string, archived bool) error {
	if err := p.authorize(ws, actWrite, "flows", path); err != nil {
		return err
	}
	err := s.st.ArchiveFlow(ctx, ws, path, archived)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no flow at %q", path)
	}
	return err
}

// DeleteFlow deletes every version of a flow (its past runs stay).
func (s *Service) DeleteFlow(ctx context.Context, p *Principal, ws, path string) error {
	if err := p.authorize(ws, actWrite, "flows", path); err != nil {
		return err
	}
	err := s.st.DeleteFlow(ctx, ws, path)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no flow at %q", path)
	}
	return err
}

// flowSchema is a flow version's input schema (nil: none declared).
func flowSchema(f *store.Flow) *jsonschema.Schema {
	if len(f.Schema) == 0 {
		return nil
	}
	var sch jsonschema.Schema
	if json.Unmarshal(f.Schema, &sch) != nil {
		return nil
	}
	return &sch
}

// runFlow queues a flow run (Run with req.Flow).
func (s *Service) runFlow(ctx context.Context, p *Principal, ws string, req RunRequest) (*store.Job, error) {
	if err := checkPath("path", req.Path); err != nil {
		if p.authorize(ws, actRun, "flows", req.Path) != nil {
			return nil, errForbidden
		}
		return nil, err
	}
	if err := p.authorize(ws, actRun, "flows", req.Path); err != nil {
		return nil, err
	}
	f, err := s.st.GetFlow(ctx, ws, req.Path, req.FlowVersion)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no flow at %q", req.Path)
	} else if err != nil {
		return nil, err
	}
	schema := flowSchema(f)
	if err := coerceStrings(schema, &req); err != nil {
		return nil, err
	}
	args, err := declaredArgs(schema, req.Args)
	if err != nil {
		return nil, err
	}
	if n, err := s.st.QueueDepth(ctx); err != nil {
		return nil, err
	} else if limit := s.queueLimit(req); n >= limit {
		return nil, errf(http.StatusTooManyRequests, "queue_full", "the queue holds %d jobs (limit %d); try again later", n, limit)
	}
	id := req.JobID
	if id == "" {
		v, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		id = v.String()
	} else if _, err := uuid.Parse(id); err != nil {
		return nil, invalid("job_id", "job_id %q is not a UUID", id)
	}
	now := time.Now().UTC()
	j := store.Job{
		ID: id, Workspace: ws, ScriptPath: f.Path, Kind: store.JobKindFlow, FlowVersion: f.Version, Language: "flow",
		Args: args, Status: store.StatusQueued, Priority: req.Priority, Trigger: req.Trigger,
		SchedulePath: req.SchedulePath, CreatedBy: p.User, CreatedAt: now, ScheduledFor: now,
	}
	if !req.ScheduledFor.IsZero() && (req.ScheduledFor.After(now) || req.Trigger == triggerSchedule) {
		j.ScheduledFor = req.ScheduledFor.UTC()
	}
	if par := req.Parent; par != nil {
		j.ParentJob, j.RootJob, j.Depth, j.StepID = par.ID, par.RootJob, par.Depth+1, req.StepID
		if j.RootJob == "" {
			j.RootJob = par.ID
		}
		if j.Depth > s.cfg.MaxDepth {
			return nil, errf(http.StatusBadRequest, "max_depth", "child job depth %d exceeds the limit of %d (a flow running itself?)", j.Depth, s.cfg.MaxDepth)
		}
	}
	if req.Sync {
		s.mu.Lock()
		s.syncJobs[j.ID] = true
		s.mu.Unlock()
	}
	// A flow run is always fsync'd: its orchestration must survive a crash.
	if err := s.st.Enqueue(ctx, j, true); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errf(http.StatusConflict, "conflict", "a job with id %s exists", id)
		}
		return nil, err
	}
	s.met.accept(req)
	s.poke()
	return &j, nil
}
