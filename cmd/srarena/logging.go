package main

import (
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
