package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/flow"
	"github.com/runlet/runlet/internal/store"
)

// Approvals: a suspended flow step (a module with suspend) or a workflow's
// waitForApproval waits for resume events. Each is a signed URL:
//
//	{public_url}/api/w/{ws}/jobs_u/resume/{job}/{resume_id}/{signature}?approver=A&exp=UNIX
//	{public_url}/api/w/{ws}/jobs_u/cancel/{job}/{resume_id}/{signature}?approver=A&exp=UNIX
//
// job is the waiting job (the flow run, or the workflow's job); the
// signature is HMAC-SHA256 over workspace, job, resume id, approver and
// expiry with the server's resume key, so a URL cannot be forged or
// stretched. An event is a checkpoint of the waiting job
// ("resume:<step>:<approver or resume id>"): it survives a restart.

// suspension is a job waiting for approvals right now (in this process).
type suspension struct {
	step     string // checkpoint prefix of the wait
	deadline time.Time
}

// resumeKey returns the key resume URLs are signed with: the configured
// one, else DataDir/resume.key (created once), else a random one for the
// process's life.
func loadResumeKey(cfg Config) ([]byte, error) {
	if len(cfg.ResumeKey) > 0 {
		return cfg.ResumeKey, nil
	}
	if cfg.DataDir == "" {
		k := make([]byte, 32)
		_, err := rand.Read(k)
		return k, err
	}
	p := filepath.Join(cfg.DataDir, "resume.key")
	if b, err := os.ReadFile(p); err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 16 {
			return nil, fmt.Errorf("%s: want at least 16 hex-encoded bytes", p)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

func (s *Service) signResume(ws, job, resumeID, approver string, exp int64) string {
	m := hmac.New(sha256.New, s.resumeKey)
	fmt.Fprintf(m, "%s\x00%s\x00%s\x00%s\x00%d", ws, job, resumeID, approver, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// ResumeURLs are a waiting job's approval links (Windmill's shape).
type ResumeURLs struct {
	ApprovalPage string `json:"approvalPage"`
	Resume       string `json:"resume"`
	Cancel       string `json:"cancel"`
}

// resumeURLs builds the signed links of job for approver, valid for ttl.
func (s *Service) resumeURLs(ws, job, resumeID, approver string, ttl time.Duration) ResumeURLs {
	if resumeID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		resumeID = strconv.FormatUint(uint64(b[0])<<24|uint64(b[1])<<16|uint64(b[2])<<8|uint64(b[3]), 10)
	}
	exp := time.Now().Add(ttl).Unix()
	sig := s.signResume(ws, job, resumeID, approver, exp)
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}}
	if approver != "" {
		q.Set("approver", approver)
	}
	base := strings.TrimRight(s.cfg.PublicURL, "/") + "/api/w/" + url.PathEscape(ws) + "/jobs_u/"
	tail := "/" + url.PathEscape(job) + "/" + url.PathEscape(resumeID) + "/" + sig + "?" + q.Encode()
	return ResumeURLs{
		ApprovalPage: base + "approval_page" + tail,
		Resume:       base + "resume" + tail,
		Cancel:       base + "cancel" + tail,
	}
}

// suspendTTL is how long approvals for job may come: the suspended
// module's timeout (a flow step's child asks for its flow's module), else
// the server's default.
func (s *Service) suspendTTL(ctx context.Context, j *store.Job) time.Duration {
	ttl := s.cfg.SuspendTimeout
	if j.FlowPath == "" || j.StepID == "" || j.ParentJob == "" {
		return ttl
	}
	par, err := s.st.GetJob(ctx, j.Workspace, j.ParentJob)
	if err != nil {
		return ttl
	}
	rec, err := s.st.GetFlow(ctx, j.Workspace, par.ScriptPath, par.FlowVersion)
	if err != nil {
		return ttl
	}
	var def flow.Flow
	if json.Unmarshal(rec.Definition, &def) != nil {
		return ttl
	}
	id := j.StepID
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	if m := def.Find(id); m != nil && m.Suspend != nil && m.Suspend.Timeout > 0 {
		return time.Duration(m.Suspend.Timeout) * time.Second
	}
	return ttl
}

// ResumeURLsFor answers GET jobs/resume_urls/{job}/{resume_id}: links
// for a job the principal may run. A flow's child job gets its flow's
// links (the flow is what waits).
func (s *Service) ResumeURLsFor(ctx context.Context, p *Principal, ws, id, resumeID, approver string) (ResumeURLs, error) {
	j, err := s.GetJob(ctx, p, ws, id)
	if err != nil {
		return ResumeURLs{}, err
	}
	if err := p.authorize(ws, actRun, runKind(j), j.ScriptPath); err != nil {
		return ResumeURLs{}, err
	}
	return s.jobResumeURLs(ctx, j, resumeID, approver), nil
}

func (s *Service) jobResumeURLs(ctx context.Context, j *store.Job, resumeID, approver string) ResumeURLs {
	target := j.ID
	if j.FlowPath != "" && j.ParentJob != "" {
		target = j.ParentJob
	}
	// Links for a wait in progress expire with it.
	s.mu.Lock()
	sus := s.suspended[target]
	s.mu.Unlock()
	ttl := s.suspendTTL(ctx, j)
	if sus != nil {
		ttl = max(time.Until(sus.deadline), time.Second)
	}
	return s.resumeURLs(j.Workspace, target, resumeID, approver, ttl)
}

// resumeEvent is one approval or cancel.
type resumeEvent struct {
	Approved bool            `json:"approved"`
	Approver string          `json:"approver,omitempty"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	At       time.Time       `json:"at"`
}

// Resume records an approval (approved) or a cancel of a waiting job from
// a signed URL. No principal: the signature is the authority.
func (s *Service) Resume(ctx context.Context, ws, id, resumeID, sig, approver, exp string, approved bool, payload json.RawMessage) error {
	expN, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return errf(http.StatusUnauthorized, "bad_signature", "the resume URL has no valid exp")
	}
	want := s.signResume(ws, id, resumeID, approver, expN)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errf(http.StatusUnauthorized, "bad_signature", "the resume URL's signature does not match")
	}
	if time.Now().Unix() > expN {
		return errf(http.StatusGone, "expired", "the resume URL expired at %s", time.Unix(expN, 0).UTC().Format(time.RFC3339))
	}
	j, err := s.st.GetJob(ctx, ws, id)
	if err != nil {
		return notFound("job %s not found", id)
	}
	if j.Done() {
		return precondition("job %s already finished (%s)", id, j.Status)
	}
	s.mu.Lock()
	sus := s.suspended[id]
	s.mu.Unlock()
	if sus == nil {
		return precondition("job %s is not waiting for an approval", id)
	}
	who := approver
	if who == "" {
		who = "anonymous-" + resumeID
	}
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	b, _ := json.Marshal(resumeEvent{Approved: approved, Approver: approver, Payload: payload, At: time.Now().UTC()})
	if err := s.st.PutCheckpoint(ctx, id, "resume:"+sus.step+":"+who, b, true); err != nil {
		return err
	}
	s.notify(id + "/resume")
	return nil
}

// awaitApproval waits until step of job has required approvals, a cancel,
// or the deadline (stored as a checkpoint, so a resumed run keeps it).
// It returns the events, approved ones first in time order.
func (s *Service) awaitApproval(ctx context.Context, job *store.Job, step string, required int, deadline time.Time, waiting func()) ([]resumeEvent, error) {
	key := job.ID + "/resume"
	s.mu.Lock()
	s.suspended[job.ID] = &suspension{step: step, deadline: deadline}
	s.mu.Unlock()
	if waiting != nil {
		waiting() // after the registration: a resume from now on is accepted
	}
	defer func() {
		s.mu.Lock()
		delete(s.suspended, job.ID)
		s.mu.Unlock()
	}()
	for {
		ch := s.subscribe(key)
		checks, err := s.st.Checkpoints(ctx, job.ID)
		if err != nil {
			s.unsubscribe(key, ch)
			return nil, err
		}
		var evs []resumeEvent
		for name, raw := range checks {
			if !strings.HasPrefix(name, "resume:"+step+":") {
				continue
			}
			var ev resumeEvent
			if json.Unmarshal(raw, &ev) == nil {
				evs = append(evs, ev)
			}
		}
		sort.Slice(evs, func(a, b int) bool { return evs[a].At.Before(evs[b].At) })
		approvals := 0
		for _, ev := range evs {
			if !ev.Approved {
				s.unsubscribe(key, ch)
				who := ev.Approver
				if who == "" {
					who = "an approver"
				}
				return evs, &flowError{Step: step, Name: "Disapproved", Message: "canceled by " + who}
			}
			approvals++
		}
		if approvals >= max(required, 1) {
			s.unsubscribe(key, ch)
			return evs, nil
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-ch:
			t.Stop()
		case <-t.C:
			s.unsubscribe(key, ch)
			return evs, &flowError{Step: step, Name: "ApprovalTimeout", Message: fmt.Sprintf("no approval before %s", deadline.UTC().Format(time.RFC3339))}
		case <-ctx.Done():
			t.Stop()
			s.unsubscribe(key, ch)
			return nil, ctx.Err()
		}
	}
}

// suspend makes a flow wait after module m for its approvals.
func (r *flowRun) suspend(m *flow.Module, step string, i int, sc *scope) error {
	ttl := r.s.cfg.SuspendTimeout
	if m.Suspend.Timeout > 0 {
		ttl = time.Duration(m.Suspend.Timeout) * time.Second
	}
	deadline, err := r.checkpointTime("suspend:"+step, time.Now().Add(ttl))
	if err != nil {
		return err
	}
	evs, err := r.s.awaitApproval(r.ctx, r.job, step, m.Suspend.RequiredEvents, deadline, func() {
		r.setTop(sc, i, func(st *store.FlowModuleStatus) { st.Status = store.FlowSuspended })
	})
	var names []string
	for _, ev := range evs {
		if ev.Approved {
			names = append(names, ev.Approver)
		}
	}
	r.setTop(sc, i, func(st *store.FlowModuleStatus) { st.Approvers = names })
	var fe *flowError
	if errors.As(err, &fe) && fe.Name == "ApprovalTimeout" && m.Suspend.ContinueOnDisapproveTimeout {
		return nil
	}
	if err != nil {
		return err
	}
	// The last approval's payload is "resume" to the next module.
	if n := len(evs); n > 0 {
		var v any
		_ = json.Unmarshal(evs[n-1].Payload, &v)
		sc.resume = v
	}
	return nil
}
