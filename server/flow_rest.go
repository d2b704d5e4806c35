package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/store"
)

// flowRoutes registers the Windmill-shaped flow endpoints, flow runs,
// flow status and approvals.
func (s *Server) flowRoutes(mux *http.ServeMux) {
	h := s.handler(mux)
	const w = "/api/w/{ws}/"
	h("POST "+w+"flows/create", s.createFlow)
	h("POST "+w+"flows/update/{path...}", s.createFlow)
	h("GET "+w+"flows/get/v/{version}/p/{path...}", s.getFlow)
	h("GET "+w+"flows/get/{path...}", s.getFlow)
	h("GET "+w+"flows/list", s.listFlows)
	h("GET "+w+"flows/history/p/{path...}", s.flowHistory)
	h("POST "+w+"flows/archive/{path...}", s.archiveFlow)
	h("DELETE "+w+"flows/delete/{path...}", s.deleteFlow)

	h("POST "+w+"jobs/run/f/{path...}", s.runFlowAsync)
	h("POST "+w+"jobs/run_wait_result/f/{path...}", s.runFlowSync)
	h("GET "+w+"jobs/run_wait_result/f/{path...}", s.runFlowSync)
	for _, p := range []string{"jobs/run/f/{path...}", "jobs/run_wait_result/f/{path...}"} {
		mux.HandleFunc("HEAD "+w+p, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	}
	h("GET "+w+"jobs_u/flow_status/{id}", s.flowStatus)

	h("GET "+w+"jobs/resume_urls/{id}/{resume_id}", s.getResumeURLs)
	h("POST "+w+"jobs/flow/resume/{id}", s.ownerResume)
	// Signed links: no token, the signature is the authority.
	for _, verb := range []string{"GET", "POST"} {
		mux.HandleFunc(verb+" "+w+"jobs_u/resume/{id}/{resume_id}/{sig}", s.signedResume(true))
		mux.HandleFunc(verb+" "+w+"jobs_u/cancel/{id}/{resume_id}/{sig}", s.signedResume(false))
	}
	mux.HandleFunc("GET "+w+"jobs_u/approval_page/{id}/{resume_id}/{sig}", s.approvalPage)
}

// flowBody is Windmill's OpenFlowWPath: the OpenFlow document plus path.
type flowBody struct {
	Path string `json:"path"`
}

// flowView is a flow version as the REST API shows it.
type flowView struct {
	Path        string          `json:"path"`
	Version     int64           `json:"version"`
	Summary     string          `json:"summary"`
	Description string          `json:"description,omitempty"`
	Value       json.RawMessage `json:"value"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	CreatedBy   string          `json:"edited_by"`
	CreatedAt   time.Time       `json:"edited_at"`
	Archived    bool            `json:"archived"`
}

func viewFlow(f *store.Flow) flowView {
	var doc struct {
		Value json.RawMessage `json:"value"`
	}
	_ = json.Unmarshal(f.Definition, &doc)
	return flowView{Path: f.Path, Version: f.Version, Summary: f.Summary, Description: f.Description,
		Value: doc.Value, Schema: f.Schema, CreatedBy: f.CreatedBy, CreatedAt: f.CreatedAt, Archived: f.Archived}
}

// createFlow: POST flows/create (path in the body) or flows/update/{path}
// → 201/200 {"path","version","warnings"}.
func (s *Server) createFlow(w http.ResponseWriter, r *http.Request, p *Principal) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	path := r.PathValue("path")
	status := http.StatusOK
	if path == "" {
		status = http.StatusCreated
		var b flowBody
		if err := json.Unmarshal(body, &b); err != nil {
			return invalid("body", "the body is not valid JSON: %v", err)
		}
		path = b.Path
	}
	body = stripPath(body)
	f, warns, err := s.svc.CreateFlow(r.Context(), p, r.PathValue("ws"), path, body)
	if err != nil {
		return err
	}
	if warns == nil {
		warns = []FlowWarning{}
	}
	writeJSON(w, status, map[string]any{"path": f.Path, "version": f.Version, "warnings": warns})
	return nil
}

// stripPath removes a top-level "path" (OpenFlowWPath's) so it is not
// reported as an unknown field of the flow.
func stripPath(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	if _, ok := m["path"]; !ok {
		return body
	}
	delete(m, "path")
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return b
}

func (s *Server) getFlow(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var v int64
	if vs := r.PathValue("version"); vs != "" {
		n, err := strconv.ParseInt(vs, 10, 64)
		if err != nil || n <= 0 {
			return invalid("version", "version %q: want a positive integer", vs)
		}
		v = n
	}
	f, err := s.svc.GetFlow(r.Context(), p, r.PathValue("ws"), r.PathValue("path"), v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewFlow(f))
	return nil
}

func (s *Server) listFlows(w http.ResponseWriter, r *http.Request, p *Principal) error {
	fs, err := s.svc.ListFlows(r.Context(), p, r.PathValue("ws"), r.URL.Query().Get("path_start"))
	if err != nil {
		return err
	}
	out := make([]flowView, len(fs))
	for i := range fs {
		out[i] = viewFlow(&fs[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) flowHistory(w http.ResponseWriter, r *http.Request, p *Principal) error {
	fs, err := s.svc.FlowHistory(r.Context(), p, r.PathValue("ws"), r.PathValue("path"))
	if err != nil {
		return err
	}
	out := make([]flowView, len(fs))
	for i := range fs {
		out[i] = viewFlow(&fs[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) archiveFlow(w http.ResponseWriter, r *http.Request, p *Principal) error {
	b := struct {
		Archived *bool `json:"archived"`
	}{}
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.Archived == nil {
		return invalid("archived", "archived: true or false is required")
	}
	if err := s.svc.ArchiveFlow(r.Context(), p, r.PathValue("ws"), r.PathValue("path"), *b.Archived); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": r.PathValue("path"), "archived": *b.Archived})
	return nil
}

func (s *Server) deleteFlow(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if err := s.svc.DeleteFlow(r.Context(), p, r.PathValue("ws"), r.PathValue("path")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": r.PathValue("path"), "deleted": true})
	return nil
}

// runFlowAsync: POST jobs/run/f/{path} → 201 with the job id.
func (s *Server) runFlowAsync(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return s.runQueued(w, r, p, true)
}

// runFlowSync: run_wait_result/f/{path} → 200 with the flow's result (or
// its early_return step's, as soon as that step is done), 500 with the
// error, 202 {"id"} past the wait limit.
func (s *Server) runFlowSync(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return s.runAndWait(w, r, p, true)
}

// flowStatus: GET jobs_u/flow_status/{id} → the flow's status; with
// ?follow=true a server-sent event stream (one "status" event per change,
// "done" with the job at the end).
func (s *Server) flowStatus(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	j, err := s.svc.GetJob(r.Context(), p, ws, id)
	if err != nil {
		return err
	}
	if j.Kind != store.JobKindFlow {
		return invalid("id", "job %s is not a flow run", id)
	}
	if r.URL.Query().Get("follow") != "true" {
		writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "status": j.Status, "flow_status": j.Flow})
		return nil
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		if fl != nil {
			fl.Flush()
		}
	}
	var last []byte
	for {
		cur, _ := json.Marshal(j.Flow)
		if string(cur) != string(last) {
			send("status", map[string]any{"id": j.ID, "status": j.Status, "flow_status": j.Flow})
			last = cur
		}
		if j.Done() {
			send("done", viewJob(j))
			return nil
		}
		if err := s.svc.WaitChange(r.Context(), id+"/status", id, 5*time.Second); err != nil {
			return nil
		}
		if j, err = s.svc.GetJob(r.Context(), p, ws, id); err != nil {
			return nil
		}
	}
}

func (s *Server) getResumeURLs(w http.ResponseWriter, r *http.Request, p *Principal) error {
	u, err := s.svc.ResumeURLsFor(r.Context(), p, r.PathValue("ws"), r.PathValue("id"), r.PathValue("resume_id"), r.URL.Query().Get("approver"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// ownerResume: POST jobs/flow/resume/{id} — an authenticated user who may
// run the flow approves it (body: the payload).
func (s *Server) ownerResume(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	j, err := s.svc.GetJob(r.Context(), p, ws, id)
	if err != nil {
		return err
	}
	if err := p.authorize(ws, actRun, "flows", j.ScriptPath); err != nil {
		if p.authorize(ws, actRun, "scripts", j.ScriptPath) != nil {
			return err
		}
	}
	payload, err := readPayload(r)
	if err != nil {
		return err
	}
	u := s.svc.resumeURLs(ws, id, "owner", p.User, time.Minute)
	sig, exp := sigOf(u.Resume)
	if err := s.svc.Resume(r.Context(), ws, id, "owner", sig, p.User, exp, true, payload); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "approved": true, "approver": p.User})
	return nil
}

// sigOf extracts the signature and exp of a resume URL built here.
func sigOf(u string) (sig, exp string) {
	path, query, _ := strings.Cut(u, "?")
	sig = path[strings.LastIndexByte(path, '/')+1:]
	for _, kv := range strings.Split(query, "&") {
		if v, ok := strings.CutPrefix(kv, "exp="); ok {
			exp = v
		}
	}
	return sig, exp
}

// readPayload reads a resume payload: a JSON body (POST) or base64 JSON
// in ?payload= (GET); none is null.
func readPayload(r *http.Request) (json.RawMessage, error) {
	var b []byte
	if r.Method == http.MethodGet {
		if p := r.URL.Query().Get("payload"); p != "" {
			d, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
			if err != nil {
				if d, err = base64.StdEncoding.DecodeString(p); err != nil {
					return nil, invalid("payload", "payload: not base64: %v", err)
				}
			}
			b = d
		}
	} else {
		d, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		b = d
	}
	if strings.TrimSpace(string(b)) == "" {
		return json.RawMessage("null"), nil
	}
	if !json.Valid(b) {
		return nil, invalid("payload", "payload: not valid JSON")
	}
	return b, nil
}

// signedResume handles the resume (approve) and cancel links.
func (s *Server) signedResume(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		q := r.URL.Query()
		payload, err := readPayload(r)
		if err == nil {
			err = s.svc.Resume(r.Context(), r.PathValue("ws"), r.PathValue("id"), r.PathValue("resume_id"), r.PathValue("sig"), q.Get("approver"), q.Get("exp"), approve, payload)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "approved": approve})
	}
}

var approvalTmpl = template.Must(template.New("approval").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Approval — runlet</title></head>
<body><h1>Approval requested</h1><p>Job <code>{{.ID}}</code> waits for an approval{{if .Approver}} by <b>{{.Approver}}</b>{{end}}.</p>
<form method="post" action="{{.Resume}}"><button type="submit">Approve</button></form>
<form method="post" action="{{.Cancel}}"><button type="submit">Cancel</button></form>
</body></html>`))

// approvalPage: a minimal page with the approve and cancel buttons.
func (s *Server) approvalPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	base := "/api/w/" + r.PathValue("ws") + "/jobs_u/"
	tail := "/" + r.PathValue("id") + "/" + r.PathValue("resume_id") + "/" + r.PathValue("sig") + "?" + r.URL.RawQuery
	exp, _ := strconv.ParseInt(q.Get("exp"), 10, 64)
	if s.svc.signResume(r.PathValue("ws"), r.PathValue("id"), r.PathValue("resume_id"), q.Get("approver"), exp) != r.PathValue("sig") {
		s.writeError(w, r, errf(http.StatusUnauthorized, "bad_signature", "the approval link's signature does not match"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = approvalTmpl.Execute(w, map[string]string{"ID": r.PathValue("id"), "Approver": q.Get("approver"), "Resume": base + "resume" + tail, "Cancel": base + "cancel" + tail})
}
