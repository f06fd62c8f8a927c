package web_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/srarena/srarena/scoring"
)

// TestBoardValidationAndTest: a phase scored on a validation and a test
// set (NTIRE's final phase) ranks on both splits: every gate of the rule
// set applies to the split it names (a team below the test gate is
// unranked, saying so), the board, leaderboard.json and leaderboard.csv
// carry psnr_val, psnr_test and both runtimes, the runtime ranked is their
// mean, and srarena rank re-reading the CSV ranks as the board did.
func TestBoardValidationAndTest(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.rules("ntire2024")
	var testDS int64
	if err := a.pool.QueryRow(context.Background(),
		`INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'final-test', 'test') RETURNING id`, a.chID).Scan(&testDS); err != nil {
		t.Fatal(err)
	}
	a.exec(`INSERT INTO phase_datasets (phase_id, dataset_id, is_primary) SELECT phase_id, $1, false FROM phase_datasets WHERE dataset_id = $2`, testDS, a.dsID)
	split := func(id int64, val, test, rtVal, rtTest float64) {
		a.exec(`UPDATE results SET psnr = $2::float8, psnr_val = $2::float8, psnr_test = $3::float8, runtime_val_ms = $4::float8, runtime_test_ms = $5::float8,
			runtime_ms = ($4::float8 + $5::float8) / 2, device = '' WHERE submission_id = $1`, id, val, test, rtVal, rtTest)
	}
	split(a.baseline(a.dsID, "26.96", 0, ""), 26.96, 27.07, 16.18, 10.89)
	teams := []struct {
		name              string
		val, test, vt, tt float64
		ranked            bool
	}{
		{"ann", 27.00, 27.10, 12, 8, true},
		{"bob", 27.20, 26.50, 6, 4, false}, // fast, but below the test gate
		{"cat", 26.95, 27.00, 20, 10, true},
	}
	for _, tm := range teams[1:] {
		a.user(tm.name)
		split(a.finished(tm.name, a.dsID, "0", 0, "[]"), tm.val, tm.test, tm.vt, tm.tt)
	}
	// ann signs up (for the API below); her result is written the same way.
	ann := a.browser()
	ann.signup("ann")
	annSub := a.finished("ann", a.dsID, "0", 0, "[]")
	split(annSub, teams[0].val, teams[0].test, teams[0].vt, teams[0].tt)
	tok := ann.createToken("ci")
	if st, body, _ := a.api("GET", "/submissions/"+strconv.FormatInt(annSub, 10), tok, ""); st != 200 ||
		!strings.Contains(body, `"psnr_val":27`) || !strings.Contains(body, `"psnr_test":27.1`) ||
		!strings.Contains(body, `"val_time_ms":12`) || !strings.Contains(body, `"test_time_ms":8`) {
		t.Errorf("API submission: %d %s", st, body)
	}

	b := a.board()
	if strings.Join(b.Splits, ",") != "validation,test" || len(b.GatesSkipped) != 0 || len(b.GatesApplied) != 2 {
		t.Errorf("splits %v, gates applied %v, skipped %v; want both splits, both gates applied", b.Splits, b.GatesApplied, b.GatesSkipped)
	}
	for _, tm := range teams {
		for _, r := range b.Rows {
			if r.Name != tm.name {
				continue
			}
			if (r.Rank > 0) != tm.ranked {
				t.Errorf("%s: rank %d (%s), want ranked %v", tm.name, r.Rank, r.Unranked, tm.ranked)
			}
			if !tm.ranked && !strings.Contains(r.Unranked, "test") {
				t.Errorf("%s: reason %q does not name the test split", tm.name, r.Unranked)
			}
			if r.PSNRVal == nil || *r.PSNRVal != tm.val || r.PSNRTest == nil || *r.PSNRTest != tm.test ||
				r.RuntimeValMS == nil || *r.RuntimeValMS != tm.vt || r.RuntimeTestMS == nil || *r.RuntimeTestMS != tm.tt || r.RuntimeMS != (tm.vt+tm.tt)/2 {
				t.Errorf("%s: row %+v", tm.name, r)
			}
		}
	}
	_, body := a.raw("/c/esr/leaderboard.json")
	for _, k := range []string{`"psnr_val":27.2`, `"psnr_test":26.5`, `"val_time_ms":6`, `"test_time_ms":4`, `"splits":["validation","test"]`} {
		if !bytes.Contains(body, []byte(k)) {
			t.Errorf("leaderboard.json lacks %s", k)
		}
	}
	_, body = a.raw("/c/esr/leaderboard.csv")
	tab, err := scoring.ReadResultsCSV(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := scoring.Preset("ntire2024")
	for _, row := range tab.Rows {
		for _, tm := range teams {
			if row[0] == tm.name && (row[tab.Col("psnr_test")] != ftoa(tm.test) ||
				row[tab.Col("val_time_ms")] != ftoa(tm.vt) || row[tab.Col("ave_time_ms")] != ftoa((tm.vt+tm.tt)/2)) {
				t.Errorf("%s: CSV row %v", tm.name, row)
			}
		}
	}
	again, _, err := scoring.RankResults(tab, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range again.Rows {
		if got, was := row[again.Col("main_rank")], tab.Rows[i][tab.Col("main_rank")]; got != was {
			t.Errorf("%s: rank re-ranks the CSV %q, the board %q", row[0], got, was)
		}
	}
	page := a.browser().get("/c/esr/leaderboard")
	for _, k := range []string{`data-key="psnr_val"`, `data-key="psnr_test"`, "(val + test) / 2"} {
		if !strings.Contains(page.body, k) {
			t.Errorf("the board page lacks %s", k)
		}
	}
	if strings.Contains(page.body, `data-key="psnr"`) {
		t.Error("the board page still has the single PSNR column")
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
