package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/internal/config"
)

func init() {
	register(command{name: "blobs", summary: "manage the blob store: `blobs migrate` copies a local store into S3 and verifies it", run: runBlobs})
}

const blobsSynopsis = "blobs migrate [--from DIR] [--json] [flags]  (destination: the --s3-* settings)"

func runBlobs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "migrate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, "Usage: srarena "+blobsSynopsis)
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: want `srarena %s`", errUsage, blobsSynopsis)
	}
	fs := newFlagSet("blobs migrate", blobsSynopsis, stdout)
	config.Register(fs)
	from := fs.String("from", "", "local blob directory to copy (default DATA_DIR/blobs)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := config.Load(fs)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if cfg.S3Bucket == "" {
		return fmt.Errorf("%w: the destination bucket is not set (--s3-bucket / SRARENA_S3_BUCKET)", errUsage)
	}
	dir := *from
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "blobs")
	}
	src, err := blob.NewDir(dir)
	if err != nil {
		return err
	}
	dst, err := blob.NewS3(ctx, s3Config(cfg))
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	rep, err := blob.Migrate(ctx, src, dst, func(digest string, err error) {
		if err != nil {
			log.Error("blobs migrate: not migrated", "digest", digest, "err", err)
		}
	})
	if *asJSON {
		if jerr := printJSON(stdout, struct {
			blob.MigrateReport
			OK bool `json:"ok"`
		}{rep, err == nil}); jerr != nil {
			return jerr
		}
	} else {
		fmt.Fprintf(stdout, "copied %d blobs (%d bytes), %d already present, %d verified, %d failed\n",
			rep.Copied, rep.Bytes, rep.Present, rep.Verified, len(rep.Failed))
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("migrate: %w", err)
	}
	return err
}
