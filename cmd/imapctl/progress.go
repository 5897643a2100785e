package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progressEvery is how many messages pass between two plain progress
// lines when standard error is not a terminal.
const progressEvery = 1000

// progress reports how far a long copy has come: on a terminal one line
// that updates in place, with a bar, the count and the rate; elsewhere a
// plain line every progressEvery messages.
type progress struct {
	w     io.Writer
	tty   bool
	what  string
	total int
	done  int
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, what string, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, what: what, total: total, start: time.Now()}
}

func (p *progress) rate() float64 {
	s := time.Since(p.start).Seconds()
	if s <= 0 {
		return 0
	}
	return float64(p.done) / s
}

// add counts n more messages.
func (p *progress) add(n int) {
	p.done += n
	if p.tty {
		// Redraw at most ten times a second.
		if time.Since(p.last) < 100*time.Millisecond && p.done < p.total {
			return
		}
		p.last = time.Now()
		const width = 30
		filled := width
		if p.total > 0 {
			filled = min(width, p.done*width/p.total)
		}
		fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %.0f msgs/s ", p.what,
			strings.Repeat("=", filled), strings.Repeat(" ", width-filled), p.done, p.total, p.rate())
		return
	}
	if p.done/progressEvery != (p.done-n)/progressEvery {
		fmt.Fprintf(p.w, "%s: %d/%d messages, %.0f msgs/s\n", p.what, p.done, p.total, p.rate())
	}
}

// finish ends the progress display with a summary line.
func (p *progress) finish() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
	fmt.Fprintf(p.w, "%s: %d messages in %v (%.0f msgs/s)\n", p.what, p.done, time.Since(p.start).Round(time.Millisecond), p.rate())
}
