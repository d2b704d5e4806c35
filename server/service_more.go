package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/runlet/runlet/internal/scriptbuild"
	"github.com/runlet/runlet/internal/store"
)

// The service layer's calls for workspaces, whoami, archiving, deleting and
// schema inference, variables and resources, job queries and log
// following: the REST handlers and the Connect services both call these.

// Authenticate resolves a bearer token to the principal it acts as.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	return s.authenticate(ctx, token)
}

// WhoAmI returns the principal itself, when it belongs to ws.
func (s *Service) WhoAmI(p *Principal, ws string) (*Principal, error) {
	if p.Workspace != ws {
		return nil, errForbidden
	}
	return p, nil
}

// CreateWorkspace creates workspace id with an admin user named after the
// caller (or "admin" when the caller's name is not a user name, as with a
// service token) and returns the workspace, that user and a first admin
// token for it. Only admins of the default workspace may create
// workspaces.
func (s *Service) CreateWorkspace(ctx context.Context, p *Principal, id, name string) (*store.Workspace, *store.User, string, error) {
	if err := p.authorize(DefaultWorkspace, actAdmin, "workspaces", ""); err != nil {
		return nil, nil, "", err
	}
	if err := checkName("id", id); err != nil {
		return nil, nil, "", err
	}
	if name == "" {
		name = id
	}
	admin := p.User
	if checkName("user", admin) != nil {
		admin = "admin"
	}
	w, u, token, err := s.newWorkspace(ctx, id, name, admin, "admin (workspace created by "+p.User+")")
	if errors.Is(err, store.ErrConflict) {
		return nil, nil, "", errf(http.StatusConflict, "conflict", "workspace %q exists", id)
	}
	return w, u, token, err
}

// newWorkspace creates a workspace, its admin user and an admin token.
func (s *Service) newWorkspace(ctx context.Context, id, name, admin, label string) (*store.Workspace, *store.User, string, error) {
	now := time.Now().UTC()
	w := store.Workspace{ID: id, Name: name, CreatedAt: now}
	if err := s.st.CreateWorkspace(ctx, w); err != nil {
		return nil, nil, "", err
	}
	u := store.User{Workspace: id, Name: admin, Role: store.RoleAdmin, CreatedAt: now}
	if err := s.st.PutUser(ctx, u); err != nil {
		return nil, nil, "", err
	}
	token, hash := NewToken()
	t := store.Token{Hash: hash, Prefix: token[:TokenPrefixLen], Workspace: id, Owner: admin, Role: store.RoleAdmin, Label: label, CreatedAt: now}
	if err := s.st.PutToken(ctx, t); err != nil {
		return nil, nil, "", err
	}
	return &w, &u, token, nil
}

// ListWorkspaces lists every workspace to admins of the default
// workspace, and the caller's own workspace to everyone else.
func (s *Service) ListWorkspaces(ctx context.Context, p *Principal) ([]store.Workspace, error) {
	if p.authorize(DefaultWorkspace, actAdmin, "workspaces", "") == nil {
		return s.st.ListWorkspaces(ctx)
	}
	w, err := s.st.GetWorkspace(ctx, p.Workspace)
	if err != nil {
		return nil, err
	}
	return []store.Workspace{*w}, nil
}

// ArchiveScript hides a path from lists and runs by path (archived=true;
// its versions stay runnable by hash) or brings it back.
func (s *Service) ArchiveScript(ctx context.Context, p *Principal, ws, path string, archived bool) error {
	if err := checkPath("path", path); err != nil {
		return err
	}
	if err := p.authorize(ws, actWrite, "scripts", path); err != nil {
		return err
	}
	if err := s.st.ArchiveScript(ctx, ws, path, archived); errors.Is(err, store.ErrNotFound) {
		return notFound("no script at %q", path)
	} else if err != nil {
		return err
	}
	return nil
}

// DeleteScript deletes every version of a path. Jobs already queued for
// one of its versions fail with ScriptNotFound.
func (s *Service) DeleteScript(ctx context.Context, p *Principal, ws, path string) error {
	if err := checkPath("path", path); err != nil {
		return err
	}
	if err := p.authorize(ws, actWrite, "scripts", path); err != nil {
		return err
	}
	if err := s.st.DeleteScript(ctx, ws, path); errors.Is(err, store.ErrNotFound) {
		return notFound("no script at %q", path)
	} else if err != nil {
		return err
	}
	return nil
}

// InferSchema returns the JSON Schema of a script's main parameters, as
// CreateScript would store it, without building or storing anything. path
// is optional (it names the file in errors and narrows scoped tokens).
func (s *Service) InferSchema(ctx context.Context, p *Principal, ws, path string, src ScriptSource) (json.RawMessage, error) {
	if path != "" {
		if err := checkPath("path", path); err != nil {
			return nil, err
		}
	}
	if err := p.authorize(ws, actRead, "scripts", path); err != nil {
		return nil, err
	}
	lang, content, err := src.decode()
	if err != nil {
		return nil, err
	}
	if path == "" {
		path = "f/infer/main"
	}
	schema, _, err := scriptbuild.Schema(lang, pathFile(path, lang), content, nil)
	if err != nil {
		return nil, invalid("content", "%v", err)
	}
	return json.Marshal(schema)
}

// GetVariable returns a variable, its secret value decrypted.
func (s *Service) GetVariable(ctx context.Context, p *Principal, ws, path string) (*store.Variable, error) {
	if err := p.authorize(ws, actRead, "variables", path); err != nil {
		return nil, err
	}
	v, err := s.st.GetVariable(ctx, ws, path)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no variable at %q", path)
	}
	return v, err
}

// ListVariables lists variables under prefix, secret values left empty.
func (s *Service) ListVariables(ctx context.Context, p *Principal, ws, prefix string) ([]store.Variable, error) {
	if err := p.authorize(ws, actRead, "variables", ""); err != nil {
		return nil, err
	}
	list, err := s.st.ListVariables(ctx, ws, prefix)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Secret {
			list[i].Value = ""
		}
	}
	return list, nil
}

// DeleteVariable deletes a variable.
func (s *Service) DeleteVariable(ctx context.Context, p *Principal, ws, path string) error {
	if err := p.authorize(ws, actWrite, "variables", path); err != nil {
		return err
	}
	return s.st.DeleteVariable(ctx, ws, path)
}

// ResourceInput is a resource to create.
type ResourceInput struct {
	Path        string          `json:"path"`
	Value       json.RawMessage `json:"value"`
	Type        string          `json:"resource_type"`
	Description string          `json:"description"`
}

// CreateResource stores a resource; an existing one at the path is a 409
// unless replace.
func (s *Service) CreateResource(ctx context.Context, p *Principal, ws string, in ResourceInput, replace bool) error {
	if err := checkPath("path", in.Path); err != nil {
		return err
	}
	if err := p.authorize(ws, actWrite, "resources", in.Path); err != nil {
		return err
	}
	if len(in.Value) == 0 {
		return invalid("value", "value: required")
	}
	if len(in.Value) > MaxValueBytes {
		return invalid("value", "value: over the %d-byte limit", MaxValueBytes)
	}
	if in.Type == "" {
		return invalid("resource_type", "resource_type: required")
	}
	if _, err := s.st.GetResource(ctx, ws, in.Path); err == nil && !replace {
		return errf(http.StatusConflict, "conflict", "resource %q exists (pass update_if_exists=true)", in.Path)
	}
	res := store.Resource{Workspace: ws, Path: in.Path, Type: in.Type, Value: in.Value, Description: in.Description, UpdatedAt: time.Now().UTC()}
	return s.st.PutResource(ctx, res)
}

// GetResource returns a resource.
func (s *Service) GetResource(ctx context.Context, p *Principal, ws, path string) (*store.Resource, error) {
	if err := p.authorize(ws, actRead, "resources", path); err != nil {
		return nil, err
	}
	res, err := s.st.GetResource(ctx, ws, path)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no resource at %q", path)
	}
	return res, err
}

// ListResources lists resources under prefix.
func (s *Service) ListResources(ctx context.Context, p *Principal, ws, prefix string) ([]store.Resource, error) {
	if err := p.authorize(ws, actRead, "resources", ""); err != nil {
		return nil, err
	}
	return s.st.ListResources(ctx, ws, prefix)
}

// DeleteResource deletes a resource.
func (s *Service) DeleteResource(ctx context.Context, p *Principal, ws, path string) error {
	if err := p.authorize(ws, actWrite, "resources", path); err != nil {
		return err
	}
	return s.st.DeleteResource(ctx, ws, path)
}

// MaxJobsPage bounds a page of ListJobs.
const MaxJobsPage = 1000

// JobQuery is a job list request: zero fields match everything.
type JobQuery struct {
	ScriptPath   string // exact
	PathPrefix   string
	SchedulePath string
	ParentJob    string
	Success      *bool // true: succeeded; false: failed or canceled
	Running      bool  // only running jobs (wins over Success)
	Limit        int   // 1 to MaxJobsPage; 0: 100
	Before       string
}

// Filter validates q and returns the store filter for workspace ws.
func (q JobQuery) Filter(ws string) (store.JobFilter, error) {
	if q.Limit < 0 || q.Limit > MaxJobsPage {
		return store.JobFilter{}, invalid("per_page", "per_page: want 1 to %d", MaxJobsPage)
	}
	f := store.JobFilter{Workspace: ws, ScriptPath: q.ScriptPath, PathPrefix: q.PathPrefix,
		SchedulePath: q.SchedulePath, ParentJob: q.ParentJob, Before: q.Before, Limit: q.Limit}
	switch {
	case q.Running:
		f.Status = []string{store.StatusRunning}
	case q.Success == nil:
	case *q.Success:
		f.Status = []string{store.StatusSuccess, store.StatusSkipped}
	default:
		f.Status = []string{store.StatusFailure, store.StatusCanceled}
	}
	return f, nil
}

// followPoll is how often FollowLogs looks for log text without being
// woken (logs appended by another process, a retry's attempt).
const followPoll = time.Second

// FollowLogs calls send with a job's log text from offset as the store
// receives it, and returns after the job finished: the last call carries
// the finished job (done is nil before). opened, when not nil, is called
// once the job was found readable, before any text (a stream sends its
// headers then). It returns early when ctx ends, or with a 503 when the
// server shuts down (the caller resumes from the last offset it got).
func (s *Service) FollowLogs(ctx context.Context, p *Principal, ws, id string, offset int, opened func() error, send func(text []byte, offset int, done *store.Job) error) error {
	if offset < 0 {
		return invalid("offset", "offset: must not be negative")
	}
	if _, err := s.GetJob(ctx, p, ws, id); err != nil {
		return err
	}
	if opened != nil {
		if err := opened(); err != nil {
			return err
		}
	}
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		ch := s.subscribe(id)
		// The job before its logs: logs are stored before a job finishes,
		// so when it was done, the text read next is complete.
		j, err := s.st.GetJob(ctx, ws, id)
		if err == nil {
			var b []byte
			if b, err = s.st.Logs(ctx, id, offset); err == nil {
				offset += len(b)
				switch {
				case j.Done():
					s.unsubscribe(id, ch)
					return send(b, offset, j)
				case len(b) > 0:
					err = send(b, offset, nil)
				}
			}
		}
		if err != nil {
			s.unsubscribe(id, ch)
			return err
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-ctx.Done():
			s.unsubscribe(id, ch)
			return ctx.Err()
		case <-s.streamsEnd:
			s.unsubscribe(id, ch)
			return errf(http.StatusServiceUnavailable, "unavailable", "the server is shutting down")
		}
		s.unsubscribe(id, ch)
	}
}

// expiresIn is a token lifetime given in seconds (0: never).
func expiresIn(secs int64) (time.Duration, error) {
	switch {
	case secs < 0:
		return 0, invalid("expires_in", "expires_in: must not be negative")
	case secs > int64(100*365*24*time.Hour/time.Second):
		return 0, invalid("expires_in", "expires_in: at most 100 years") // beyond, a Duration overflows
	}
	return time.Duration(secs) * time.Second, nil
}

// endStreams ends every FollowLogs call (at shutdown); one started later
// ends at its first wait.
func (s *Service) endStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.streamsEnd:
	default:
		close(s.streamsEnd)
	}
}
