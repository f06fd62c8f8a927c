package web_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/internal/fixtures"
)

// TestDatasetImportSerialized: dataset imports take the cluster-wide
// import lock; while another process holds it, an import waits
// domain.ImportWait and is then refused with a reason, storing nothing;
// once it is free the import goes through. A failed import deletes only
// blobs no row refers to. Not parallel: it shortens domain.ImportWait.
func TestDatasetImportSerialized(t *testing.T) {
	old := domain.ImportWait
	domain.ImportWait = 1500 * time.Millisecond
	defer func() { domain.ImportWait = old }()
	a := newApp(t, challengeOpts{})
	root := a.browser()
	root.signupOnly("root")
	a.makeAdmin("root")
	hr := map[string][]byte{}
	dir := fixtures.Dir(t, "images", "Set5", "HR")
	for _, n := range []string{"baby", "bird"} {
		b, err := os.ReadFile(filepath.Join(dir, n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		hr["HR/"+n+".png"] = b
	}
	set := zipFiles(t, hr)

	// Another process's import holds the lock.
	ctx := context.Background()
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- a.store.WithDatasetImportLock(ctx, time.Second, func() error { close(held); <-release; return nil })
	}()
	<-held
	blobs := a.blobFiles()
	tok := root.csrf("/admin/c/esr")
	start := time.Now()
	if r := root.importDataset("esr", tok, [][2]string{{"name", "S2"}, {"split", "test"}}, set); r.status != http.StatusSeeOther {
		t.Fatalf("import while locked: %d %s", r.status, r.body)
	}
	if took := time.Since(start); took < domain.ImportWait {
		t.Errorf("refused after %s, before waiting %s", took, domain.ImportWait)
	}
	if page := root.get("/admin/c/esr"); !strings.Contains(page.body, "Another dataset import is running; nothing was stored") {
		t.Error("the panel does not say why the import was refused")
	}
	if a.count(`SELECT count(*) FROM datasets WHERE name = 'S2'`) != 0 || !slices.Equal(a.blobFiles(), blobs) {
		t.Fatal("a refused import stored something")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := root.importDataset("esr", tok, [][2]string{{"name", "S2"}, {"split", "test"}}, set); r.status != http.StatusSeeOther {
		t.Fatalf("import: %d", r.status)
	}
	if a.count(`SELECT count(*) FROM dataset_images i JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'S2'`) != 2 {
		t.Fatal("the import after the lock freed did not store its rows")
	}
	after := a.blobFiles()
	// The same images under a taken name: refused, and the blobs the first
	// import's rows refer to stay.
	if r := root.importDataset("esr", tok, [][2]string{{"name", "S2"}, {"split", "test"}}, set); r.status != http.StatusSeeOther {
		t.Fatalf("second import: %d", r.status)
	}
	if !slices.Equal(a.blobFiles(), after) {
		t.Error("a failed import deleted blobs another dataset refers to")
	}
	var lr, hrd string
	a.pool.QueryRow(ctx, `SELECT lr_sha256, hr_sha256 FROM dataset_images LIMIT 1`).Scan(&lr, &hrd)
	orphan := strings.Repeat("e", 64)
	got, err := a.store.UnreferencedBlobs(ctx, []string{lr, hrd, orphan})
	if err != nil || !slices.Equal(got, []string{orphan}) {
		t.Errorf("UnreferencedBlobs = %v, %v; want only the orphan", got, err)
	}
}
