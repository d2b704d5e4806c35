package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// waitProgress is a one-line "running PATH… 12s" status redrawn on a terminal
// while a command waits; on anything else (a pipe, a file) it stays quiet.
type waitProgress struct {
	w     io.Writer
	mu    sync.Mutex
	text  string
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
	shown bool
}

// progressDelay is how long a wait lasts before the line appears, so that
// quick commands do not flicker.
const progressDelay = 500 * time.Millisecond

// startProgress starts showing text on w, if w is a terminal.
func startProgress(w io.Writer, text string) *waitProgress {
	p := &waitProgress{w: w, text: text}
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	p.quit, p.done = make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(p.done)
		t := time.NewTimer(progressDelay)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
			}
			p.mu.Lock()
			fmt.Fprintf(p.w, "\r\033[K%s… %s", p.text, time.Since(start).Truncate(time.Second))
			p.shown = true
			p.mu.Unlock()
			t.Reset(time.Second)
		}
	}()
	return p
}

// label changes the text shown.
func (p *waitProgress) label(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.text = text
}

// stop stops the line and erases it. It may be called more than once.
func (p *waitProgress) stop() {
	if p.quit == nil {
		return
	}
	p.once.Do(func() {
		close(p.quit)
		<-p.done
		if p.shown {
			fmt.Fprint(p.w, "\r\033[K")
		}
	})
}
