package pgcluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStartStopReuse(t *testing.T) {
	if _, err := FindBinDir(); errors.Is(err, ErrNoBinaries) {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o755)
	defer os.RemoveAll(root)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(root, "var", "pg") // ancestors missing: Start must create them reachable

	c, err := New(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	execSQL(t, ctx, c.URL("srarena"), `CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)`)

	// A second Start while running (a killed srarena left it up) reuses it.
	c2, _ := New(dir, log)
	if err := c2.Start(ctx); err != nil {
		t.Fatalf("restart while running: %v", err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if c.running(ctx) {
		t.Fatal("still running after Stop")
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop of a stopped cluster: %v", err)
	}
	// And a start after a clean stop keeps the data.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var v int
	conn, err := pgx.Connect(ctx, c.URL("srarena"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("data not kept: %v %v", v, err)
	}
}

func execSQL(t *testing.T, ctx context.Context, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}

func TestTraversableByOthers(t *testing.T) {
	d, err := os.MkdirTemp("", "traverse-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(d)
	closed := filepath.Join(d, "closed")
	open := filepath.Join(d, "open")
	os.Mkdir(closed, 0o700)
	os.Mkdir(open, 0o755)
	os.Chmod(d, 0o755)
	cases := []struct {
		dir  string
		want bool
	}{
		{open, true},
		{filepath.Join(open, "missing", "deeper"), true},
		{closed, false},
		{filepath.Join(closed, "x"), false},
	}
	for _, c := range cases {
		if got := traversableByOthers(c.dir); got != c.want {
			t.Errorf("traversableByOthers(%s) = %v, want %v", c.dir, got, c.want)
		}
	}
}
