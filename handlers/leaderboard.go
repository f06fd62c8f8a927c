package handlers

import (
	"strconv"
	"strings"

	"github.com/srarena/srarena/domain"
)

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
