package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/store"
)

// apiFunc is an authenticated REST handler.
type apiFunc func(w http.ResponseWriter, r *http.Request, p *Principal) error

// handler returns a function registering authenticated handlers on mux.
func (s *Server) handler(mux *http.ServeMux) func(pattern string, fn apiFunc) {
	return func(pattern string, fn apiFunc) { mux.HandleFunc(pattern, s.api(fn)) }
}

// routes registers the Windmill-shaped REST API under /api/w/{ws}/.
func (s *Server) routes(mux *http.ServeMux) {
	h := s.handler(mux)
	const w = "/api/w/{ws}/"
	// Runs (webhooks). HEAD on a run URL answers 200: senders verify URLs so.
	h("POST "+w+"jobs/run/p/{path...}", s.runAsync)
	h("POST "+w+"jobs/run/h/{hash}", s.runAsync)
	h("POST "+w+"jobs/run_wait_result/p/{path...}", s.runSync)
	h("GET "+w+"jobs/run_wait_result/p/{path...}", s.runSync)
	h("POST "+w+"jobs/run_wait_result/h/{hash}", s.runSync)
	for _, p := range []string{"jobs/run/p/{path...}", "jobs/run/h/{hash}", "jobs/run_wait_result/h/{hash}"} {
		mux.HandleFunc("HEAD "+w+p, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	}
	// Jobs.
	h("GET "+w+"jobs/list", s.listJobs)
	h("GET "+w+"jobs_u/get/{id}", s.getJob)
	h("GET "+w+"jobs_u/completed/get/{id}", s.getCompleted)
	h("GET "+w+"jobs_u/completed/get_result/{id}", s.getResult)
	h("GET "+w+"jobs_u/completed/get_result_maybe/{id}", s.getResultMaybe)
	h("GET "+w+"jobs_u/getupdate/{id}", s.getUpdate)
	h("GET "+w+"jobs_u/get_logs/{id}", s.getLogs)
	h("POST "+w+"jobs_u/queue/cancel/{id}", s.cancelJob)
	// Scripts.
	h("POST "+w+"scripts/create", s.createScript)
	h("GET "+w+"scripts/list", s.listScripts)
	h("GET "+w+"scripts/get/p/{path...}", s.getScript)
	h("GET "+w+"scripts/get/h/{hash}", s.getScript)
	h("GET "+w+"scripts/history/p/{path...}", s.scriptHistory)
	h("POST "+w+"scripts/archive/p/{path...}", s.archiveScript)
	h("POST "+w+"scripts/delete/p/{path...}", s.deleteScript)
	// Variables and resources.
	h("POST "+w+"variables/create", s.createVariable)
	h("POST "+w+"variables/update/{path...}", s.updateVariable)
	h("GET "+w+"variables/get/{path...}", s.getVariable)
	h("GET "+w+"variables/list", s.listVariables)
	h("DELETE "+w+"variables/delete/{path...}", s.deleteVariable)
	h("POST "+w+"resources/create", s.createResource)
	h("GET "+w+"resources/get/{path...}", s.getResource)
	h("GET "+w+"resources/list", s.listResources)
	h("DELETE "+w+"resources/delete/{path...}", s.deleteResource)
	// Operations.
	h("GET "+w+"backup", s.backup)
	h("POST "+w+"keys/rotate", s.rotateKey)
	s.accessRoutes(mux)
	s.scheduleRoutes(mux)
	s.flowRoutes(mux)
}

// rotateKey makes a new secrets key current and re-encrypts every secret
// (admins only; older keys stay in the key file for older backups).
func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if err := p.authorize(r.PathValue("ws"), actAdmin, "keys", ""); err != nil {
		return err
	}
	rot, ok := s.st.(interface{ RotateKey(context.Context) error })
	if !ok {
		return errf(http.StatusNotImplemented, "unimplemented", "this store cannot rotate its key")
	}
	if err := rot.RotateKey(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"rotated": true})
	return nil
}

// backup streams a consistent copy of the whole store (admins only).
func (s *Server) backup(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if err := p.authorize(r.PathValue("ws"), actAdmin, "backup", ""); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := s.st.Backup(r.Context(), w); err != nil {
		s.cfg.Logger.Error("backup failed", "err", err)
	}
	return nil
}

// api authenticates a request, bounds its body and writes any error as
// {"error":{"code","message","field"?}}.
func (s *Server) api(fn func(w http.ResponseWriter, r *http.Request, p *Principal) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		p, err := s.svc.authenticate(r.Context(), tokenFrom(r))
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errf(http.StatusRequestEntityTooLarge, "too_large", "the request body is over the %d-byte limit", mbe.Limit)
	}
	e := apiError(err)
	s.met.refuse(e)
	if e.Status >= 500 {
		s.cfg.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		s.cfg.Logger.Info("request refused", "method", r.Method, "path", r.URL.Path, "status", e.Status)
	}
	writeJSON(w, e.Status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func decodeJSON(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return invalid("body", "the body is not valid JSON: %v", err)
	}
	return nil
}

// runRequest builds a RunRequest from a webhook: body (JSON object, form,
// other JSON wrapped as "body"), query options and headers.
func (s *Server) runRequest(r *http.Request) (RunRequest, error) {
	q := r.URL.Query()
	req := RunRequest{Path: r.PathValue("path"), Hash: r.PathValue("hash"), Args: map[string]any{}, Trigger: "webhook"}
	if r.Header.Get("User-Agent") == userAgentCLI {
		req.Trigger = "cli"
	}
	var body []byte
	if r.Method == http.MethodGet {
		if p := q.Get("payload"); p != "" {
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
			if err != nil {
				return req, invalid("payload", "payload: not base64url: %v", err)
			}
			body = b
		}
	} else {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return req, err
		}
		body = b
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case len(bytes.TrimSpace(body)) == 0:
	case ct == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return req, invalid("body", "the form body does not parse: %v", err)
		}
		req.Strings = map[string]string{}
		for k, v := range vals {
			req.Strings[k] = v[0]
		}
	default:
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return req, invalid("body", "the body is not valid JSON: %v", err)
		}
		if m, ok := v.(map[string]any); ok && q.Get("wrap_body") != "true" {
			req.Args = m
		} else {
			req.Args["body"] = v
		}
	}
	if q.Get("raw") == "true" {
		req.Args["raw_string"] = string(body)
	}
	for _, name := range splitList(q.Get("include_header")) {
		if v := r.Header.Get(name); v != "" {
			req.Args[strings.ReplaceAll(strings.ToLower(name), "-", "_")] = v
		}
	}
	for _, name := range splitList(q.Get("include_query")) {
		if q.Has(name) {
			if req.Strings == nil {
				req.Strings = map[string]string{}
			}
			req.Strings[name] = q.Get(name)
		}
	}
	if v := q.Get("scheduled_for"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return req, invalid("scheduled_for", "scheduled_for: want RFC 3339: %v", err)
		}
		req.ScheduledFor = t
	}
	if v := q.Get("scheduled_in_secs"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return req, invalid("scheduled_in_secs", "scheduled_in_secs: want a non-negative integer")
		}
		req.ScheduledFor = time.Now().Add(time.Duration(n) * time.Second)
	}
	if v := q.Get("queue_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return req, invalid("queue_limit", "queue_limit: want a positive integer")
		}
		req.QueueLimit = n
	}
	req.JobID = q.Get("job_id")
	return req, nil
}

// userAgentCLI marks runs from `runlet script run`.
const userAgentCLI = "runlet-cli"

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// runAsync: POST jobs/run/{p|h}/… → 201 with the job id as text.
func (s *Server) runAsync(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return s.runQueued(w, r, p, false)
}

// runQueued queues a script or flow run and answers 201 with its id.
func (s *Server) runQueued(w http.ResponseWriter, r *http.Request, p *Principal, flow bool) error {
	req, err := s.runRequest(r)
	if err != nil {
		return err
	}
	req.Flow = flow
	j, err := s.svc.Run(r.Context(), p, r.PathValue("ws"), req)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, err = io.WriteString(w, j.ID)
	return err
}

// runSync: run_wait_result → 200 with the result, 500 with the error of a
// failed job, 202 {"id"} when still running at the wait limit.
func (s *Server) runSync(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return s.runAndWait(w, r, p, false)
}

// runAndWait runs a script or a flow and answers its result; a flow's
// early_return result is answered as soon as it is there.
func (s *Server) runAndWait(w http.ResponseWriter, r *http.Request, p *Principal, flow bool) error {
	req, err := s.runRequest(r)
	if err != nil {
		return err
	}
	req.Sync, req.Flow = true, flow
	ws := r.PathValue("ws")
	j, err := s.svc.Run(r.Context(), p, ws, req)
	if err != nil {
		return err
	}
	j, err = s.svc.WaitEarly(r.Context(), ws, j.ID, s.cfg.WaitLimit)
	if err != nil {
		return err
	}
	if !j.Done() && j.Flow != nil && j.Flow.EarlyReturn != nil {
		writeResult(w, j.Flow.EarlyReturn)
		return nil
	}
	if !j.Done() {
		writeJSON(w, http.StatusAccepted, map[string]string{"id": j.ID})
		return nil
	}
	if !j.OK() {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": j.Error})
		return nil
	}
	writeResult(w, j.Result)
	return nil
}

// writeResult writes a sync result, honouring windmill_status_code,
// windmill_content_type and windmill_headers in a result object.
func writeResult(w http.ResponseWriter, res json.RawMessage) {
	if len(res) == 0 {
		res = json.RawMessage("null")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(res, &obj) != nil || (obj["windmill_status_code"] == nil && obj["windmill_content_type"] == nil && obj["windmill_headers"] == nil) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(res)
		return
	}
	status := http.StatusOK
	if raw := obj["windmill_status_code"]; raw != nil {
		var n int
		if json.Unmarshal(raw, &n) != nil || n < 100 || n > 599 {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": &Error{Code: "bad_result", Message: "windmill_status_code must be an integer from 100 to 599"}})
			return
		}
		status = n
	}
	var headers map[string]string
	_ = json.Unmarshal(obj["windmill_headers"], &headers)
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	body, ok := obj["result"]
	if !ok {
		rest := map[string]json.RawMessage{}
		for k, v := range obj {
			if !strings.HasPrefix(k, "windmill_") {
				rest[k] = v
			}
		}
		body, _ = json.Marshal(rest)
	}
	ct := "application/json"
	if raw := obj["windmill_content_type"]; raw != nil {
		_ = json.Unmarshal(raw, &ct)
		var str string
		if json.Unmarshal(body, &str) == nil {
			body = []byte(str) // a string body under an explicit type is sent as is
		}
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write(body)
}

// jobView is a job as the REST API shows it (Windmill's QueuedJob /
// CompletedJob in one shape, with runlet's status).
type jobView struct {
	ID             string          `json:"id"`
	Workspace      string          `json:"workspace_id"`
	Type           string          `json:"type"`
	Status         string          `json:"status"`
	ScriptPath     string          `json:"script_path"`
	ScriptHash     string          `json:"script_hash"`
	Language       string          `json:"language,omitempty"`
	JobKind        string          `json:"job_kind"`
	Args           json.RawMessage `json:"args"`
	Trigger        string          `json:"trigger"`
	SchedulePath   string          `json:"schedule_path,omitempty"`
	ParentJob      string          `json:"parent_job,omitempty"`
	CreatedBy      string          `json:"created_by"`
	CreatedAt      time.Time       `json:"created_at"`
	ScheduledFor   time.Time       `json:"scheduled_for"`
	StartedAt      *time.Time      `json:"started_at,omitempty"`
	CompletedAt    *time.Time      `json:"completed_at,omitempty"`
	DurationMS     *int64          `json:"duration_ms,omitempty"`
	Running        bool            `json:"running"`
	Success        *bool           `json:"success,omitempty"`
	Canceled       bool            `json:"canceled"`
	IsSkipped      bool            `json:"is_skipped"`
	CanceledBy     string          `json:"canceled_by,omitempty"`
	CanceledReason string          `json:"canceled_reason,omitempty"`
	Attempt        int             `json:"attempt"`
	Result         json.RawMessage `json:"result,omitempty"`
	// Flows and their steps.
	FlowStatus  *store.FlowStatus `json:"flow_status,omitempty"`
	FlowVersion int64             `json:"flow_version,omitempty"`
	FlowStepID  string            `json:"flow_step_id,omitempty"`
	Task        string            `json:"task,omitempty"`
}

func viewJob(j *store.Job) jobView {
	v := jobView{
		ID: j.ID, Workspace: j.Workspace, Type: "QueuedJob", Status: j.Status, ScriptPath: j.ScriptPath,
		ScriptHash: j.ScriptHash, Language: j.Language, JobKind: "script", Args: j.Args, Trigger: j.Trigger,
		SchedulePath: j.SchedulePath, ParentJob: j.ParentJob, CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt,
		ScheduledFor: j.ScheduledFor, Running: j.Status == store.StatusRunning, Canceled: j.Status == store.StatusCanceled,
		CanceledBy: j.CanceledBy, CanceledReason: j.CancelReason, Attempt: j.Attempt,
		FlowStatus: j.Flow, FlowVersion: j.FlowVersion, FlowStepID: j.StepID, Task: j.Task,
	}
	if j.Kind == store.JobKindFlow {
		v.JobKind = "flow"
	}
	if !j.StartedAt.IsZero() {
		v.StartedAt = &j.StartedAt
	}
	if j.Done() {
		v.Type = "CompletedJob"
		ok := j.OK()
		v.Success = &ok
		v.IsSkipped = j.Status == store.StatusSkipped
		v.CompletedAt = &j.CompletedAt
		if !j.StartedAt.IsZero() {
			d := j.CompletedAt.Sub(j.StartedAt).Milliseconds()
			v.DurationMS = &d
		}
		v.Result = resultOf(j)
	}
	return v
}

// resultOf is a finished job's result: its value, or {"error":{…}}.
func resultOf(j *store.Job) json.RawMessage {
	if j.OK() {
		if len(j.Result) == 0 {
			return json.RawMessage("null")
		}
		return j.Result
	}
	b, _ := json.Marshal(map[string]any{"error": j.Error})
	return b
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	jq := JobQuery{ScriptPath: q.Get("script_path_exact"), PathPrefix: q.Get("script_path_start"),
		SchedulePath: q.Get("schedule_path"), ParentJob: q.Get("parent_job"), Before: q.Get("before"),
		Running: q.Get("running") == "true"}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			n = -1 // refused by Filter
		}
		jq.Limit = n
	}
	if v := q.Get("success"); v != "" {
		ok := v == "true"
		jq.Success = &ok
	}
	f, err := jq.Filter(r.PathValue("ws"))
	if err != nil {
		return err
	}
	jobs, err := s.svc.ListJobs(r.Context(), p, f)
	if err != nil {
		return err
	}
	out := make([]jobView, len(jobs))
	for i := range jobs {
		out[i] = viewJob(&jobs[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) job(r *http.Request, p *Principal) (*store.Job, error) {
	return s.svc.GetJob(r.Context(), p, r.PathValue("ws"), r.PathValue("id"))
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p *Principal) error {
	j, err := s.job(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewJob(j))
	return nil
}

func (s *Server) getCompleted(w http.ResponseWriter, r *http.Request, p *Principal) error {
	j, err := s.job(r, p)
	if err != nil {
		return err
	}
	if !j.Done() {
		return notFound("job %s is not completed", j.ID)
	}
	writeJSON(w, http.StatusOK, viewJob(j))
	return nil
}

func (s *Server) getResult(w http.ResponseWriter, r *http.Request, p *Principal) error {
	j, err := s.job(r, p)
	if err != nil {
		return err
	}
	if !j.Done() {
		return notFound("job %s is not completed", j.ID)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(resultOf(j))
	return nil
}

func (s *Server) getResultMaybe(w http.ResponseWriter, r *http.Request, p *Principal) error {
	j, err := s.job(r, p)
	if err != nil {
		return err
	}
	out := map[string]any{"completed": j.Done(), "started": !j.StartedAt.IsZero()}
	if j.Done() {
		out["result"] = resultOf(j)
		out["success"] = j.OK()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getUpdate(w http.ResponseWriter, r *http.Request, p *Principal) error {
	off := 0
	if v := r.URL.Query().Get("log_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalid("log_offset", "log_offset: want a non-negative integer")
		}
		off = n
	}
	logs, j, err := s.svc.Logs(r.Context(), p, r.PathValue("ws"), r.PathValue("id"), off)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"running": j.Status == store.StatusRunning, "completed": j.Done(),
		"new_logs": string(logs), "log_offset": off + len(logs),
	})
	return nil
}

func (s *Server) getLogs(w http.ResponseWriter, r *http.Request, p *Principal) error {
	logs, _, err := s.svc.Logs(r.Context(), p, r.PathValue("ws"), r.PathValue("id"), 0)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(logs)
	return nil
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &body); err != nil {
			return err
		}
	}
	if err := s.svc.Cancel(r.Context(), p, r.PathValue("ws"), r.PathValue("id"), body.Reason); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "job %s canceled", r.PathValue("id"))
	return nil
}

func (s *Server) createScript(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var in NewScript
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sc, err := s.svc.CreateScript(r.Context(), p, r.PathValue("ws"), in)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, sc.Hash)
	return nil
}

// scriptView is a script as the REST API shows it.
type scriptView struct {
	Path        string                `json:"path"`
	Hash        string                `json:"hash"`
	ParentHash  string                `json:"parent_hash,omitempty"`
	Language    string                `json:"language"`
	Kind        string                `json:"kind"`
	Summary     string                `json:"summary"`
	Description string                `json:"description,omitempty"`
	Content     *string               `json:"content,omitempty"`
	Schema      json.RawMessage       `json:"schema,omitempty"`
	Lock        json.RawMessage       `json:"lock,omitempty"`
	Settings    *store.ScriptSettings `json:"settings,omitempty"`
	CreatedBy   string                `json:"created_by"`
	CreatedAt   time.Time             `json:"created_at"`
	Archived    bool                  `json:"archived"`
}

func viewScript(sc *store.Script, full bool) scriptView {
	v := scriptView{Path: sc.Path, Hash: sc.Hash, ParentHash: sc.ParentHash, Language: sc.Language, Kind: sc.Kind,
		Summary: sc.Summary, Description: sc.Description, CreatedBy: sc.CreatedBy, CreatedAt: sc.CreatedAt, Archived: sc.Archived}
	if full {
		c := string(sc.Content)
		if sc.Language == "wasm" {
			c = base64.StdEncoding.EncodeToString(sc.Content)
		}
		v.Content, v.Schema, v.Lock, v.Settings = &c, sc.Schema, sc.Lock, &sc.Settings
	}
	return v
}

func (s *Server) getScript(w http.ResponseWriter, r *http.Request, p *Principal) error {
	sc, err := s.svc.GetScript(r.Context(), p, r.PathValue("ws"), r.PathValue("path"), r.PathValue("hash"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewScript(sc, true))
	return nil
}

func (s *Server) listScripts(w http.ResponseWriter, r *http.Request, p *Principal) error {
	list, err := s.svc.ListScripts(r.Context(), p, r.PathValue("ws"), r.URL.Query().Get("path_start"))
	return writeScripts(w, list, err)
}

func (s *Server) scriptHistory(w http.ResponseWriter, r *http.Request, p *Principal) error {
	list, err := s.svc.ScriptHistory(r.Context(), p, r.PathValue("ws"), r.PathValue("path"))
	return writeScripts(w, list, err)
}

// writeScripts writes script versions without their source (or err).
func writeScripts(w http.ResponseWriter, list []store.Script, err error) error {
	if err != nil {
		return err
	}
	out := make([]scriptView, len(list))
	for i := range list {
		out[i] = viewScript(&list[i], false)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// archiveScript archives a path; a body {"archived": false} unarchives it.
func (s *Server) archiveScript(w http.ResponseWriter, r *http.Request, p *Principal) error {
	body := struct {
		Archived *bool `json:"archived"`
	}{}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &body); err != nil {
			return err
		}
	}
	archived := body.Archived == nil || *body.Archived
	path := r.PathValue("path")
	if err := s.svc.ArchiveScript(r.Context(), p, r.PathValue("ws"), path, archived); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": path, "archived": archived})
	return nil
}

// deleteScript deletes every version of a path.
func (s *Server) deleteScript(w http.ResponseWriter, r *http.Request, p *Principal) error {
	path := r.PathValue("path")
	if err := s.svc.DeleteScript(r.Context(), p, r.PathValue("ws"), path); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, path)
	return nil
}
