package clienttest

import (
	"encoding/json"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NextFire is the next_fire the fake reports for every enabled schedule.
const NextFire = "2030-01-02T03:04:05+01:00"

// scheduleSettings are the NewSchedule fields an update replaces.
var scheduleSettings = []string{"schedule", "timezone", "cron_version", "script_path", "is_flow", "args", "paused_until",
	"summary", "no_flow_overlap", "catch_up", "retry", "on_failure", "on_failure_times", "on_failure_extra_args",
	"on_recovery", "on_recovery_extra_args", "on_success", "on_success_extra_args"}

func (s *Server) scheduleRoutes() map[string]func(w http.ResponseWriter, r *http.Request, body []byte) {
	return map[string]func(w http.ResponseWriter, r *http.Request, body []byte){
		"POST /api/w/{ws}/schedules/create":               s.createSchedule,
		"POST /api/w/{ws}/schedules/update/{path...}":     s.updateSchedule,
		"POST /api/w/{ws}/schedules/setenabled/{path...}": s.setScheduleEnabled,
		"DELETE /api/w/{ws}/schedules/delete/{path...}":   s.deleteSchedule,
		"GET /api/w/{ws}/schedules/get/{path...}":         s.getSchedule,
		"GET /api/w/{ws}/schedules/exists/{path...}":      s.scheduleExists,
		"GET /api/w/{ws}/schedules/list":                  s.listSchedules,
		"GET /api/w/{ws}/schedules/runs/{path...}":        s.scheduleRuns,
	}
}

// Schedule returns a copy of the stored schedule at path, as get shows it.
func (s *Server) Schedule(path string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[path]
	if !ok {
		return nil, false
	}
	return maps.Clone(sc), true
}

// AddSchedule stores a schedule as if created (enabled unless it says).
func (s *Server) AddSchedule(sc map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storeSchedule(sc)
}

func (s *Server) storeSchedule(b map[string]any) {
	sc := map[string]any{"workspace_id": s.cfg.Workspace, "enabled": true, "args": map[string]any{}, "is_flow": false,
		"no_flow_overlap": false, "created_by": "admin", "created_at": time.Now().UTC().Format(time.RFC3339)}
	for k, v := range b {
		sc[k] = v
	}
	s.schedules[sc["path"].(string)] = sc
	s.nextFire(sc)
}

// nextFire sets or clears next_fire by enabled.
func (s *Server) nextFire(sc map[string]any) {
	if sc["enabled"] == true {
		sc["next_fire"] = NextFire
	} else {
		delete(sc, "next_fire")
	}
}

func decodeObject(w http.ResponseWriter, body []byte) (map[string]any, bool) {
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil || b == nil {
		apiError(w, http.StatusBadRequest, "invalid_argument", "the body is not a JSON object", "body")
		return nil, false
	}
	return b, true
}

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request, body []byte) {
	b, ok := decodeObject(w, body)
	if !ok {
		return
	}
	path, _ := b["path"].(string)
	switch {
	case path == "":
		apiError(w, http.StatusBadRequest, "invalid_argument", "path: required", "path")
		return
	case b["schedule"] == nil || b["schedule"] == "":
		apiError(w, http.StatusBadRequest, "invalid_argument", "schedule: required", "schedule")
		return
	case b["script_path"] == nil || b["script_path"] == "":
		apiError(w, http.StatusBadRequest, "invalid_argument", "script_path: required", "script_path")
		return
	case s.schedules[path] != nil:
		apiError(w, http.StatusConflict, "conflict", "schedule "+path+" exists", "")
		return
	}
	s.storeSchedule(b)
	writeText(w, http.StatusCreated, path)
}

func (s *Server) findSchedule(w http.ResponseWriter, r *http.Request) map[string]any {
	path := r.PathValue("path")
	sc := s.schedules[path]
	if sc == nil {
		apiError(w, http.StatusNotFound, "not_found", "no schedule at "+path, "")
	}
	return sc
}

// updateSchedule replaces every setting; enabled only when given; without
// script_path the target stays.
func (s *Server) updateSchedule(w http.ResponseWriter, r *http.Request, body []byte) {
	sc := s.findSchedule(w, r)
	if sc == nil {
		return
	}
	b, ok := decodeObject(w, body)
	if !ok {
		return
	}
	if p, ok := b["path"]; ok && p != r.PathValue("path") {
		apiError(w, http.StatusBadRequest, "invalid_argument", "path: a schedule cannot be renamed", "path")
		return
	}
	keep := b["script_path"] == nil || b["script_path"] == ""
	for _, k := range scheduleSettings {
		if keep && (k == "script_path" || k == "is_flow") {
			continue
		}
		if v, ok := b[k]; ok {
			sc[k] = v
		} else {
			delete(sc, k)
		}
	}
	if sc["args"] == nil {
		sc["args"] = map[string]any{}
	}
	if v, ok := b["enabled"].(bool); ok {
		sc["enabled"] = v
	}
	sc["edited_at"] = time.Now().UTC().Format(time.RFC3339)
	s.nextFire(sc)
	writeText(w, http.StatusOK, r.PathValue("path"))
}

func (s *Server) setScheduleEnabled(w http.ResponseWriter, r *http.Request, body []byte) {
	sc := s.findSchedule(w, r)
	if sc == nil {
		return
	}
	var b struct {
		Enabled *bool `json:"enabled"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Enabled == nil {
		apiError(w, http.StatusBadRequest, "invalid_argument", `want {"enabled": bool}`, "enabled")
		return
	}
	sc["enabled"] = *b.Enabled
	s.nextFire(sc)
	writeJSON(w, http.StatusOK, sc)
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request, _ []byte) {
	if sc := s.findSchedule(w, r); sc != nil {
		delete(s.schedules, r.PathValue("path"))
		writeText(w, http.StatusOK, r.PathValue("path"))
	}
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request, _ []byte) {
	if sc := s.findSchedule(w, r); sc != nil {
		writeJSON(w, http.StatusOK, sc)
	}
}

func (s *Server) scheduleExists(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeJSON(w, http.StatusOK, s.schedules[r.PathValue("path")] != nil)
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request, _ []byte) {
	prefix := r.URL.Query().Get("path_start")
	out := []map[string]any{}
	for p, sc := range s.schedules {
		if strings.HasPrefix(p, prefix) {
			out = append(out, sc)
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i]["path"].(string) < out[k]["path"].(string) })
	writeJSON(w, http.StatusOK, out)
}

// scheduleRuns lists the jobs whose schedule_path is the path, newest
// first, at most per_page (default 20).
func (s *Server) scheduleRuns(w http.ResponseWriter, r *http.Request, _ []byte) {
	if s.findSchedule(w, r) == nil {
		return
	}
	limit := 20
	if v := r.URL.Query().Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			apiError(w, http.StatusBadRequest, "invalid_argument", "per_page: want 1 to 1000", "per_page")
			return
		}
		limit = n
	}
	out := []Job{}
	for i := len(s.jobs) - 1; i >= 0 && len(out) < limit; i-- {
		if s.jobs[i].SchedulePath == r.PathValue("path") {
			out = append(out, s.jobs[i].Job)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
