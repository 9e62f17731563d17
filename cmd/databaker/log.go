package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// logFormatFlag adds --log-format to a command that logs. Humans read the
// CLI's stderr, so text is the default; json is for a machine reading it,
// in the same shape as the Lambdas' logs.
func logFormatFlag(fs *flag.FlagSet) *string {
	return fs.String("log-format", "text", "log `format` on stderr: text (warnings, one readable line each) or json (every record from INFO, as the Lambdas log)")
}

// newLogger returns the logger for --log-format on w.
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(&lineHandler{w: w, mu: &sync.Mutex{}, level: slog.LevelWarn}), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})), nil
	default:
		return nil, usagef("--log-format must be text or json, got %q", format)
	}
}

// lineHandler writes a record as one line in the style of the progress
// lines: "databaker: WARN message: key=value key=value". It has no time
// (the terminal's reader is watching) and quotes only values with spaces.
type lineHandler struct {
	w      io.Writer
	mu     *sync.Mutex
	level  slog.Level
	attrs  []slog.Attr // from WithAttrs, keys prefixed with their groups
	prefix string      // open group names, "a.b."
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "databaker: %s %s", r.Level, r.Message)
	sep := ": "
	add := func(prefix string, a slog.Attr) {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return
		}
		v := a.Value.String()
		if strings.ContainsAny(v, " \t\n\"=") || v == "" {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, "%s%s%s=%s", sep, prefix, a.Key, v)
		sep = " "
	}
	for _, a := range h.attrs {
		add("", a) // keys already carry their groups
	}
	r.Attrs(func(a slog.Attr) bool { add(h.prefix, a); return true })
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = slices.Clone(h.attrs)
	for _, a := range as {
		a.Key = h.prefix + a.Key
		c.attrs = append(c.attrs, a)
	}
	return &c
}

func (h *lineHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

// lockedWriter serialises writes, so lines written from several goroutines
// (progress, log records) never interleave or race, whatever w is.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
