// Package pgtest gives tests a real, migrated PostgreSQL database.
//
// `make test` starts one private cluster for the whole run (pgtestd) and
// hands its address to every test binary in SRARENA_TEST_DATABASE_URL; a
// plain `go test` without it starts a cluster per test binary (from the
// machine's PostgreSQL binaries, as an unprivileged user when running as
// root). Each test binary migrates its own template database once, and every
// NewPool call gets a fresh database cloned from it, so tests never see each
// other's rows.
//
// Packages using it must wrap their tests: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
// so the cluster is stopped when the tests end.
package pgtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srarena/srarena/internal/pgcluster"
	"github.com/srarena/srarena/migrations"
)

// templateDB is per process: test binaries run in parallel against one server.
var templateDB = fmt.Sprintf("srarena_template_%d", os.Getpid())

var (
	once     sync.Once
	setupErr error
	cluster  *pgcluster.Cluster
	tmpDir   string
	adminURL string
	urlFor   func(db string) string
	counter  atomic.Int64
)

func setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if u := os.Getenv("SRARENA_TEST_DATABASE_URL"); u != "" {
		if _, err := pgx.ParseConfig(u); err != nil {
			setupErr = fmt.Errorf("SRARENA_TEST_DATABASE_URL: %w", err)
			return
		}
		adminURL = u
		// Keyword/value strings take a later dbname over an earlier one;
		// URLs carry it in the path.
		urlFor = func(db string) string { return u + " dbname=" + db }
		if strings.Contains(u, "://") {
			urlFor = func(db string) string {
				pu, _ := url.Parse(u)
				pu.Path = "/" + db
				return pu.String()
			}
		}
	} else {
		// Under /tmp rather than t.TempDir(): the directory must be reachable
		// by the unprivileged user PostgreSQL runs as.
		d, err := os.MkdirTemp("", "srarena-pgtest-")
		if err != nil {
			setupErr = err
			return
		}
		os.Chmod(d, 0o755)
		tmpDir = d
		cluster, err = pgcluster.New(d, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			setupErr = err
			return
		}
		if err := cluster.Start(ctx); err != nil {
			setupErr = err
			return
		}
		adminURL = cluster.URL("postgres")
		urlFor = cluster.URL
	}
	setupErr = createTemplate(ctx)
}

func createTemplate(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	// A leftover template from an earlier run against a shared server may be stale.
	admin.Exec(ctx, "UPDATE pg_database SET datistemplate = false WHERE datname = $1", templateDB)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+templateDB+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+templateDB); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, urlFor(templateDB))
	if err != nil {
		return err
	}
	_, err = migrations.Up(ctx, pool)
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrating template: %w", err)
	}
	_, err = admin.Exec(ctx, "UPDATE pg_database SET datistemplate = true WHERE datname = $1", templateDB)
	return err
}

// URL creates a fresh migrated database and returns its connection string.
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(setup)
	if setupErr != nil {
		tb.Fatalf("pgtest: %v", setupErr)
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+templateDB); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), adminURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return urlFor(name)
}

// NewPool returns a pool on a fresh migrated database, closed at test end.
func NewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), URL(tb))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// Main runs the tests and stops the cluster, if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	if adminURL != "" {
		if c, err := pgx.Connect(context.Background(), adminURL); err == nil {
			c.Exec(context.Background(), "UPDATE pg_database SET datistemplate = false WHERE datname = $1", templateDB)
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+templateDB+" WITH (FORCE)")
			c.Close(context.Background())
		}
	}
	if cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := cluster.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		os.RemoveAll(tmpDir)
	}
	return code
}
