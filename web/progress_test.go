package web_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestTeamProgressChart: a team's submissions page charts its own
// evaluated submissions (PSNR and runtime, the gate, the current entry);
// another team sees only its own; a hidden phase shows no score before its
// reveal and the chart once revealed.
func TestTeamProgressChart(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.baseline(a.dsID, "28.90", 50, "") // aim2020: the gate is the baseline's PSNR
	ann, bob := a.browser(), a.browser()
	ann.signup("ann")
	bob.signup("bob")
	low := a.finished("ann", a.dsID, "28.10", 30, "[]")
	best := a.finished("ann", a.dsID, "29.40", 20, "[]")
	mid := a.finished("ann", a.dsID, "29.05", 25, "[]")
	bobs := a.finished("bob", a.dsID, "29.90", 12, "[]")

	page := ann.get("/c/esr/submissions")
	if page.status != 200 || !strings.Contains(page.body, `data-testid="team-progress"`) {
		t.Fatalf("ann's submissions page: %d, no progress chart\n%s", page.status, page.body)
	}
	body := page.body
	for _, want := range []string{
		`role="img"`, `aria-labelledby="progress-0-title progress-0-desc"`,
		fmt.Sprintf("#%d", low), "PSNR 28.10 dB, runtime 30 ms, below the gate",
		fmt.Sprintf("#%d", best), "PSNR 29.40 dB, runtime 20 ms (current entry)",
		fmt.Sprintf("#%d", mid), "gate 28.90 dB (the baseline&#39;s)", "baseline 50 ms",
		fmt.Sprintf("Diamond: your current entry on the leaderboard, #%d", best), "1 below it",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("ann's chart lacks %q", want)
		}
	}
	if strings.Contains(body, fmt.Sprintf("#%d", bobs)) || strings.Contains(body, "29.90") {
		t.Error("ann's chart shows bob's submission")
	}
	// Points are in upload order: low, best, mid.
	titles := regexp.MustCompile(`<title>#(\d+)`).FindAllStringSubmatch(body, -1)
	if len(titles) < 3 || titles[0][1] != fmt.Sprint(low) || titles[1][1] != fmt.Sprint(best) || titles[2][1] != fmt.Sprint(mid) {
		t.Errorf("points not oldest first: %v", titles)
	}
	if bp := bob.get("/c/esr/submissions").body; strings.Contains(bp, fmt.Sprintf("#%d,", best)) || !strings.Contains(bp, "PSNR 29.90 dB") {
		t.Error("bob's chart is not bob's alone")
	}
	if r := a.browser().get("/c/esr/submissions"); r.status == 200 {
		t.Errorf("anonymous visitor got the submissions page: %d", r.status)
	}

	// A hidden phase before its reveal: no score, no gate, no chart.
	a.exec(`UPDATE phases SET visibility = 'hidden', revealed_at = NULL WHERE challenge_id = $1`, a.chID)
	hidden := ann.get("/c/esr/submissions").body
	if !strings.Contains(hidden, "hidden until the organizers reveal them") {
		t.Error("hidden phase: no word why the chart is missing")
	}
	for _, leak := range []string{"29.40", "28.90", "<svg", "current entry"} {
		if strings.Contains(hidden, leak) {
			t.Errorf("hidden phase: the page shows %q", leak)
		}
	}
	// An organizers-only phase: the same, in its own words.
	a.exec(`UPDATE phases SET visibility = 'organizers' WHERE challenge_id = $1`, a.chID)
	if p := ann.get("/c/esr/submissions").body; !strings.Contains(p, "shown to its organizers only") || strings.Contains(p, "29.40") {
		t.Error("organizers-only phase: wrong words, or a score shown")
	}
	a.exec(`UPDATE phases SET visibility = 'hidden' WHERE challenge_id = $1`, a.chID)
	a.exec(`UPDATE phases SET revealed_at = now() - interval '1 minute' WHERE challenge_id = $1`, a.chID)
	if !strings.Contains(ann.get("/c/esr/submissions").body, "PSNR 29.40 dB, runtime 20 ms (current entry)") {
		t.Error("revealed phase: no chart")
	}
}
