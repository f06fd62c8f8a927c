package main

import (
	"context"
	"fmt"
	"io"

	"github.com/srarena/srarena/internal/config"
	"github.com/srarena/srarena/migrations"
	"github.com/srarena/srarena/store"
)

func init() {
	register(command{name: "seed", summary: "fill a challenge with synthetic teams and results (demos, load tests)", run: runSeed})
}

func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("seed", "seed --teams N --challenge SLUG [--phase NAME] [--seed N] [--database-url URL]", stdout)
	config.Register(fs)
	teams := fs.Int("teams", 0, "synthetic teams to add, one finished submission each")
	slug := fs.String("challenge", "", "challenge slug")
	phase := fs.String("phase", "", "phase name (default: the challenge's first phase)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed makes the same numbers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *teams <= 0 || *slug == "" {
		return fmt.Errorf("%w: need --teams N (> 0) and --challenge SLUG", errUsage)
	}
	cfg, err := config.Load(fs)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := newLogger(stderr)
	pool, closeDB, err := openDB(ctx, cfg, false, log)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := migrations.Up(ctx, pool); err != nil {
		return err
	}
	st := store.New(pool)
	c, err := st.ChallengeBySlug(ctx, *slug)
	if err != nil {
		return fmt.Errorf("challenge %q: %w", *slug, err)
	}
	res, err := st.SeedSynthetic(ctx, c.ID, store.SeedOptions{Teams: *teams, Phase: *phase, Seed: *seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d synthetic teams into %s (phase %d, dataset %d, device %q); every page marks them synthetic\n",
		res.Teams, c.Slug, res.PhaseID, res.DatasetID, res.Device)
	return nil
}
