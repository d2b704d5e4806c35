package runtime

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Environment variables a worker process is started with.
const (
	envWorker      = "RUNLET_WORKER"       // "1" in a worker process
	envWorkerCache = "RUNLET_WORKER_CACHE" // compilation cache directory
)

// IsWorker reports whether this process was started as a runlet worker.
func IsWorker() bool { return os.Getenv(envWorker) == "1" }

// WorkerMain serves the engine that started this process and returns the
// process exit code. Programs that embed the engine call it first thing in
// main (and test binaries in TestMain) when [IsWorker] is true.
func WorkerMain() int {
	conn := os.NewFile(3, "runlet-engine")
	if conn == nil {
		fmt.Fprintln(os.Stderr, "runlet worker: fd 3 is not open")
		return 2
	}
	// A Go GC stop-the-world waits for a goroutine running guest machine
	// code (it has no safe points), so the worker collects only between
	// jobs; see gcPacer.
	debug.SetGCPercent(-1)
	settleGC()
	ctx := context.Background()
	w, err := newWorker(ctx, os.Getenv(envWorkerCache), conn, conn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runlet worker:", err)
		return 2
	}
	// RUNLET_WORKER_CPUPROFILE=prefix writes a CPU profile per worker
	// (prefix.<pid>) for diagnosis.
	if prefix := os.Getenv("RUNLET_WORKER_CPUPROFILE"); prefix != "" {
		if f, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid())); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if err := w.serve(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "runlet worker:", err)
		return 1
	}
	return 0
}

// proc is the engine's handle on one worker process.
type proc struct {
	cmd    *exec.Cmd
	conn   *os.File // blocking: reads are plain read(2) calls, no netpoller hop
	fd     int
	in     *frameReader
	loaded map[string]bool
	progs  map[string]uint32 // programs registered with this worker, by key
	exited chan struct{}     // closed when the process was reaped
	state  *os.ProcessState
	once   sync.Once
}

func (e *Engine) spawn() (*proc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	// The engine's end stays blocking: a blocked read costs one OS thread
	// per busy worker and saves a netpoller wake-up per frame. Deadlines
	// are enforced by killing the worker, which ends the read.
	conn := os.NewFile(uintptr(fds[0]), "worker-conn")
	child := os.NewFile(uintptr(fds[1]), "engine-conn")
	cmd := exec.Command(e.cfg.Command[0], e.cfg.Command[1:]...)
	cmd.Env = append(os.Environ(), envWorker+"=1", envWorkerCache+"="+e.cfg.CacheDir)
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stdout = e.cfg.Stderr
	cmd.Stderr = e.cfg.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		child.Close()
		conn.Close()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	child.Close()
	p := &proc{cmd: cmd, conn: conn, fd: fds[0], in: &frameReader{r: bufio.NewReaderSize(conn, 64<<10)}, loaded: map[string]bool{}, progs: map[string]uint32{}, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	t := time.AfterFunc(e.cfg.StartTimeout, p.kill)
	kind, _, err := p.in.read()
	t.Stop()
	if err != nil || kind != frameReady {
		p.kill()
		if err == nil {
			err = fmt.Errorf("unexpected frame %q", kind)
		}
		return nil, fmt.Errorf("worker did not become ready: %w", err)
	}
	return p, nil
}

// kill stops the worker for good. Reaping happens in the background.
func (p *proc) kill() {
	p.once.Do(func() {
		if p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			_ = p.cmd.Process.Kill()
		}
		// Wake a reader blocked on the connection at once.
		_ = unix.Shutdown(p.fd, unix.SHUT_RDWR)
		_ = p.conn.Close()
	})
}

// load makes the worker compile ref if it has not yet.
func (p *proc) load(ctx context.Context, ref moduleRef, timeout time.Duration) error {
	if p.loaded[ref.Hash] {
		return nil
	}
	if err := writeFrame(p.conn, frameLoad, ref); err != nil {
		return err
	}
	if err := p.awaitLoaded(ctx, timeout, "load module"); err != nil {
		return err
	}
	p.loaded[ref.Hash] = true
	return nil
}

// register makes sure the worker knows msg's program and returns its id.
func (p *proc) register(msg *jobMsg) (uint32, error) {
	lim, err := json.Marshal(msg.Limits)
	if err != nil {
		return 0, err
	}
	key := fmt.Sprintf("%s|%d|%x|%s|%s", msg.Module.Hash, msg.WarmRecycle, sha256.Sum256(msg.Load), lim, msg.Entry)
	if id, ok := p.progs[key]; ok {
		return id, nil
	}
	id := uint32(len(p.progs) + 1)
	pm := programMsg{ID: id, Module: msg.Module, WarmRecycle: msg.WarmRecycle, Limits: msg.Limits, Load: msg.Load, Entry: msg.Entry}
	if err := writeFrame(p.conn, frameProgram, pm); err != nil {
		return 0, err
	}
	p.progs[key] = id
	return id, nil
}

// prepare asks the worker to make msg's program ready.
func (p *proc) prepare(ctx context.Context, msg *jobMsg, timeout time.Duration) error {
	id, err := p.register(msg)
	if err != nil {
		return err
	}
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, id)
	if err := writeRaw(p.conn, framePrepare, b); err != nil {
		return err
	}
	return p.awaitLoaded(ctx, timeout, "prepare")
}

// awaitLoaded waits for the worker's frameLoaded answer to a load or
// prepare request. A worker that does not answer within timeout, or whose
// ctx ends, is killed; an answer carrying a message is a ModuleError (the
// worker is fine; the module is not).
func (p *proc) awaitLoaded(ctx context.Context, timeout time.Duration, what string) error {
	stop := context.AfterFunc(ctx, p.kill)
	defer stop()
	t := time.AfterFunc(timeout, p.kill)
	kind, payload, err := p.in.read()
	t.Stop()
	if err != nil {
		p.kill()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if kind != frameLoaded {
		return fmt.Errorf("%s: unexpected frame %q", what, kind)
	}
	if len(payload) > 0 {
		return &ModuleError{Message: string(payload)}
	}
	return nil
}
