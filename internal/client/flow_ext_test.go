package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/client"
)

// flowServer is a stand-in for the flow endpoints: it records each
// request and answers from a table by method and path.
type flowServer struct {
	mu   sync.Mutex
	reqs []flowRequest
}

type flowRequest struct {
	method, path, contentType string
	body                      []byte
}

func (f *flowServer) last() flowRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

func startFlowServer(t *testing.T, answers map[string]func(w http.ResponseWriter)) (*flowServer, *client.Client, context.Context) {
	t.Helper()
	fs := &flowServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fs.mu.Lock()
		fs.reqs = append(fs.reqs, flowRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), b})
		fs.mu.Unlock()
		if a := answers[r.Method+" "+r.URL.Path]; a != nil {
			a(w)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"code":"not_found","message":"no flow at \"f/x/none\""}}`)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return fs, client.New(srv.URL, token, "main").WithPollInterval(time.Millisecond), ctx
}

func answer(status int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestFlowPush(t *testing.T) {
	t.Parallel()
	pushed := `{"path":"f/x/y","version":3,"warnings":[{"Field":"value.foo","Message":"unknown field \"foo\" (ignored)"}]}`
	fs, c, ctx := startFlowServer(t, map[string]func(http.ResponseWriter){
		"POST /api/w/main/flows/create":       answer(http.StatusCreated, pushed),
		"POST /api/w/main/flows/update/f/x/y": answer(http.StatusOK, pushed),
	})

	// A JSON document goes to flows/create with the path added.
	res, err := c.CreateFlow(ctx, "f/x/y", []byte(` {"summary":"s","value":{"modules":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != "f/x/y" || res.Version != 3 || len(res.Warnings) != 1 || res.Warnings[0].Field != "value.foo" {
		t.Fatalf("create: %+v", res)
	}
	req := fs.last()
	jsonEqual(t, req.body, `{"path":"f/x/y","summary":"s","value":{"modules":[]}}`)
	if req.path != "/api/w/main/flows/create" || req.contentType != "application/json" {
		t.Fatalf("create request: %+v", req)
	}

	// YAML goes as is to flows/update/{path}, for a new path too.
	yamlDoc := "summary: s\nvalue:\n  modules: []\n"
	for _, push := range []func(context.Context, string, []byte) (*client.PushedFlow, error){c.CreateFlow, c.UpdateFlow} {
		if _, err := push(ctx, "f/x/y", []byte(yamlDoc)); err != nil {
			t.Fatal(err)
		}
		if req := fs.last(); req.path != "/api/w/main/flows/update/f/x/y" || string(req.body) != yamlDoc || req.contentType != "application/yaml" {
			t.Fatalf("YAML push request: %+v", req)
		}
	}
	if _, err := c.UpdateFlow(ctx, "f/x/y", []byte(`{"value":{"modules":[]}}`)); err != nil {
		t.Fatal(err)
	}
	if req := fs.last(); string(req.body) != `{"value":{"modules":[]}}` || req.contentType != "application/json" {
		t.Fatalf("JSON update request: %+v", req)
	}

	if _, err := c.GetFlow(ctx, "f/x/none", 2); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("get a missing flow: %v", err)
	}
	if req := fs.last(); req.path != "/api/w/main/flows/get/v/2/p/f/x/none" {
		t.Fatalf("get version request: %+v", req)
	}
}

// TestFlowRunSkipped: a run still going at the wait limit is polled; one
// that ends skipped is not a failure.
func TestFlowRunSkipped(t *testing.T) {
	t.Parallel()
	const id = "0190a000-0000-7000-8000-000000000001"
	_, c, ctx := startFlowServer(t, map[string]func(http.ResponseWriter){
		"POST /api/w/main/jobs/run_wait_result/f/f/x/trig": answer(http.StatusAccepted, `{"id":"`+id+`"}`),
		"GET /api/w/main/jobs_u/getupdate/" + id:           answer(http.StatusOK, `{"running":false,"completed":true,"new_logs":"","log_offset":0}`),
		"GET /api/w/main/jobs_u/get/" + id: answer(http.StatusOK, `{"id":"`+id+`","type":"CompletedJob","status":"skipped","success":true,
			"is_skipped":true,"job_kind":"flow","flow_status":{"step":0,"modules":[{"id":"a","type":"rawscript","status":"skipped"}]}}`),
		"GET /api/w/main/jobs_u/completed/get_result/" + id: answer(http.StatusOK, `null`),
		"GET /api/w/main/jobs_u/flow_status/" + id:          answer(http.StatusOK, `{"id":"`+id+`","status":"skipped","flow_status":{"step":0,"modules":[{"id":"a","type":"rawscript","status":"skipped","job":"j1"}]}}`),
	})
	res, err := c.RunFlowWait(ctx, "f/x/trig", nil)
	if err != nil || string(res) != "null" {
		t.Fatalf("run: %s %v", res, err)
	}
	j, err := c.GetJob(ctx, id)
	if err != nil || j.State() != client.StatusSkipped || !j.Done() || j.JobKind != "flow" || j.FlowStatus.Modules[0].Status != "skipped" {
		t.Fatalf("job: %+v %v", j, err)
	}
	st, err := c.FlowStatus(ctx, id)
	if err != nil || st.Status != "skipped" || len(st.Flow.Modules) != 1 || st.Flow.Modules[0].Job != "j1" {
		b, _ := json.Marshal(st)
		t.Fatalf("flow status: %s %v", b, err)
	}
}
