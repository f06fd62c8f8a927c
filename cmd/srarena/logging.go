package main

import (
	"context"
	"io"
	"log/slog"
	"os"
)

// newLogger logs text to w; SRARENA_LOG=json switches to JSON lines and
// SRARENA_LOG_LEVEL=debug to more detail.
func newLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(os.Getenv("SRARENA_LOG_LEVEL")))
	opts := &slog.HandlerOptions{Level: level}
	if os.Getenv("SRARENA_LOG") == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// riverLogger is the logger River gets. River reports its producer's job
// counts ("Producer job counts") and other bookkeeping at INFO every few
// seconds, which buries the platform's own lines; so River logs only
// warnings and errors unless SRARENA_LOG_LEVEL=debug asks for everything.
func riverLogger(log *slog.Logger) *slog.Logger {
	if log.Enabled(context.Background(), slog.LevelDebug) {
		return log
	}
	return slog.New(minLevel{Handler: log.Handler(), min: slog.LevelWarn})
}

// minLevel drops records below min before they reach the handler.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
