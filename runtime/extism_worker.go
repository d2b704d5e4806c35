package runtime

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/runlet/runlet/host"
	"github.com/runlet/runlet/host/fetch"
)

// Extism plugins in a worker process.
//
// Each program (module, memory limit, env) gets an extism.CompiledPlugin:
// its own wazero runtime, configured like the worker's (compiler, no
// CloseOnContextDone, the worker's compilation cache, so machine code is
// compiled once per process and loaded from disk after a restart). Jobs run
// on extism.Plugin instances: a fresh one per job in isolated mode (the
// next one is created after the reply), one reused instance in warm mode,
// replaced after WarmRecycle jobs or any error.
//
// The manifest never has a timeout: go-sdk would turn on
// CloseOnContextDone, which costs ~7x on loops. A plugin still running at
// its deadline is stopped only when it next logs, writes to stdout/stderr or
// makes an HTTP request (the host function fails the call); a plugin that
// just computes runs until the engine kills the worker at the deadline plus
// Config.Grace (TimeoutError{Hard: true}).

// maxVarBytes bounds an instance's Extism vars (var_set), go-sdk's default.
const maxVarBytes = 1 << 20

// errStopped ends a plugin's call at a host function after the deadline.
var errStopped = errors.New("runlet: the job reached its deadline")

// extismPrograms holds a worker's Extism programs.
type extismPrograms struct {
	progs map[string]*extismProgram
	cache wazero.CompilationCache
	once  sync.Once
}

// extismProgram is one compiled plugin and its idle instance.
type extismProgram struct {
	compiled  *extism.CompiledPlugin
	limits    Limits // what the program key covers: memory and env
	idle      *extismInstance
	lastReset time.Duration
}

// extismInstance is one instantiated plugin.
type extismInstance struct {
	plugin *extism.Plugin
	mems   *memTracker
	stdout *switchWriter
	stderr *switchWriter
	jobs   int
}

// setup prepares the worker process for Extism plugins, once: go-sdk's
// process-wide log level, and its HTTP client (go-sdk's http_request uses
// http.DefaultClient) sending every request through the job's host.Job,
// so the job's allow-list and private-network policy apply exactly as for
// every other guest.
func (x *extismPrograms) setup(w *worker) {
	x.once.Do(func() {
		x.progs = map[string]*extismProgram{}
		x.cache = w.cache
		if x.cache == nil {
			// Programs still share compiled code within the process.
			x.cache = wazero.NewCompilationCache()
		}
		// Debug, not trace: go-sdk logs its instantiation steps at trace
		// through the standard logger. Plugins' log_trace lines are dropped.
		extism.SetLogLevel(extism.LogLevelDebug)
		// Guest output goes to the job's logs, never the worker's stdout.
		_ = os.Unsetenv("EXTISM_ENABLE_WASI_OUTPUT")
		http.DefaultClient.Transport = hostTransport{}
		// The fetcher follows redirects itself, each hop under the policy.
		http.DefaultClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	})
}

// program returns job's compiled plugin, compiling it on first use.
func (x *extismPrograms) program(ctx context.Context, w *worker, job *jobMsg) (*extismProgram, error) {
	x.setup(w)
	if p, ok := x.progs[job.key]; ok {
		return p, nil
	}
	wasm, err := os.ReadFile(job.Module.Path)
	if err != nil {
		return nil, fmt.Errorf("read plugin: %w", err)
	}
	manifest := extism.Manifest{
		Wasm: []extism.Wasm{extism.WasmData{Data: wasm, Name: "main"}},
		// No MaxPages: the memory limit is the instance's allocator
		// (memTracker), which unlike wazero's page limit records a refused
		// grow, so the job fails with OutOfMemoryError.
		Memory:       &extism.ManifestMemory{MaxHttpResponseBytes: fetch.DefaultMaxResponseBytes, MaxVarBytes: maxVarBytes},
		Config:       job.Limits.Env,
		AllowedHosts: manifestHosts(job.Limits.AllowedHosts),
		// No Timeout: see the comment at the top of this file.
	}
	cfg := extism.PluginConfig{
		RuntimeConfig: wazero.NewRuntimeConfigCompiler().WithCompilationCache(x.cache),
		EnableWasi:    true,
	}
	cp, err := extism.NewCompiledPlugin(ctx, manifest, cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("compile plugin %s: %w", job.Module.Hash, err)
	}
	if len(x.progs) >= maxPrograms {
		for k, p := range x.progs {
			p.idle.close(ctx)
			_ = p.compiled.Close(ctx)
			delete(x.progs, k)
			break
		}
	}
	p := &extismProgram{compiled: cp, limits: job.Limits}
	x.progs[job.key] = p
	return p, nil
}

// instance creates an instance of p. Its linear memories (the plugin's and
// the Extism kernel's) are runlet's reserved mappings, each limited to
// Limits.MaxMemory. The guest's own initialisation (_initialize) runs on its
// first call.
func (p *extismProgram) instance(ctx context.Context) (*extismInstance, error) {
	inst := &extismInstance{mems: &memTracker{limit: uint64(p.limits.MaxMemory)}, stdout: &switchWriter{}, stderr: &switchWriter{}}
	cfg := guestConfig(inst.stdout, inst.stderr, p.limits.Env)
	pl, err := p.compiled.Instance(experimental.WithMemoryAllocator(ctx, inst.mems), extism.PluginInstanceConfig{ModuleConfig: cfg})
	if err != nil {
		if inst.mems.oom() {
			return nil, &OutOfMemoryError{Limit: p.limits.MaxMemory}
		}
		return nil, fmt.Errorf("instantiate plugin: %w", err)
	}
	pl.SetLogger(discardLog)
	inst.plugin = pl
	return inst, nil
}

func (i *extismInstance) close(ctx context.Context) {
	if i != nil && i.plugin != nil {
		_ = i.plugin.Close(ctx)
		i.plugin = nil
	}
}

func discardLog(extism.LogLevel, string) {}

// prepareExtism makes an idle instance of def's plugin ready.
func (w *worker) prepareExtism(ctx context.Context, def *jobMsg) error {
	p, err := w.extism.program(ctx, w, def)
	if err != nil || p.idle != nil {
		return err
	}
	inst, err := p.instance(ctx)
	if err != nil {
		return err
	}
	p.idle = inst
	return nil
}

// runExtism runs one job on an Extism plugin and replies; like runJob it
// returns the clean-up to do after the reply.
func (w *worker) runExtism(ctx context.Context, job *jobMsg) (after func()) {
	start := time.Now()
	var stats Stats
	st := &stopper{timeout: job.Limits.Timeout}
	logs := host.NewLogs(job.Limits.MaxLogBytes, st.fire)
	st.timer = time.AfterFunc(job.Limits.Timeout, st.fire)
	p, err := w.extism.program(ctx, w, job)
	if err != nil {
		st.finish()
		w.replyDone(nil, &wireError{Kind: "internal", Message: err.Error()}, logs, stats)
		return nil
	}
	stats.Reset = p.lastReset
	hj := &host.Job{
		Logs:         logs,
		MaxResult:    job.Limits.MaxResultBytes,
		MaxHostCalls: job.Limits.MaxHostCalls,
		Policy:       fetch.Policy{AllowedHosts: job.Limits.AllowedHosts, AllowPrivate: job.Limits.AllowPrivate},
		Stop:         st.fire,
	}
	if len(job.Limits.AllowedHosts) > 0 {
		hj.Fetcher = w.fetcher
	}
	inst := p.idle
	p.idle = nil
	if inst != nil && !job.Warm && inst.jobs > 0 {
		inst.close(ctx) // a warm instance: an isolated job needs a clean one
		inst = nil
	}
	if inst == nil {
		stats.Fresh = true
		inst, err = p.instance(ctx)
		stats.Prepare = time.Since(start)
		if err != nil {
			st.finish()
			werr := &wireError{Kind: "script", Message: err.Error()}
			if oom := (*OutOfMemoryError)(nil); errors.As(err, &oom) {
				werr = &wireError{Kind: "oom", Message: err.Error(), Limit: job.Limits.MaxMemory}
			}
			w.replyDone(nil, werr, logs, stats)
			return nil
		}
	}

	call := &extismCall{job: hj, stop: st, entry: cmp.Or(job.Entry, DefaultEntry)}
	stdout := &guestStream{call: call, s: logs.Stream(host.LevelInfo)}
	stderr := &guestStream{call: call, s: logs.Stream(host.LevelError)}
	inst.stdout.set(stdout)
	inst.stderr.set(stderr)
	inst.plugin.SetLogger(call.log)
	// The compiled plugin is shared by programs that differ only in hosts.
	inst.plugin.AllowedHosts = manifestHosts(job.Limits.AllowedHosts)
	cctx, cancel := context.WithTimeout(context.WithValue(ctx, extismCallKey{}, call), job.Limits.Timeout)

	runStart := time.Now()
	var (
		rc      uint32
		out     []byte
		callErr error
		errMsg  string
	)
	exists := inst.plugin.FunctionExists(call.entry)
	if exists {
		rc, out, callErr = inst.plugin.CallWithContext(cctx, call.entry, job.Args)
		if callErr != nil || rc != 0 {
			errMsg = inst.plugin.GetError()
		}
	}
	stats.Run = time.Since(runStart)
	deadline := cctx.Err() != nil
	cancel()
	fired := st.finish() || deadline
	stdout.s.Flush()
	stderr.s.Flush()
	inst.stdout.set(nil)
	inst.stderr.set(nil)
	inst.plugin.SetLogger(discardLog)
	inst.jobs++

	var (
		result []byte
		werr   *wireError
	)
	if !exists {
		werr = &wireError{Kind: "script", Message: fmt.Sprintf("the plugin exports no function %q", call.entry)}
	} else {
		o := extismOutcome{rc: rc, out: out, err: callErr, errMsg: errMsg, stopped: fired, oom: inst.mems.oom() || logs.SawOutOfMemory(), call: call, logs: logs, limits: job.Limits}
		result, werr = o.classify()
	}
	w.replyDone(result, werr, logs, stats)

	return func() {
		t := time.Now()
		defer func() { p.lastReset = time.Since(t) }()
		// An instance whose plugin exited (proc_exit, even with 0, which
		// go-sdk reports as success) is closed.
		if job.Warm && werr == nil && !inst.mems.closed() && (job.WarmRecycle <= 0 || inst.jobs < job.WarmRecycle) {
			p.idle = inst // warm: keep the state as it is
			return
		}
		inst.close(ctx)
		// Prepare the replacement now, between jobs.
		if ni, err := p.instance(ctx); err == nil {
			p.idle = ni
		}
	}
}

// replyDone sends a job's frameDone.
func (w *worker) replyDone(res []byte, werr *wireError, logs *host.Logs, stats Stats) {
	b, err := encodeDone(&doneMsg{Result: res, Error: werr, Logs: logs.Lines(), Stats: stats})
	if err != nil {
		b, _ = encodeDone(&doneMsg{Error: &wireError{Kind: "internal", Message: err.Error()}, Stats: stats})
	}
	_ = writeRaw(w.out, frameDone, b)
}

// extismOutcome is what a plugin call left behind.
type extismOutcome struct {
	rc      uint32
	out     []byte
	err     error  // the call's error: a trap, an exit, or the plugin's error_set message
	errMsg  string // the plugin's error_set message, if any
	stopped bool   // the deadline passed
	oom     bool   // a memory grow past the limit was refused
	call    *extismCall
	logs    *host.Logs
	limits  Limits
}

// classify turns the outcome into a result or the wire error the Go path
// would send for the same failure.
func (o *extismOutcome) classify() ([]byte, *wireError) {
	limit := o.call.job.Limit()
	if o.err == nil && o.rc == 0 {
		if limit != nil {
			return nil, limitWire(limit)
		}
		res, err := jsonOutput(o.out)
		if err != nil {
			return nil, &wireError{Kind: "script", Message: err.Error()}
		}
		if max := o.limits.MaxResultBytes; max > 0 && int64(len(res)) > max {
			return nil, limitWire(&LimitError{Kind: "result", Limit: max})
		}
		return res, nil
	}
	var exit *sys.ExitError
	fatal := o.logs.Fatal()
	switch {
	case o.oom:
		return nil, &wireError{Kind: "oom", Message: "out of memory", Limit: o.limits.MaxMemory}
	case limit != nil:
		return nil, limitWire(limit)
	case o.stopped:
		return nil, &wireError{Kind: "timeout", Message: errorText(o.err)}
	case o.call.httpErr != nil:
		return nil, &wireError{Kind: "script", Message: o.call.httpErr.Error()}
	case o.errMsg != "":
		msg := o.errMsg
		if max := o.limits.MaxResultBytes; max > 0 && int64(len(msg)) > max {
			msg = msg[:max] // keep the start of an oversized message, as error_set does
		}
		return nil, &wireError{Kind: "script", Message: msg}
	case fatal != "":
		// The guest runtime crashed and said why on stderr (a Go panic).
		msg, panicked := strings.CutPrefix(fatal, "panic: ")
		return nil, &wireError{Kind: "script", Message: msg, Stack: errorText(o.err), Panic: panicked}
	case errors.As(o.err, &exit):
		return nil, &wireError{Kind: "exit", Code: exit.ExitCode(), Message: o.err.Error()}
	case o.err != nil && strings.Contains(o.err.Error(), " (recovered by wazero)"):
		// A host function refused the call (go-sdk panics: a host not in
		// the manifest, a full var store, ...).
		msg, stack, _ := strings.Cut(o.err.Error(), "\n")
		return nil, &wireError{Kind: "script", Message: strings.TrimSuffix(msg, " (recovered by wazero)"), Stack: stack}
	case o.err != nil:
		return nil, &wireError{Kind: "trap", Message: o.err.Error()}
	}
	return nil, &wireError{Kind: "script", Message: fmt.Sprintf("%s returned %d without an error message", o.call.entry, o.rc)}
}

func limitWire(l *LimitError) *wireError {
	return &wireError{Kind: "limit", Message: l.Error(), LimitKind: l.Kind, Limit: l.Limit}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// jsonOutput makes a plugin's output the job's JSON result: JSON as is,
// nothing as null, and other UTF-8 text as a JSON string (many Extism
// plugins return plain text).
func jsonOutput(out []byte) ([]byte, error) {
	switch {
	case len(bytes.TrimSpace(out)) == 0:
		return []byte("null"), nil
	case json.Valid(out):
		return out, nil
	case utf8.Valid(out):
		return json.Marshal(string(out))
	}
	return nil, errors.New("the plugin's output is neither JSON nor UTF-8 text")
}

// extismCallKey carries the running call's *extismCall in the context
// go-sdk hands to its host functions (and its HTTP requests).
type extismCallKey struct{}

// extismCall is one job's view of the host functions go-sdk calls back.
type extismCall struct {
	job     *host.Job
	stop    *stopper
	entry   string
	running bool  // go-sdk called the entry: later log lines are the plugin's
	httpErr error // why the host refused or failed an HTTP request
}

// log receives go-sdk's log lines: the plugin's (log_debug … log_error)
// and go-sdk's own debug lines, which all come before the entry is called.
func (c *extismCall) log(level extism.LogLevel, msg string) {
	if !c.running && level <= extism.LogLevelDebug {
		if msg == "Calling function : "+c.entry {
			c.running = true
		}
		return
	}
	c.check()
	if err := c.job.Log(hostLevel(level), msg); err != nil {
		panic(err) // ends the call: the plugin is past a limit
	}
}

// check ends the plugin's call when the job is past its deadline (or was
// told to stop by a limit).
func (c *extismCall) check() {
	if c.stop.stopped() {
		panic(errStopped)
	}
}

func hostLevel(l extism.LogLevel) host.Level {
	switch {
	case l <= extism.LogLevelDebug:
		return host.LevelDebug
	case l == extism.LogLevelInfo:
		return host.LevelInfo
	case l == extism.LogLevelWarn:
		return host.LevelWarn
	}
	return host.LevelError
}

// stopped reports whether s fired and the job is still running.
func (s *stopper) stopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fired && !s.done
}

// guestStream feeds a plugin's WASI stdout or stderr into the job's logs
// and ends the call once the log budget is spent or the deadline passed.
type guestStream struct {
	call *extismCall
	s    *host.Stream
}

func (g *guestStream) Write(p []byte) (int, error) {
	n, _ := g.s.Write(p)
	if l := g.call.job.Limit(); l != nil {
		panic(l)
	}
	g.call.check()
	return n, nil
}

// hostTransport is http.DefaultClient's transport in a worker: go-sdk's
// http_request sends requests through it, and it hands them to the job's
// host.Job, exactly like the runlet ABI's OpHTTP host call.
type hostTransport struct{}

func (hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	c, _ := req.Context().Value(extismCallKey{}).(*extismCall)
	if c == nil {
		return nil, errors.New("runlet: outbound HTTP outside a job")
	}
	if c.stop.stopped() {
		return nil, errStopped
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
	}
	headers := make(map[string]string, len(req.Header))
	for k, v := range req.Header {
		headers[k] = strings.Join(v, ", ")
	}
	resp, err := c.job.Fetch(req.Context(), fetch.Request{Method: req.Method, URL: req.URL.String(), Headers: headers, Body: body})
	if err != nil {
		c.httpErr = fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
		return nil, err
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)),
		StatusCode:    resp.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header(resp.Headers),
		Body:          io.NopCloser(bytes.NewReader(resp.Body)),
		ContentLength: int64(len(resp.Body)),
		Request:       req,
	}, nil
}

// manifestHosts turns runlet's host patterns into go-sdk's AllowedHosts,
// which go-sdk matches (exactly or as globs) against the URL's host name
// before a request reaches hostTransport: ports and IPv6 brackets are
// dropped (runlet's policy, applied after, checks the port), and entries
// go-sdk's glob syntax would misread are left out.
func manifestHosts(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		h := strings.ToLower(strings.TrimSpace(p))
		if rest, ok := strings.CutPrefix(h, "["); ok {
			var closed bool
			if h, _, closed = strings.Cut(rest, "]"); !closed {
				continue // malformed: never matches in runlet's policy either
			}
		} else if strings.Count(h, ":") == 1 {
			h, _, _ = strings.Cut(h, ":")
		}
		h = strings.TrimSuffix(h, ".")
		if h == "" || strings.ContainsAny(h, "[]{}?!\\") || slices.Contains(out, h) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// memTracker allocates an instance's linear memories (runlet's reserved
// mappings, see memory.go) and remembers them, so a refused grow can be
// told apart from other traps.
type memTracker struct {
	limit uint64
	mu    sync.Mutex
	mems  []*linearMemory
}

func (t *memTracker) Allocate(capacity, max uint64) experimental.LinearMemory {
	a := &memoryAllocator{limit: t.limit}
	m := a.Allocate(capacity, max)
	t.mu.Lock()
	t.mems = append(t.mems, a.take())
	t.mu.Unlock()
	return m
}

// closed reports whether a memory was freed: its module was closed (the
// plugin called proc_exit).
func (t *memTracker) closed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.mems {
		if m.mem == nil {
			return true
		}
	}
	return false
}

func (t *memTracker) oom() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.mems {
		if m.oom {
			return true
		}
	}
	return false
}
