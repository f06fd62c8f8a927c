package pgtest

import (
	"context"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestFreshDatabasesAreIsolatedAndMigrated(t *testing.T) {
	ctx := context.Background()
	a, b := NewPool(t), NewPool(t)
	if _, err := a.Exec(ctx, `INSERT INTO users (email, username, password_hash) VALUES ('a@x.org', 'alice', 'h')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("second database sees %d users of the first", n)
	}
	// River's tables come with the template too.
	if err := b.QueryRow(ctx, `SELECT count(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatalf("river schema missing: %v", err)
	}
}
