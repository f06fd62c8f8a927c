package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/internal/demo"
	"github.com/srarena/srarena/internal/fixtures"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/scoring"
)

// TestOrganizerCommands: a site admin's token drives the organizer API
// from the CLI on a live platform with a worker: `dataset import` sends
// Set5's HR images and the server generates LR (manifest back, rows
// written); `rerun` queues the evaluated baseline again and the worker
// evaluates it again; `export --csv` gives a results CSV that `srarena
// rank` with the challenge's rules ranks to the same table. A participant's
// token gets exit 2 (404) from every organizer command.
func TestOrganizerCommands(t *testing.T) {
	lib, err := sandbox.FindORT()
	if err != nil {
		skipOrFail(t, err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	p := startPlatform(t, lib)
	p.startWorker()
	ctx := context.Background()
	tokenOf := func(name string, admin bool) string {
		args := []string{"user", "add", name, "--email", name + "@example.org", "--password-stdin", "--database-url", p.dbURL}
		if admin {
			args = append(args, "--admin")
		}
		if code, _, errOut := cli(t, "a long enough password\n", args...); code != 0 {
			t.Fatalf("user add %s: %d %s", name, code, errOut)
		}
		code, out, errOut := cli(t, "", "token", "create", "--user", name, "--name", "ci", "--database-url", p.dbURL)
		if code != 0 {
			t.Fatalf("token create: %d %s", code, errOut)
		}
		return strings.TrimSpace(out)
	}
	rootTok, annTok := tokenOf("root", true), tokenOf("ann", false)

	// The participant first: every organizer command is refused.
	if code, _, errOut := cli(t, "", "login", "--server", p.url, "--token", annTok); code != 0 {
		t.Fatalf("login ann: %s", errOut)
	}
	hrDir := fixtures.Dir(t, "images", "Set5", "HR")
	for _, args := range [][]string{{"rerun", "1"}, {"export", demo.Slug, "--csv"},
		{"dataset", "import", demo.Slug, "--split", "test", "--hr", hrDir}} {
		if code, out, errOut := cli(t, "", args...); code != 2 || !strings.Contains(errOut, "nothing here") {
			t.Errorf("participant %v: %d %s %s", args, code, out, errOut)
		}
	}
	if n := count(t, p, `SELECT count(*) FROM datasets`); n != 2 {
		t.Fatalf("a participant's import made rows: %d datasets", n)
	}

	if code, _, errOut := cli(t, "", "login", "--server", p.url, "--token", rootTok); code != 0 {
		t.Fatalf("login root: %s", errOut)
	}
	// Set5 as a validation set, LR generated on the server.
	code, out, errOut := cli(t, "", "dataset", "import", demo.Slug, "--split", "validation", "--hr", hrDir, "--public")
	if code != 0 || !strings.Contains(out, "imported Set5-validation: 5 of 5 images (×4, LR generated with MATLAB-compatible bicubic)") {
		t.Fatalf("dataset import: %d %s %s", code, out, errOut)
	}
	if n := count(t, p, `SELECT count(*) FROM dataset_images i JOIN datasets d ON d.id = i.dataset_id
		WHERE d.name = 'Set5-validation' AND d.public AND jsonb_array_length(d.manifest->'images') = 5`); n != 5 {
		t.Errorf("Set5 rows: %d", n)
	}
	// A directory with a file that is not an image is refused as a whole.
	bad := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(hrDir, "baby.png"))
	os.WriteFile(filepath.Join(bad, "baby.png"), b[:len(b)/2], 0o644)
	if code, _, errOut := cli(t, "", "dataset", "import", demo.Slug, "--split", "test", "--hr", bad, "--name", "broken"); code != 1 || !strings.Contains(errOut, "nothing was stored") {
		t.Errorf("broken image: %d %s", code, errOut)
	}

	// Wait for the demo baseline of the development phase, then re-run it.
	var baseID int64
	deadline := time.Now().Add(3 * time.Minute)
	for {
		err := p.pool.QueryRow(ctx, `SELECT s.id FROM submissions s JOIN phases ph ON ph.id = s.phase_id
			WHERE s.is_baseline AND ph.name = 'development' AND s.status = 'finished'`).Scan(&baseID)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the baseline was not evaluated")
		}
		time.Sleep(300 * time.Millisecond)
	}
	if code, out, errOut := cli(t, "", "rerun", strconv.FormatInt(baseID, 10)); code != 0 || !strings.Contains(out, "queued again") {
		t.Fatalf("rerun: %d %s %s", code, out, errOut)
	}
	for {
		var status string
		var logs int
		p.pool.QueryRow(ctx, `SELECT status, (SELECT count(*) FROM submission_logs l WHERE l.submission_id = s.id AND l.line LIKE 're-run requested by root%')::int
			FROM submissions s WHERE id = $1`, baseID).Scan(&status, &logs)
		if status == "finished" && logs == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the re-run did not finish: %s", status)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// The worker's first run is archived, not overwritten (run 1, its
	// result and log); the current result is the re-run's.
	if n := count(t, p, `SELECT count(*) FROM result_history h JOIN results r ON r.submission_id = h.submission_id
		WHERE h.submission_id = `+strconv.FormatInt(baseID, 10)+` AND h.run = 1 AND h.status = 'finished' AND h.rerun_by = 'root'
		  AND (h.result->>'psnr')::float > 20 AND h.log <> '' AND r.created_at >= h.archived_at - interval '1 second'`); n != 1 {
		t.Errorf("archived first run of the re-run baseline: %d rows", n)
	}
	if n := count(t, p, `SELECT count(*) FROM audit_events WHERE action IN ('dataset.import', 'submission.rerun') AND actor = 'root'`); n != 2 {
		t.Errorf("audit events: %d, want 2", n)
	}

	// A second baseline through `baseline add`, evaluated by the worker.
	model, err := onnxbuild.ESPCN(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(t.TempDir(), "espcn.onnx")
	os.WriteFile(modelPath, model, 0o644)
	if code, out, errOut := cli(t, "", "baseline", "add", demo.Slug, modelPath, "--phase", "development"); code != 0 || !strings.Contains(out, `"espcn baseline" queued`) {
		t.Fatalf("baseline add: %d %s %s", code, out, errOut)
	}
	for count(t, p, `SELECT count(*) FROM submissions WHERE is_baseline AND label = 'espcn baseline' AND status = 'finished'`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the added baseline was not evaluated")
		}
		time.Sleep(300 * time.Millisecond)
	}

	// Export, and rank the export again with `srarena rank`.
	code, csvOut, errOut := cli(t, "", "export", demo.Slug, "--phase", "development", "--csv")
	if code != 0 || !strings.Contains(csvOut, "team,method,submission_id") {
		t.Fatalf("export: %d %s %s", code, csvOut, errOut)
	}
	tab, err := scoring.ReadResultsCSV(strings.NewReader(csvOut))
	if err != nil || len(tab.Rows) != 2 || tab.Rows[0][tab.Col("baseline")] != "1" || !strings.Contains(csvOut, "espcn baseline") {
		t.Fatalf("export rows: %v %s", err, csvOut)
	}
	var rules json.RawMessage
	p.pool.QueryRow(ctx, `SELECT rules FROM challenges WHERE slug = $1`, demo.Slug).Scan(&rules)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.json"), rules, 0o644)
	os.WriteFile(filepath.Join(dir, "results.csv"), []byte(csvOut), 0o644)
	code, ranked, errOut := cli(t, "", "rank", "--rules", filepath.Join(dir, "rules.json"), "--csv", filepath.Join(dir, "results.csv"))
	if code != 0 || ranked != csvOut {
		t.Errorf("srarena rank on the export: %d %s\n%s\nvs\n%s", code, errOut, ranked, csvOut)
	}
	code, jsonOut, _ := cli(t, "", "export", demo.Slug, "--json")
	if code != 0 || !strings.Contains(jsonOut, `"columns"`) {
		t.Errorf("export --json: %d %s", code, jsonOut)
	}
}

func count(t *testing.T, p *platform, sql string) int {
	t.Helper()
	var n int
	if err := p.pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
