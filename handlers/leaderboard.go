package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/templates"
)

// Leaderboard serves a phase's ranking as HTML and JSON; the ranking and
// who may see it are domain.Service.Leaderboard's.
type Leaderboard struct {
	*Base
	Domain *domain.Service
}

// board is the phase named by ?phase= (the current one without it) as the
// visitor may see it.
func (h *Leaderboard) board(r *http.Request) (domain.ChallengeInfo, domain.Board, error) {
	return h.Domain.Leaderboard(r.Context(), viewer(r), chi.URLParam(r, "slug"), r.URL.Query().Get("phase"))
}

// Show renders the leaderboard. GET /c/{slug}/leaderboard
func (h *Leaderboard) Show(w http.ResponseWriter, r *http.Request) error {
	c, b, err := h.board(r)
	if err != nil {
		return err
	}
	v := templates.Leaderboard{Slug: c.Slug, Title: c.Title, Rule: strings.Join(describeRules(c.Rules), " "),
		Gates: gatesSentence(b), RuntimeNote: boardRuntimeNote(b.Rows), Device: deviceSentence(b),
		Phase: b.Phase, Hidden: b.Hidden, EntryRule: entryRuleSentence(b.EntryRule)}
	for _, p := range c.Phases {
		v.Phases = append(v.Phases, templates.PhaseLink{Name: p.Name, Title: cmpOr(p.Title, p.Name), Current: p.Name == b.Phase})
	}
	if b.Note != "" {
		v.Rule = b.Note + " " + v.Rule
	}
	for _, row := range b.Rows {
		tr := templates.LeaderRow{
			Name: row.Name, Baseline: row.Baseline, Note: row.Unranked, Entry: row.Entry,
			PSNR: fmtFloat(row.PSNR, 2), SSIM: fmtPtr(row.SSIM, 4), Runtime: fmtFloat(row.RuntimeMS, 2),
			Params: fmtPtrCount(row.Params), FLOPs: fmtPtrCount(row.FLOPs), Activations: fmtPtrCount(row.Activations),
			ConvLayers: fmtPtr(row.ConvLayers, 0), Memory: fmtPtr(row.MemoryMB, 1), When: fmtTime(&row.SubmittedAt),
		}
		if row.Baseline {
			tr.Note = ""
		}
		if row.RuntimeStdMS != nil {
			tr.Runtime += " ± " + fmtFloat(*row.RuntimeStdMS, 2)
		}
		tr.RuntimeTitle = fmt.Sprintf("%d timed runs per image after %d warm-up", row.Repeats, row.Warmup)
		if row.Device != "" {
			tr.RuntimeTitle += "; on " + row.Device
		}
		if row.RuntimeMinMS != nil && row.RuntimeMaxMS != nil {
			tr.RuntimeTitle += "; min–max " + fmtFloat(*row.RuntimeMinMS, 2) + "–" + fmtFloat(*row.RuntimeMaxMS, 2) + " ms"
		}
		if row.Rank > 0 {
			tr.Rank = strconv.Itoa(row.Rank)
		}
		v.Rows = append(v.Rows, tr)
	}
	return Render(r.Context(), w, http.StatusOK, templates.LeaderboardPage(h.Page(r, "Leaderboard · "+c.Title), v))
}

// JSON serves the leaderboard as JSON. GET /c/{slug}/leaderboard.json
func (h *Leaderboard) JSON(w http.ResponseWriter, r *http.Request) error {
	_, b, err := h.board(r)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, b)
}

// entryRuleSentence says which submission a team's row shows.
func entryRuleSentence(rule string) string {
	switch rule {
	case "last":
		return "Each team's row is its newest finished submission."
	case "selected":
		return "Each team's row is the submission it chose (its newest until it chooses)."
	}
	return "Each team's row is its best-ranked submission."
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func fmtPtrCount(f *float64) string {
	if f == nil {
		return ""
	}
	return fmtCount(*f)
}

// deviceSentence says on the page where the ranked runtimes come from.
func deviceSentence(b domain.Board) string {
	if len(b.Rows) == 0 {
		return ""
	}
	d := cmpOr(b.Device, "an unrecorded device")
	return "Ranked results were all measured on " + d + ", the device of the newest baseline run (or of most results, without one); " +
		"results measured on another device are listed unranked, since their runtimes do not compare."
}

// gatesSentence says on the page which gates ranked this board.
func gatesSentence(b domain.Board) string {
	if b.Rules == "" {
		return ""
	}
	var s string
	if len(b.GatesApplied) == 0 {
		s = "Gates applied: none."
	} else {
		s = "Gates applied: " + strings.Join(b.GatesApplied, "; ") + "."
	}
	if len(b.GatesSkipped) > 0 {
		s += " Not applied, because this leaderboard measures the " + b.Split + " split only: " + strings.Join(b.GatesSkipped, "; ") + "."
	}
	return s
}

// boardRuntimeNote is the runtime column's footnote. Repeats and warm-up are
// per result; the note gives the values the rows have (usually one).
func boardRuntimeNote(rows []domain.LeaderRow) string {
	reps, warms := map[int]bool{}, map[int]bool{}
	var rl, wl []string
	for _, r := range rows {
		if !reps[r.Repeats] {
			reps[r.Repeats] = true
			rl = append(rl, strconv.Itoa(r.Repeats))
		}
		if w := r.Warmup; !warms[w] {
			warms[w] = true
			wl = append(wl, strconv.Itoa(w))
		}
	}
	s := "Runtime: each image is run untimed warm-up time(s)"
	if len(wl) > 0 {
		s = "Runtime: each image is run " + strings.Join(wl, " or ") + " untimed warm-up time(s)"
	}
	s += ", then timed"
	if len(rl) > 0 {
		s += " " + strings.Join(rl, " or ") + " time(s)"
	}
	return s + "; an image's runtime is the median of its timed runs, and the column is the mean of those medians over the images. " +
		"± is the standard deviation across repeats, pooled over images; hover a runtime for its repeats and min–max " +
		"(means over images of each image's fastest and slowest run)."
}
