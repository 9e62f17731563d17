package bake

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// pauseAt is the kill tests' hook, read once: with DATABAKER_TEST_PAUSE set
// to a point's name, the process writes "databaker: test pause at <point>"
// to stderr there and waits until its stdin is closed, so a test can kill
// it at exactly that point (or let it go on). With "list" it names each
// point as it passes it, so a test can find them all.
var pauseAt = sync.OnceValue(func() string { return os.Getenv("DATABAKER_TEST_PAUSE") })

// pauseRun is the running bake's context, for pause: see there.
var pauseRun atomic.Pointer[context.Context]

// pause is a named point of a run for the kill tests; see pauseAt.
func pause(point string) {
	switch pauseAt() {
	case "":
	case "list":
		fmt.Fprintf(os.Stderr, "databaker: test point %s\n", point)
	case point:
		// Say when a signal arrives while paused, so a test can wait for
		// it before letting the run go on (the run's own handler got it
		// at the same moment). Listen before saying where it is paused.
		sig, done := make(chan os.Signal, 1), make(chan struct{})
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		fmt.Fprintf(os.Stderr, "databaker: test pause at %s\n", point)
		go func() {
			select {
			case <-sig:
				// The run's own handler cancels its context on the same
				// signal, but in its own goroutine: say so only once it
				// has, so the run cannot go on uncancelled.
				if ctx := pauseRun.Load(); ctx != nil {
					<-(*ctx).Done()
				}
				fmt.Fprintln(os.Stderr, "databaker: test signal received")
			case <-done:
			}
		}()
		io.Copy(io.Discard, os.Stdin)
		signal.Stop(sig)
		close(done)
	}
}
