// Package clienttest runs an in-memory stand-in for runlet's REST API on
// 127.0.0.1, enough to test package client and the CLI against. It
// implements the endpoints the client uses, minimally, with the wire shapes
// of the REST contract written out independently of package client (so a
// mistyped JSON tag there fails a test), records every request, and lets a
// test decide how each job ends.
package clienttest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config sets up a Server.
type Config struct {
	// Token is the bearer token every request must carry; empty accepts
	// requests without one. Default: empty.
	Token string
	// Workspace is the only workspace that exists. Default: "main".
	Workspace string
	// Run decides how a job of the script at path with args ends. It runs
	// with the server's lock held and must not call the server. Default: the
	// job succeeds at once with its args as the result.
	Run func(path string, args json.RawMessage) Outcome
}

// Outcome is how a job ends.
type Outcome struct {
	Result json.RawMessage // a successful job's result; nil: the job's args
	Error  *JobError       // non-nil: the job fails with this error
	// Polls is how many getupdate requests the job stays running for. When
	// it is positive, run_wait_result answers 202 with the job's id.
	Polls int
	// Logs are the job's log lines; a running job shows one more line on
	// each getupdate poll and all of them once it completes.
	Logs []string
}

// JobError is a failed job's error document.
type JobError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Stack   string `json:"stack,omitempty"`
}

// Job is a job as the REST API shows it (jobs_u/get, jobs/list).
type Job struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	Status         string          `json:"status"`
	ScriptPath     string          `json:"script_path"`
	ScriptHash     string          `json:"script_hash"`
	Language       string          `json:"language"`
	Args           json.RawMessage `json:"args"`
	Trigger        string          `json:"trigger"`
	SchedulePath   string          `json:"schedule_path,omitempty"`
	ParentJob      string          `json:"parent_job,omitempty"`
	CreatedBy      string          `json:"created_by"`
	CreatedAt      time.Time       `json:"created_at"`
	ScheduledFor   time.Time       `json:"scheduled_for"`
	StartedAt      *time.Time      `json:"started_at"`
	CompletedAt    *time.Time      `json:"completed_at"`
	DurationMS     *int64          `json:"duration_ms"`
	Running        bool            `json:"running"`
	Success        bool            `json:"success"`
	Canceled       bool            `json:"canceled"`
	CanceledReason string          `json:"canceled_reason,omitempty"`
	Attempt        int             `json:"attempt"`
	Result         json.RawMessage `json:"result,omitempty"`
}

// Variable is a stored variable.
type Variable struct {
	Path        string `json:"path"`
	Value       string `json:"value"`
	IsSecret    bool   `json:"is_secret"`
	Description string `json:"description"`
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string // the URL path, unescaped, e.g. /api/w/main/scripts/create
	Query  string // the raw query
	Header http.Header
	Body   []byte
}

// Server is the fake API. Its URL is the base URL to give the client.
type Server struct {
	URL string

	cfg Config

	mu        sync.Mutex
	requests  []Request
	failNext  []failure
	scripts   map[string][]map[string]any // path -> versions, oldest first; each a create body plus hash and created_at
	jobs      []*job                      // oldest first
	variables map[string]*Variable
	resources map[string]map[string]any
	schedules map[string]map[string]any // path -> the stored schedule as get answers it
	seq       int
}

type failure struct {
	status int
	body   string
}

type job struct {
	Job
	outcome  Outcome
	polls    int // getupdate polls left while running
	revealed int // log lines shown so far
}

// New starts a server on 127.0.0.1 that stops when the test ends.
func New(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	if cfg.Workspace == "" {
		cfg.Workspace = "main"
	}
	s := &Server{cfg: cfg, scripts: map[string][]map[string]any{}, variables: map[string]*Variable{}, resources: map[string]map[string]any{},
		schedules: map[string]map[string]any{}}
	mux := http.NewServeMux()
	routes := map[string]func(w http.ResponseWriter, r *http.Request, body []byte){
		"POST /api/w/{ws}/scripts/create":                   s.createScript,
		"GET /api/w/{ws}/scripts/list":                      s.listScripts,
		"GET /api/w/{ws}/scripts/get/p/{path...}":           s.getScript,
		"POST /api/w/{ws}/jobs/run/p/{path...}":             s.run,
		"POST /api/w/{ws}/jobs/run_wait_result/p/{path...}": s.runWait,
		"GET /api/w/{ws}/jobs/list":                         s.listJobs,
		"GET /api/w/{ws}/jobs_u/get/{id}":                   s.getJob,
		"GET /api/w/{ws}/jobs_u/get_logs/{id}":              s.getLogs,
		"GET /api/w/{ws}/jobs_u/getupdate/{id}":             s.getUpdate,
		"GET /api/w/{ws}/jobs_u/completed/get_result/{id}":  s.getResult,
		"POST /api/w/{ws}/jobs_u/queue/cancel/{id}":         s.cancel,
		"POST /api/w/{ws}/variables/create":                 s.createVariable,
		"POST /api/w/{ws}/variables/update/{path...}":       s.updateVariable,
		"GET /api/w/{ws}/variables/get/{path...}":           s.getVariable,
		"GET /api/w/{ws}/variables/list":                    s.listVariables,
		"POST /api/w/{ws}/resources/create":                 s.createResource,
		"GET /api/w/{ws}/resources/get/{path...}":           s.getResource,
		"GET /api/w/{ws}/resources/list":                    s.listResources,
	}
	for pattern, h := range s.scheduleRoutes() {
		routes[pattern] = h
	}
	for pattern, h := range routes {
		mux.HandleFunc(pattern, s.wrap(h))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r, nil)
		apiError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path, "")
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// FailNext makes the next request (whatever it is) answer status with body.
// Calls queue up.
func (s *Server) FailNext(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, failure{status, body})
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Pushed returns the scripts/create bodies received for path, decoded,
// oldest first.
func (s *Server) Pushed(path string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, v := range s.scripts[path] {
		body := map[string]any{}
		for k, x := range v {
			if k != "hash" && k != "created_at" {
				body[k] = x
			}
		}
		out = append(out, body)
	}
	return out
}

// AddScript stores a script version as if pushed and returns its hash.
func (s *Server) AddScript(path, language, content string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addScript(map[string]any{"path": path, "language": language, "content": content, "kind": "script"})
}

// AddJob stores a job as is (for listing); it gets an id when it has none
// and a status when it has none (success). It returns the id.
func (s *Server) AddJob(j Job) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j.ID == "" {
		j.ID = s.nextID()
	}
	if j.Status == "" {
		j.Status = "success"
	}
	if j.Type == "" {
		j.Type = "CompletedJob"
	}
	s.jobs = append(s.jobs, &job{Job: j, polls: 0})
	return j.ID
}

// Variable returns the stored variable at path.
func (s *Server) Variable(path string) (Variable, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.variables[path]
	if !ok {
		return Variable{}, false
	}
	return *v, true
}

// Resource returns the stored resource at path, decoded.
func (s *Server) Resource(path string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.resources[path]
	return r, ok
}

// wrap records the request, then checks injected failures, the workspace
// and the token, and calls h with the lock held.
func (s *Server) wrap(h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			apiError(w, http.StatusBadRequest, "bad_request", "read body: "+err.Error(), "")
			return
		}
		s.record(r, body)
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.failNext) > 0 {
			f := s.failNext[0]
			s.failNext = s.failNext[1:]
			w.WriteHeader(f.status)
			io.WriteString(w, f.body)
			return
		}
		if s.cfg.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.Token {
			apiError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid token", "")
			return
		}
		if r.PathValue("ws") != s.cfg.Workspace {
			apiError(w, http.StatusNotFound, "not_found", fmt.Sprintf("workspace %q not found", r.PathValue("ws")), "")
			return
		}
		if r.Method == http.MethodPost && len(body) > 0 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			apiError(w, http.StatusBadRequest, "bad_request", "want a JSON body", "")
			return
		}
		h(w, r, body)
	}
}

func (s *Server) record(r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
}

func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("0190a000-0000-7000-8000-%012d", s.seq)
}

func apiError(w http.ResponseWriter, status int, code, msg, field string) {
	e := map[string]string{"code": code, "message": msg}
	if field != "" {
		e["field"] = field
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, text)
}

// Scripts.

func (s *Server) addScript(body map[string]any) string {
	path, _ := body["path"].(string)
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%v", path, len(s.scripts[path]), body))
	hash := hex.EncodeToString(sum[:8])
	v := map[string]any{"hash": hash, "created_at": time.Now().UTC()}
	for k, x := range body {
		v[k] = x
	}
	s.scripts[path] = append(s.scripts[path], v)
	return hash
}

func (s *Server) latest(path string) map[string]any {
	vs := s.scripts[path]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

func (s *Server) createScript(w http.ResponseWriter, r *http.Request, body []byte) {
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "invalid JSON: "+err.Error(), "")
		return
	}
	path, _ := b["path"].(string)
	if path == "" {
		apiError(w, http.StatusBadRequest, "bad_request", "path is required", "path")
		return
	}
	switch b["language"] {
	case "go", "typescript", "javascript", "wasm":
	default:
		apiError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("unsupported language %v", b["language"]), "language")
		return
	}
	if cur := s.latest(path); cur != nil {
		if parent, _ := b["parent_hash"].(string); parent != cur["hash"] {
			apiError(w, http.StatusConflict, "conflict", fmt.Sprintf("script %s exists with hash %s; parent_hash is %q", path, cur["hash"], parent), "parent_hash")
			return
		}
	}
	writeText(w, http.StatusCreated, s.addScript(b))
}

func (s *Server) listScripts(w http.ResponseWriter, r *http.Request, _ []byte) {
	prefix := r.URL.Query().Get("path_start")
	out := []map[string]any{}
	paths := make([]string, 0, len(s.scripts))
	for p := range s.scripts {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		v := s.latest(p)
		out = append(out, map[string]any{"path": p, "hash": v["hash"], "language": v["language"], "kind": orDefault(v["kind"], "script"),
			"summary": orDefault(v["summary"], ""), "created_at": v["created_at"], "created_by": "admin"})
	}
	writeJSON(w, http.StatusOK, out)
}

func orDefault(v any, def string) any {
	if s, ok := v.(string); !ok || s == "" {
		return def
	}
	return v
}

func (s *Server) getScript(w http.ResponseWriter, r *http.Request, _ []byte) {
	path := r.PathValue("path")
	v := s.latest(path)
	if v == nil {
		apiError(w, http.StatusNotFound, "not_found", "script not found: "+path, "")
		return
	}
	timeout := int64(300)
	if t, ok := v["timeout"].(float64); ok {
		timeout = int64(t)
	}
	mem := any(float64(64 << 20))
	if m, ok := v["max_memory"]; ok {
		mem = m
	}
	hosts := v["allowed_hosts"]
	if hosts == nil {
		hosts = []any{}
	}
	schema := v["schema"]
	if schema == nil {
		schema = map[string]any{"type": "object", "properties": map[string]any{}}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"path": path, "hash": v["hash"], "parent_hash": orDefault(v["parent_hash"], ""), "language": v["language"],
		"kind": orDefault(v["kind"], "script"), "summary": orDefault(v["summary"], ""), "description": orDefault(v["description"], ""),
		"content": v["content"], "schema": schema,
		"settings": map[string]any{"timeout": timeout * int64(time.Second), "max_memory": mem, "allowed_hosts": hosts,
			"allow_private": v["allow_private"] == true, "warm": v["warm"] == true, "retry": v["retry"]},
		"created_at": v["created_at"], "created_by": "admin", "archived": false,
	})
}

// Jobs.

func (s *Server) newJob(w http.ResponseWriter, r *http.Request, body []byte) *job {
	path := r.PathValue("path")
	v := s.latest(path)
	if v == nil {
		apiError(w, http.StatusNotFound, "not_found", "script not found: "+path, "")
		return nil
	}
	var args map[string]any
	if err := json.Unmarshal(body, &args); err != nil || args == nil {
		apiError(w, http.StatusBadRequest, "bad_request", "args: want a JSON object", "args")
		return nil
	}
	o := Outcome{}
	if s.cfg.Run != nil {
		o = s.cfg.Run(path, body)
	}
	now := time.Now().UTC()
	lang, _ := v["language"].(string)
	hash, _ := v["hash"].(string)
	j := &job{Job: Job{ID: s.nextID(), Type: "QueuedJob", Status: "running", ScriptPath: path, ScriptHash: hash, Language: lang,
		Args: json.RawMessage(body), Trigger: "api", CreatedBy: "admin", CreatedAt: now, ScheduledFor: now, StartedAt: &now, Running: true},
		outcome: o, polls: o.Polls}
	s.jobs = append(s.jobs, j)
	if j.polls == 0 {
		j.complete()
	}
	return j
}

// complete ends a running job by its outcome.
func (j *job) complete() {
	now := time.Now().UTC()
	d := now.Sub(*j.StartedAt).Milliseconds()
	j.Type, j.Running, j.CompletedAt, j.DurationMS = "CompletedJob", false, &now, &d
	j.revealed = len(j.outcome.Logs)
	if e := j.outcome.Error; e != nil {
		j.Status = "failure"
		j.Result, _ = json.Marshal(map[string]any{"error": e})
		return
	}
	j.Status, j.Success = "success", true
	j.Result = j.outcome.Result
	if j.Result == nil {
		j.Result = j.Args
	}
}

func (j *job) done() bool { return j.Type == "CompletedJob" }

func (j *job) logs() string {
	var b strings.Builder
	for _, l := range j.outcome.Logs[:j.revealed] {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func (s *Server) run(w http.ResponseWriter, r *http.Request, body []byte) {
	if j := s.newJob(w, r, body); j != nil {
		writeText(w, http.StatusCreated, j.ID)
	}
}

func (s *Server) runWait(w http.ResponseWriter, r *http.Request, body []byte) {
	j := s.newJob(w, r, body)
	switch {
	case j == nil:
	case !j.done():
		writeJSON(w, http.StatusAccepted, map[string]string{"id": j.ID})
	case j.Success:
		w.Header().Set("Content-Type", "application/json")
		w.Write(j.Result)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(j.Result)
	}
}

func (s *Server) findJob(w http.ResponseWriter, r *http.Request) *job {
	id := r.PathValue("id")
	for _, j := range s.jobs {
		if j.ID == id {
			return j
		}
	}
	apiError(w, http.StatusNotFound, "not_found", "job not found: "+id, "")
	return nil
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	limit := 100
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		limit = n
	}
	out := []Job{}
	for i := len(s.jobs) - 1; i >= 0 && len(out) < limit; i-- {
		if p := q.Get("script_path_exact"); p != "" && s.jobs[i].ScriptPath != p {
			continue
		}
		out = append(out, s.jobs[i].Job)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, _ []byte) {
	if j := s.findJob(w, r); j != nil {
		writeJSON(w, http.StatusOK, j.Job)
	}
}

func (s *Server) getLogs(w http.ResponseWriter, r *http.Request, _ []byte) {
	if j := s.findJob(w, r); j != nil {
		writeText(w, http.StatusOK, j.logs())
	}
}

func (s *Server) getUpdate(w http.ResponseWriter, r *http.Request, _ []byte) {
	j := s.findJob(w, r)
	if j == nil {
		return
	}
	off, err := strconv.Atoi(r.URL.Query().Get("log_offset"))
	if err != nil || off < 0 {
		apiError(w, http.StatusBadRequest, "bad_request", "log_offset: want a non-negative integer", "log_offset")
		return
	}
	if !j.done() {
		j.polls--
		if j.revealed < len(j.outcome.Logs) {
			j.revealed++
		}
		if j.polls <= 0 {
			j.complete()
		}
	}
	logs := j.logs()
	off = min(off, len(logs))
	writeJSON(w, http.StatusOK, map[string]any{"running": !j.done(), "completed": j.done(), "new_logs": logs[off:], "log_offset": len(logs)})
}

func (s *Server) getResult(w http.ResponseWriter, r *http.Request, _ []byte) {
	j := s.findJob(w, r)
	switch {
	case j == nil:
	case !j.done():
		apiError(w, http.StatusNotFound, "not_found", "job "+j.ID+" has not completed", "")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Write(j.Result)
	}
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request, body []byte) {
	j := s.findJob(w, r)
	if j == nil {
		return
	}
	var b struct {
		Reason *string `json:"reason"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Reason == nil {
		apiError(w, http.StatusBadRequest, "bad_request", `want {"reason":...}`, "reason")
		return
	}
	if j.done() {
		apiError(w, http.StatusConflict, "conflict", "job "+j.ID+" already completed", "")
		return
	}
	now := time.Now().UTC()
	d := now.Sub(*j.StartedAt).Milliseconds()
	j.Type, j.Status, j.Running, j.Canceled, j.CanceledReason, j.CompletedAt, j.DurationMS = "CompletedJob", "canceled", false, true, *b.Reason, &now, &d
	j.Result, _ = json.Marshal(map[string]any{"error": JobError{Name: "Canceled", Message: "canceled: " + *b.Reason}})
	writeJSON(w, http.StatusOK, map[string]any{})
}

// Variables.

func (s *Server) createVariable(w http.ResponseWriter, r *http.Request, body []byte) {
	var v Variable
	if err := json.Unmarshal(body, &v); err != nil || v.Path == "" {
		apiError(w, http.StatusBadRequest, "bad_request", "want a variable with a path", "path")
		return
	}
	if _, ok := s.variables[v.Path]; ok {
		apiError(w, http.StatusConflict, "conflict", "variable "+v.Path+" already exists", "path")
		return
	}
	s.variables[v.Path] = &v
	writeText(w, http.StatusCreated, v.Path)
}

func (s *Server) updateVariable(w http.ResponseWriter, r *http.Request, body []byte) {
	path := r.PathValue("path")
	v, ok := s.variables[path]
	if !ok {
		apiError(w, http.StatusNotFound, "not_found", "variable not found: "+path, "")
		return
	}
	// Only the fields present change.
	var b struct {
		Value       *string `json:"value"`
		IsSecret    *bool   `json:"is_secret"`
		Description *string `json:"description"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "invalid JSON: "+err.Error(), "")
		return
	}
	if b.Value != nil {
		v.Value = *b.Value
	}
	if b.IsSecret != nil {
		v.IsSecret = *b.IsSecret
	}
	if b.Description != nil {
		v.Description = *b.Description
	}
	writeText(w, http.StatusOK, path)
}

func (s *Server) getVariable(w http.ResponseWriter, r *http.Request, _ []byte) {
	path := r.PathValue("path")
	v, ok := s.variables[path]
	if !ok {
		apiError(w, http.StatusNotFound, "not_found", "variable not found: "+path, "")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) listVariables(w http.ResponseWriter, r *http.Request, _ []byte) {
	out := []Variable{}
	for _, v := range s.variables {
		c := *v
		if c.IsSecret {
			c.Value = ""
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Path < out[k].Path })
	writeJSON(w, http.StatusOK, out)
}

// Resources.

func (s *Server) createResource(w http.ResponseWriter, r *http.Request, body []byte) {
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "invalid JSON: "+err.Error(), "")
		return
	}
	path, _ := b["path"].(string)
	if typ, _ := b["resource_type"].(string); path == "" || typ == "" {
		apiError(w, http.StatusBadRequest, "bad_request", "path and resource_type are required", "resource_type")
		return
	}
	if _, ok := s.resources[path]; ok && r.URL.Query().Get("update_if_exists") != "true" {
		apiError(w, http.StatusConflict, "conflict", "resource "+path+" already exists", "path")
		return
	}
	s.resources[path] = b
	writeText(w, http.StatusCreated, path)
}

func (s *Server) getResource(w http.ResponseWriter, r *http.Request, _ []byte) {
	path := r.PathValue("path")
	res, ok := s.resources[path]
	if !ok {
		apiError(w, http.StatusNotFound, "not_found", "resource not found: "+path, "")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) listResources(w http.ResponseWriter, r *http.Request, _ []byte) {
	out := []map[string]any{}
	paths := make([]string, 0, len(s.resources))
	for p := range s.resources {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		out = append(out, s.resources[p])
	}
	writeJSON(w, http.StatusOK, out)
}
