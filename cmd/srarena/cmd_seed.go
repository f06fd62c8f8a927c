package main

import (
	"context"
	"fmt"
	"io"

	"github.com/srarena/srarena/internal/config"
	"github.com/srarena/srarena/internal/demo"
	"github.com/srarena/srarena/migrations"
	"github.com/srarena/srarena/store"
)

func init() {
	register(command{name: "seed", summary: "create the demo challenge on an empty database, or fill a challenge with synthetic teams and results (--teams)", run: runSeed})
}

// runSeed has two uses: without --teams it is `srarena up`'s demo seed for
// deployments whose web servers and workers are separate processes
// (docker-compose, the compose smoke test); with --teams it fills a
// challenge with synthetic teams for demos, screenshots and load tests.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("seed", "seed [--teams N --challenge SLUG [--phase NAME] [--seed N]] [flags]", stdout)
	config.Register(fs)
	teams := fs.Int("teams", 0, "synthetic teams to add, one finished submission each (0: create the demo challenge if the database has no challenge)")
	slug := fs.String("challenge", "", "challenge slug (with --teams)")
	phase := fs.String("phase", "", "phase name (default: the challenge's first phase)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed makes the same numbers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *teams < 0 || (*teams > 0) != (*slug != "") {
		return fmt.Errorf("%w: --teams N (> 0) and --challenge SLUG go together", errUsage)
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
	if *teams == 0 {
		blobs, err := openBlobs(ctx, cfg)
		if err != nil {
			return err
		}
		jobsClient, err := newInsertOnlyClient(pool, log)
		if err != nil {
			return err
		}
		created, err := seedDemo(ctx, st, blobs, jobsClient)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(stdout, "created the demo challenge %s; its baseline is queued\n", demo.Slug)
		} else {
			fmt.Fprintln(stdout, "the database has a challenge already; nothing to do")
		}
		return nil
	}
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
