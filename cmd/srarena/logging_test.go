package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestRiverLogger: River's periodic INFO lines ("Producer job counts") are
// dropped at the default level and its warnings kept; at debug River
// logs everything.
func TestRiverLogger(t *testing.T) {
	for _, tc := range []struct {
		level    slog.Level
		wantInfo bool
	}{{slog.LevelInfo, false}, {slog.LevelDebug, true}, {slog.LevelWarn, false}} {
		var buf bytes.Buffer
		base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level}))
		rl := riverLogger(base)
		rl.Info("producer: Producer job counts", "queue", "eval_cpu")
		rl.With("client", "x").WithGroup("g").Info("producer: Producer job counts")
		rl.Warn("river: job rescued")
		base.Info("platform line")
		out := buf.String()
		if got := strings.Contains(out, "Producer job counts"); got != tc.wantInfo {
			t.Errorf("level %v: River's INFO logged %v, want %v\n%s", tc.level, got, tc.wantInfo, out)
		}
		if !strings.Contains(out, "job rescued") {
			t.Errorf("level %v: River's warning dropped\n%s", tc.level, out)
		}
		if got := strings.Contains(out, "platform line"); got != (tc.level <= slog.LevelInfo) {
			t.Errorf("level %v: the platform's own INFO line logged %v", tc.level, got)
		}
	}
}
