package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/runlet/runlet/internal/gobuild"
	"github.com/runlet/runlet/internal/jsbuild"
	"github.com/runlet/runlet/internal/jsonschema"
	"github.com/runlet/runlet/internal/scriptbuild"
	"github.com/runlet/runlet/internal/store"
	"github.com/runlet/runlet/runtime"
)

// Service is runlet's service layer: every trigger (REST, webhooks, the
// Connect API, schedules) calls these methods, so no rule lives twice.
type Service struct {
	cfg     Config
	st      store.Store
	eng     *runtime.Engine
	builder *scriptbuild.Builder
	log     *slog.Logger
	met     *metrics        // nil: not recorded (set by New)
	sched   *scheduler      // schedules (StartScheduler, StopScheduler)
	owner   string          // this process, as lease owner
	root    context.Context // the runners' lifetime (Start's ctx)

	mu      sync.Mutex
	built   map[string]*builtScript // by workspace/hash
	waiters map[string][]chan struct{}
	running map[string]*runningJob
	// syncJobs are jobs a caller waits for: their end is not fsync'd.
	syncJobs map[string]bool
	// concurrent counts running jobs per workspace/path with a limit.
	concurrent map[string]int
	wake       chan struct{}
	closing    bool
	expr       exprEngine     // flow expressions' evaluator
	bg         sync.WaitGroup // the runners and the retention loop
	// suspended are the jobs waiting for approvals, by id.
	suspended map[string]*suspension
	resumeKey []byte
	// streamsEnd is closed at shutdown: open log streams end (FollowLogs).
	streamsEnd chan struct{}
}

// builtScript is a script version ready to run, built once.
type builtScript struct {
	once   sync.Once
	built  *scriptbuild.Built
	schema *jsonschema.Schema
	err    error
}

// NewService returns the service over st, running jobs on eng.
func NewService(cfg Config, st store.Store, eng *runtime.Engine) *Service {
	cfg = cfg.withDefaults()
	s := &Service{
		cfg:        cfg,
		st:         st,
		eng:        eng,
		builder:    &scriptbuild.Builder{CacheDir: cfg.CacheDir, NPMRegistry: cfg.NPMRegistry},
		log:        cfg.Logger,
		owner:      uuid.NewString(),
		built:      map[string]*builtScript{},
		waiters:    map[string][]chan struct{}{},
		running:    map[string]*runningJob{},
		syncJobs:   map[string]bool{},
		concurrent: map[string]int{},
		wake:       make(chan struct{}, 1),
		streamsEnd: make(chan struct{}),
	}
	s.sched = newScheduler(s)
	s.suspended = map[string]*suspension{}
	key, err := loadResumeKey(cfg)
	if err != nil {
		s.log.Error("resume key unusable; using a random one (resume URLs die with this process)", "err", err)
		key, _ = loadResumeKey(Config{})
	}
	s.resumeKey = key
	return s
}

// NewScript is a script version to create (Windmill's NewScript plus
// runlet's settings).
type NewScript struct {
	Path          string          `json:"path"`
	ParentHash    string          `json:"parent_hash,omitempty"`
	Content       string          `json:"content"`
	ContentBase64 string          `json:"content_base64,omitempty"` // .wasm plugins
	Language      string          `json:"language"`
	Kind          string          `json:"kind,omitempty"`
	Summary       string          `json:"summary,omitempty"`
	Description   string          `json:"description,omitempty"`
	Schema        json.RawMessage `json:"schema,omitempty"`  // used for wasm plugins only
	Timeout       int             `json:"timeout,omitempty"` // seconds
	MaxMemory     int64           `json:"max_memory,omitempty"`
	AllowedHosts  []string        `json:"allowed_hosts,omitempty"`
	AllowPrivate  bool            `json:"allow_private,omitempty"`
	Warm          bool            `json:"warm,omitempty"`
	Retry         *store.Retry    `json:"retry,omitempty"`
	Concurrency   int             `json:"concurrent_limit,omitempty"`
	Entry         string          `json:"entry,omitempty"`
}

// MaxScriptBytes bounds a script's source.
const MaxScriptBytes = 8 << 20

// CreateScript validates, builds and stores a new version of a script. A
// push identical to the latest version returns that version.
func (s *Service) CreateScript(ctx context.Context, p *Principal, ws string, in NewScript) (*store.Script, error) {
	if err := checkPath("path", in.Path); err != nil {
		return nil, err
	}
	if err := p.authorize(ws, actWrite, "scripts", in.Path); err != nil {
		return nil, err
	}
	lang, content, err := ScriptSource{in.Language, in.Content, in.ContentBase64}.decode()
	if err != nil {
		return nil, err
	}
	kind := in.Kind
	switch kind {
	case "":
		kind = "script"
	case "script", "trigger":
	default:
		return nil, invalid("kind", "kind %q: want script or trigger", in.Kind)
	}
	if in.Timeout < 0 {
		return nil, invalid("timeout", "timeout: must not be negative")
	}
	if in.Entry != "" && lang != scriptbuild.Wasm {
		return nil, invalid("entry", "entry applies to wasm (Extism) plugins only")
	}
	set := store.ScriptSettings{
		Timeout: time.Duration(in.Timeout) * time.Second, MaxMemory: in.MaxMemory,
		AllowedHosts: in.AllowedHosts, AllowPrivate: in.AllowPrivate, Warm: in.Warm,
		Retry: in.Retry, ConcurrencyLimit: in.Concurrency, Entry: in.Entry,
	}
	if err := s.limits(set).Validate(); err != nil {
		return nil, invalid("max_memory", "%v", err)
	}
	if err := checkRetry(in.Retry); err != nil {
		return nil, err
	}
	file := pathFile(in.Path, lang)
	schema, params, err := scriptbuild.Schema(lang, file, content, in.Schema)
	if err != nil {
		return nil, invalid("content", "%v", err)
	}
	built, err := s.builder.Build(ctx, lang, file, content, nil, params)
	if err != nil {
		return nil, buildError(err)
	}
	schemaJSON, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	sc := store.Script{
		Workspace: ws, Path: in.Path, ParentHash: in.ParentHash, Language: lang, Kind: kind,
		Content: content, Summary: in.Summary, Description: in.Description, Schema: schemaJSON,
		Lock: built.Lock, Settings: set, CreatedBy: p.User, CreatedAt: time.Now().UTC(),
	}
	sc.Hash = scriptHash(&sc)
	if latest, err := s.st.GetScript(ctx, ws, in.Path); err == nil && latest.Hash == sc.Hash {
		return latest, nil
	}
	if err := s.st.CreateScript(ctx, sc); err != nil {
		return nil, err
	}
	s.cacheBuilt(ws, sc.Hash, built, schema)
	return &sc, nil
}

// ScriptSource is a script's language and source as a request gives
// them: text in Content, or a binary (a .wasm module) in ContentBase64.
type ScriptSource struct {
	Language      string
	Content       string
	ContentBase64 string
}

// decode validates the language and the source's size and returns the
// normalized language and the source bytes.
func (src ScriptSource) decode() (lang string, content []byte, err error) {
	lang = scriptbuild.Normalize(src.Language)
	if lang == "" {
		return "", nil, invalid("language", "language %q is not supported (go, typescript, javascript, wasm; also bun, deno, nativets)", src.Language)
	}
	content = []byte(src.Content)
	if src.ContentBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(src.ContentBase64)
		if err != nil {
			return "", nil, invalid("content_base64", "content_base64: %v", err)
		}
		content = b
	}
	if len(content) == 0 {
		return "", nil, invalid("content", "content: the script is empty")
	}
	if len(content) > MaxScriptBytes {
		return "", nil, invalid("content", "content: %d bytes, over the %d-byte limit", len(content), MaxScriptBytes)
	}
	return lang, content, nil
}

// scriptHash is 16 hex characters of SHA-256 over everything that affects
// execution: path, language, kind, source, pinned dependencies, settings
// and (for plugins) the schema.
func scriptHash(sc *store.Script) string {
	doc, _ := json.Marshal(struct {
		Path     string               `json:"p"` // state and child jobs depend on it
		Lang     string               `json:"l"`
		Kind     string               `json:"k"`
		Content  []byte               `json:"c"`
		Lock     json.RawMessage      `json:"d,omitempty"`
		Settings store.ScriptSettings `json:"s"`
		Schema   json.RawMessage      `json:"a,omitempty"`
	}{sc.Path, sc.Language, sc.Kind, sc.Content, sc.Lock, sc.Settings, sc.Schema})
	h := sha256.Sum256(doc)
	return hex.EncodeToString(h[:8])
}

func checkRetry(r *store.Retry) error {
	if r == nil {
		return nil
	}
	if c := r.Constant; c != nil && (c.Attempts < 0 || c.Attempts > 100 || c.Seconds < 0) {
		return invalid("retry", "retry.constant: attempts 0–100, seconds ≥ 0")
	}
	if x := r.Exponential; x != nil && (x.Attempts < 0 || x.Attempts > 100 || x.Seconds < 0 || x.Multiplier < 0 || x.RandomFactor < 0 || x.RandomFactor > 100) {
		return invalid("retry", "retry.exponential: attempts 0–100, seconds and multiplier ≥ 0, random_factor 0–100")
	}
	return nil
}

// pathFile is the file name a script's errors are reported under.
func pathFile(p, lang string) string { return p + scriptbuild.Ext(lang) }

// buildError reports a script that does not build as a 400 naming content.
func buildError(err error) error {
	var be *gobuild.BuildError
	var je *jsbuild.Error
	switch {
	case errors.As(err, &be):
		return invalid("content", "build failed: %s", be.Message)
	case errors.As(err, &je):
		return invalid("content", "build failed: %s", je.Error())
	}
	return invalid("content", "build failed: %v", err)
}

// limits is the runtime limits of a script: its settings over the
// server's defaults.
func (s *Service) limits(set store.ScriptSettings) runtime.Limits {
	l := s.cfg.Limits
	if set.Timeout > 0 {
		l.Timeout = set.Timeout
	}
	if set.MaxMemory > 0 {
		l.MaxMemory = set.MaxMemory
	}
	l.AllowedHosts = set.AllowedHosts
	l.AllowPrivate = set.AllowPrivate
	l.Env = set.Env
	return l
}

func (s *Service) cacheBuilt(ws, hash string, b *scriptbuild.Built, schema *jsonschema.Schema) {
	bs := &builtScript{built: b, schema: schema}
	bs.once.Do(func() {})
	s.mu.Lock()
	s.built[ws+"/"+hash] = bs
	s.mu.Unlock()
}

// prepared returns a script version built (once per process).
func (s *Service) prepared(ctx context.Context, sc *store.Script) (*builtScript, error) {
	key := sc.Workspace + "/" + sc.Hash
	s.mu.Lock()
	bs, ok := s.built[key]
	if !ok {
		bs = &builtScript{}
		s.built[key] = bs
	}
	s.mu.Unlock()
	bs.once.Do(func() {
		file := pathFile(sc.Path, sc.Language)
		schema, params, err := scriptbuild.Schema(sc.Language, file, sc.Content, sc.Schema)
		if err != nil {
			bs.err = err
			return
		}
		bs.schema = schema
		bs.built, bs.err = s.builder.Build(ctx, sc.Language, file, sc.Content, sc.Lock, params)
	})
	if bs.err != nil {
		s.mu.Lock()
		delete(s.built, key) // a later run may succeed (e.g. the registry is back)
		s.mu.Unlock()
	}
	return bs, bs.err
}

// GetScript returns the latest version at a path, or the version with hash.
func (s *Service) GetScript(ctx context.Context, p *Principal, ws, path, hash string) (*store.Script, error) {
	if hash != "" {
		sc, err := s.st.GetScriptByHash(ctx, ws, hash)
		if err != nil {
			if len(p.Scopes) > 0 {
				return nil, errForbidden
			}
			return nil, notFound("script version %q not found", hash)
		}
		if err := p.authorize(ws, actRead, "scripts", sc.Path); err != nil {
			return nil, err
		}
		return sc, nil
	}
	if err := p.authorize(ws, actRead, "scripts", path); err != nil {
		return nil, err
	}
	sc, err := s.st.GetScript(ctx, ws, path)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no script at %q", path)
	}
	return sc, err
}

// ListScripts lists the latest version of each script under prefix.
func (s *Service) ListScripts(ctx context.Context, p *Principal, ws, prefix string) ([]store.Script, error) {
	if err := p.authorize(ws, actRead, "scripts", ""); err != nil && len(p.Scopes) == 0 {
		return nil, err
	}
	all, err := s.st.ListScripts(ctx, ws, prefix)
	if err != nil {
		return nil, err
	}
	return visible(p, ws, "scripts", all, func(sc *store.Script) string { return sc.Path }), nil
}

// ScriptHistory lists a path's versions, newest first.
func (s *Service) ScriptHistory(ctx context.Context, p *Principal, ws, path string) ([]store.Script, error) {
	if err := p.authorize(ws, actRead, "scripts", path); err != nil {
		return nil, err
	}
	return s.st.ScriptHistory(ctx, ws, path)
}

// RunRequest is one request to run a script.
type RunRequest struct {
	Path         string // latest version at Path, or
	Hash         string // this version
	Args         map[string]any
	Strings      map[string]string // form fields and query values: coerced by the schema
	JobID        string            // client-chosen id (UUID); duplicate → 409
	ScheduledFor time.Time         // not before (a schedule's tick: kept even when past)
	Sync         bool              // the caller waits: no fsync before running
	QueueLimit   int               // refuse when more than this many are queued
	Trigger      string            // api, webhook, cli, schedule, child
	SchedulePath string
	Priority     int
	Parent       *store.Job   // child jobs
	Retry        *store.Retry // overrides the script's retry policy (a schedule's)
	// Flow runs the flow at Path (version FlowVersion, 0: the latest).
	Flow        bool
	FlowVersion int64
	StepID      string        // a flow's child job: the module it runs
	FlowPath    string        // a flow's child job: the flow
	Timeout     time.Duration // overrides the script's timeout
	Task        string        // workflow-as-code task (Args["args"] are its arguments)
}

// queueLimit is the queue length beyond which req is refused.
func (s *Service) queueLimit(req RunRequest) int {
	limit := s.cfg.QueueLimit
	if req.QueueLimit > 0 && req.QueueLimit < limit {
		limit = req.QueueLimit
	}
	return limit
}

// Run validates a run request and queues the job.
func (s *Service) Run(ctx context.Context, p *Principal, ws string, req RunRequest) (*store.Job, error) {
	if req.Flow {
		return s.runFlow(ctx, p, ws, req)
	}
	var sc *store.Script
	var err error
	if req.Hash != "" {
		sc, err = s.st.GetScriptByHash(ctx, ws, req.Hash)
		if err != nil {
			if len(p.Scopes) > 0 || p.Workspace != ws {
				return nil, errForbidden
			}
			return nil, notFound("script version %q not found", req.Hash)
		}
		if err := p.authorize(ws, actRun, "scripts", sc.Path); err != nil {
			return nil, err
		}
	} else {
		if err := checkPath("path", req.Path); err != nil {
			if p.authorize(ws, actRun, "scripts", req.Path) != nil {
				return nil, errForbidden
			}
			return nil, err
		}
		if err := p.authorize(ws, actRun, "scripts", req.Path); err != nil {
			return nil, err
		}
		sc, err = s.st.GetScript(ctx, ws, req.Path)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("no script at %q", req.Path)
		} else if err != nil {
			return nil, err
		}
	}
	bs, err := s.prepared(ctx, sc)
	if err != nil {
		return nil, errf(http.StatusInternalServerError, "build_failed", "script %s (%s) does not build: %v", sc.Path, sc.Hash, err)
	}
	if err := coerceStrings(bs.schema, &req); err != nil {
		return nil, err
	}
	var args json.RawMessage
	if req.Task != "" {
		// A task's arguments are the task function's, not main's.
		args, err = json.Marshal(map[string]any{"args": req.Args["args"]})
		if err != nil {
			return nil, invalid("args", "task arguments: %v", err)
		}
	} else if args, err = declaredArgs(bs.schema, req.Args); err != nil {
		return nil, err
	}
	limit := s.queueLimit(req)
	if n, err := s.st.QueueDepth(ctx); err != nil {
		return nil, err
	} else if n >= limit {
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
		ID: id, Workspace: ws, ScriptPath: sc.Path, ScriptHash: sc.Hash, Language: sc.Language,
		Args: args, Status: store.StatusQueued, Priority: req.Priority, Trigger: req.Trigger,
		SchedulePath: req.SchedulePath, CreatedBy: p.User, CreatedAt: now, ScheduledFor: now,
		Retry: req.Retry, StepID: req.StepID, FlowPath: req.FlowPath, Timeout: req.Timeout, Task: req.Task,
	}
	// A schedule's job records its tick (the intended instant), even late.
	if !req.ScheduledFor.IsZero() && (req.ScheduledFor.After(now) || req.Trigger == triggerSchedule) {
		j.ScheduledFor = req.ScheduledFor.UTC()
	}
	if par := req.Parent; par != nil {
		j.ParentJob, j.RootJob, j.Depth = par.ID, par.RootJob, par.Depth+1
		if j.RootJob == "" {
			j.RootJob = par.ID
		}
		if j.Depth > s.cfg.MaxDepth {
			return nil, errf(http.StatusBadRequest, "max_depth", "child job depth %d exceeds the limit of %d (recursive RunScript?)", j.Depth, s.cfg.MaxDepth)
		}
	}
	// A flow step's or a task's job is not fsync'd when queued: if a crash
	// loses it, its parent's replay queues it again (same id). Its end is
	// fsync'd only under step_fsync (it then survives a power loss, not
	// only a process crash).
	child := req.StepID != "" || req.Task != ""
	if req.Sync || (child && !s.cfg.stepFsync()) {
		s.mu.Lock()
		s.syncJobs[j.ID] = true
		s.mu.Unlock()
	}
	if err := s.st.Enqueue(ctx, j, !req.Sync && !child); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errf(http.StatusConflict, "conflict", "a job with id %s exists", id)
		}
		return nil, err
	}
	s.met.accept(req)
	s.poke()
	return &j, nil
}

// runKind is what running a job's target is authorized as.
func runKind(j *store.Job) string {
	if j.Kind == store.JobKindFlow {
		return "flows"
	}
	return "scripts"
}

// coerceStrings moves req.Strings (form fields, query values) into
// req.Args, typed by the schema.
func coerceStrings(schema *jsonschema.Schema, req *RunRequest) error {
	if len(req.Strings) == 0 {
		return nil
	}
	if req.Args == nil {
		req.Args = map[string]any{}
	}
	for k, raw := range req.Strings {
		if schema == nil || schema.Properties[k] == nil {
			req.Args[k] = raw
			continue
		}
		v, err := jsonschema.Coerce(schema, k, raw)
		if err != nil {
			return invalid(k, "invalid arguments: %v", err)
		}
		req.Args[k] = v
	}
	return nil
}

// visible keeps the items the principal may read.
func visible[T any](p *Principal, ws, kind string, items []T, path func(*T) string) []T {
	out := items[:0]
	for i := range items {
		if p.authorize(ws, actRead, kind, path(&items[i])) == nil {
			out = append(out, items[i])
		}
	}
	return out
}

// declaredArgs keeps the arguments the schema declares (others are
// ignored), validates them and returns them as JSON.
func declaredArgs(schema *jsonschema.Schema, in map[string]any) (json.RawMessage, error) {
	args := map[string]any{}
	for k, v := range in {
		if schema == nil || len(schema.Properties) == 0 || schema.Properties[k] != nil {
			args[k] = v
		}
	}
	// "$var:<path>" and "$res:<path>" stand for values resolved when the
	// job starts: they are not checked against the parameter's type.
	refs := map[string]any{}
	for k, v := range args {
		if str, ok := v.(string); ok && (strings.HasPrefix(str, "$var:") || strings.HasPrefix(str, "$res:")) {
			refs[k] = v
		}
	}
	if err := jsonschema.Validate(schema, args); err != nil {
		var se *jsonschema.Error
		if !errors.As(err, &se) {
			return nil, invalid("args", "invalid arguments: %v", err)
		}
		var left []jsonschema.Problem
		for _, p := range se.Problems {
			top, _, _ := strings.Cut(p.Path, ".")
			top, _, _ = strings.Cut(top, "[")
			if _, ok := refs[top]; !ok {
				left = append(left, p)
			}
		}
		if len(left) > 0 {
			e := &jsonschema.Error{Problems: left}
			return nil, invalid(left[0].Path, "invalid arguments: %s", e.Error())
		}
	}
	norm, _ := jsonschema.Normalize(schema, args).(map[string]any)
	for k, v := range refs {
		if norm != nil {
			norm[k] = v
		}
	}
	if norm == nil {
		return json.Marshal(args)
	}
	return json.Marshal(norm)
}

// Wait waits up to limit for a job to finish and returns it (done or not).
func (s *Service) Wait(ctx context.Context, ws, id string, limit time.Duration) (*store.Job, error) {
	return s.wait(ctx, ws, id, limit, false)
}

// WaitEarly is Wait that also returns when a flow has its early_return
// result.
func (s *Service) WaitEarly(ctx context.Context, ws, id string, limit time.Duration) (*store.Job, error) {
	return s.wait(ctx, ws, id, limit, true)
}

// WaitChange waits up to limit for a notification on key (false when
// none came), or for job id to end.
func (s *Service) WaitChange(ctx context.Context, key, id string, limit time.Duration) error {
	ch, end := s.subscribe(key), s.subscribe(id)
	defer s.unsubscribe(key, ch)
	defer s.unsubscribe(id, end)
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-ch:
	case <-end:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.streamsEnd:
		return errShutdown
	}
	return nil
}

func (s *Service) wait(ctx context.Context, ws, id string, limit time.Duration, early bool) (*store.Job, error) {
	ch := s.subscribe(id)
	defer s.unsubscribe(id, ch)
	ready := func(j *store.Job) bool {
		return j.Done() || early && j.Flow != nil && j.Flow.EarlyReturn != nil
	}
	j, err := s.st.GetJob(ctx, ws, id)
	if err != nil || ready(j) {
		return j, err
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		select {
		case <-ch:
		case <-t.C:
			return s.st.GetJob(ctx, ws, id)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		// Subscribe again before reading, so a notify in between is not lost.
		next := s.subscribe(id)
		j, err := s.st.GetJob(ctx, ws, id)
		if err != nil || ready(j) {
			s.unsubscribe(id, next)
			return j, err
		}
		ch = next
	}
}

func (s *Service) subscribe(id string) chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters[id] = append(s.waiters[id], ch)
	s.mu.Unlock()
	return ch
}

func (s *Service) unsubscribe(id string, ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.waiters[id]
	if i := slices.Index(ws, ch); i >= 0 {
		ws = slices.Delete(ws, i, i+1)
	}
	if len(ws) == 0 {
		delete(s.waiters, id)
	} else {
		s.waiters[id] = ws
	}
}

// notify wakes everyone waiting on a job.
func (s *Service) notify(id string) {
	s.mu.Lock()
	ws := s.waiters[id]
	delete(s.waiters, id)
	s.mu.Unlock()
	for _, ch := range ws {
		close(ch)
	}
}

// GetJob returns a job the principal may read.
func (s *Service) GetJob(ctx context.Context, p *Principal, ws, id string) (*store.Job, error) {
	if p.Workspace != ws {
		return nil, errForbidden
	}
	j, err := s.st.GetJob(ctx, ws, id)
	if err != nil {
		if len(p.Scopes) > 0 {
			return nil, errForbidden
		}
		return nil, notFound("job %s not found", id)
	}
	if err := p.authorize(ws, actRead, "jobs", j.ScriptPath); err != nil {
		if p.authorize(ws, actRun, runKind(j), j.ScriptPath) != nil {
			return nil, err
		}
	}
	return j, nil
}

// ListJobs lists jobs, newest first.
func (s *Service) ListJobs(ctx context.Context, p *Principal, f store.JobFilter) ([]store.Job, error) {
	if err := p.authorize(f.Workspace, actRead, "jobs", f.ScriptPath); err != nil {
		return nil, err
	}
	return s.st.ListJobs(ctx, f)
}

// Logs returns a job's log text from offset.
func (s *Service) Logs(ctx context.Context, p *Principal, ws, id string, offset int) ([]byte, *store.Job, error) {
	j, err := s.GetJob(ctx, p, ws, id)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.st.Logs(ctx, id, offset)
	return b, j, err
}

// Cancel cancels a queued or running job and its children.
func (s *Service) Cancel(ctx context.Context, p *Principal, ws, id, reason string) error {
	j, err := s.GetJob(ctx, p, ws, id)
	if err != nil {
		return err
	}
	if err := p.authorize(ws, actRun, runKind(j), j.ScriptPath); err != nil {
		return err
	}
	return s.cancel(ctx, j, p.User, reason, 0)
}

func (s *Service) cancel(ctx context.Context, j *store.Job, by, reason string, depth int) error {
	if reason == "" {
		reason = "canceled by " + by
	}
	if j.Done() {
		if depth == 0 {
			return precondition("job %s already finished (%s)", j.ID, j.Status)
		}
		return nil
	}
	s.mu.Lock()
	rj := s.running[j.ID]
	s.mu.Unlock()
	if rj != nil {
		rj.cancel(by, reason)
	} else if j.Status == store.StatusQueued {
		c := *j
		c.Status, c.CanceledBy, c.CancelReason, c.CompletedAt = store.StatusCanceled, by, reason, time.Now().UTC()
		c.Error = &store.JobError{Name: "Canceled", Message: reason}
		if err := s.st.Finish(ctx, c, true); err != nil {
			return err
		}
		s.notify(j.ID)
	}
	kids, err := s.st.ListJobs(ctx, store.JobFilter{Workspace: j.Workspace, ParentJob: j.ID, Limit: 1000})
	if err != nil {
		return err
	}
	for i := range kids {
		if err := s.cancel(ctx, &kids[i], by, "parent job "+j.ID+" canceled", depth+1); err != nil {
			return err
		}
	}
	return nil
}
