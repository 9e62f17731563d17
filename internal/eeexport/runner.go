package eeexport

import (
	"log/slog"
	"os"
	"time"
)

// Runner is what an export's Lambda handler holds: its Exporter, a logger
// and the clock that defines "today". Handlers embed it.
type Runner struct {
	Exp *Exporter
	Log *slog.Logger
	Now func() time.Time
}

// Option customises a Runner.
type Option func(*Runner)

// WithClock sets the clock that defines "today".
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.Now = now } }

// WithTempDir sets where the file is staged before upload (default os.TempDir()).
func WithTempDir(dir string) Option { return func(r *Runner) { r.Exp.TempDir = dir } }

// NewRunner returns a Runner for an export named app (see NewExporter),
// logging JSON to stderr when logger is nil.
func NewRunner(cfg Config, app string, s3c S3API, ssmc SSMAPI, logger *slog.Logger, opts ...Option) Runner {
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	r := Runner{Exp: NewExporter(cfg, app, s3c, ssmc), Log: logger, Now: time.Now}
	for _, o := range opts {
		o(&r)
	}
	r.Exp.Now = r.Now
	return r
}
