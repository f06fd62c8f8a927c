package domain

import (
	"context"
	"time"

	"github.com/srarena/srarena/store"
)

// boardEntry is one cached board; done is closed once b and err are set.
type boardEntry struct {
	done chan struct{}
	at   time.Time
	b    Board
	err  error
}

// Leaderboard returns the board of a phase ("" for the current one) as the
// viewer may see it: one row per team, chosen by the phase's entry rule
// (best, last, selected), ranked by the challenge's rules. Before a hidden
// phase's reveal, and for an organizers-only phase, only organizers see
// rows; others get Hidden with a note.
func (s *Service) Leaderboard(ctx context.Context, v Viewer, slug, phase string) (ChallengeInfo, Board, error) {
	ci, p, err := s.Phase(ctx, v, slug, phase)
	if err != nil {
		return ci, Board{}, err
	}
	if !p.ScoresVisible {
		b := Board{Challenge: ci.Slug, Phase: p.Name, EntryRule: p.EntryRule, Visibility: p.Visibility, Hidden: true,
			Rows: []LeaderRow{}, GatesApplied: []string{}, GatesSkipped: []string{}}
		if p.Visibility == store.VisibilityHidden {
			b.Note = "The scores of this phase are hidden until the organizers reveal them."
		} else {
			b.Note = "The board of this phase is visible to the organizers only."
		}
		return ci, b, nil
	}
	b, err := s.board(ctx, ci, p)
	if err == nil && !revealed(p.Phase, s.now()) {
		b.Note = joinNote(b.Note, "Only organizers see this board: the phase's scores are not public yet.")
	}
	return ci, b, err
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// dropBoards forgets cached boards after a change that alters rows (a
// team's chosen entry, a rename).
func (s *Service) dropBoards() {
	s.cacheMu.Lock()
	s.cache = nil
	s.cacheMu.Unlock()
}

// board returns the phase's board, from the cache while it is fresh. The
// board is public data: each anonymous request must not cost a query and a
// ranking. Concurrent requests for an expired board wait for one
// computation instead of each starting their own. Per process.
func (s *Service) board(ctx context.Context, ci ChallengeInfo, p PhaseInfo) (Board, error) {
	if s.ttl < 0 {
		return s.computeBoard(ctx, ci, p)
	}
	now := s.now()
	s.cacheMu.Lock()
	if e := s.cache[p.ID]; e != nil {
		select {
		case <-e.done:
			if e.err == nil && now.Sub(e.at) < s.ttl {
				s.cacheMu.Unlock()
				return e.b, nil
			}
		default: // being computed: wait for it
			s.cacheMu.Unlock()
			select {
			case <-e.done:
			case <-ctx.Done():
				return Board{}, ctx.Err()
			}
			if e.err == nil {
				return e.b, nil
			}
			return s.computeBoard(ctx, ci, p) // its request failed; try with ours
		}
	}
	if s.cache == nil {
		s.cache = map[int64]*boardEntry{}
	}
	for k, old := range s.cache { // drop expired boards
		select {
		case <-old.done:
			if now.Sub(old.at) >= s.ttl {
				delete(s.cache, k)
			}
		default:
		}
	}
	e := &boardEntry{done: make(chan struct{}), at: now}
	s.cache[p.ID] = e
	s.cacheMu.Unlock()

	e.b, e.err = s.computeBoard(ctx, ci, p)
	if e.err != nil {
		s.cacheMu.Lock()
		if s.cache[p.ID] == e {
			delete(s.cache, p.ID)
		}
		s.cacheMu.Unlock()
	}
	close(e.done)
	return e.b, e.err
}

// computeBoard reads and ranks a phase's board on its primary dataset.
func (s *Service) computeBoard(ctx context.Context, ci ChallengeInfo, p PhaseInfo) (Board, error) {
	b := Board{Challenge: ci.Slug, Phase: p.Name, EntryRule: p.EntryRule, Visibility: p.Visibility,
		Rows: []LeaderRow{}, GatesApplied: []string{}, GatesSkipped: []string{}}
	ds, ok := p.Primary()
	if !ok {
		b.Note = "No evaluation dataset yet."
		return b, nil
	}
	b.Dataset, b.Split, b.Splits = ds.Name+" ("+ds.Split+")", ds.Split, phaseSplits(p)
	scored, err := s.st.FinishedWithResults(ctx, p.ID, ds.ID)
	if err != nil {
		return b, err
	}
	// Final re-timed runtimes, once an organizer's re-timing has ended;
	// an organizer's manual override, applied after, wins over them.
	if b.RuntimeNote, err = s.applyFinalTimings(ctx, p.ID, scored); err != nil {
		return b, err
	}
	// Organizers' score overrides replace measured values before ranking
	// (admin_content.go); the rows say so.
	scored, overridden, err := s.withOverrides(ctx, ci.ID, scored)
	if err != nil {
		return b, err
	}
	scored, entry := pickEntries(p.EntryRule, scored)
	rules, err := ParseRules(ci.Rules)
	if err != nil {
		b.Note = "The ranking rules are invalid, so nothing is ranked: " + err.Error()
		b.Rows = unrankedRows(scored, ds.Split, "the ranking rules are invalid")
		return b, nil
	}
	b.Rules = rules.Name
	rules, applied, skipped := measuredGatesFor(rules, ds.Split, b.Splits)
	for _, g := range applied {
		b.GatesApplied = append(b.GatesApplied, g.describe())
	}
	for _, g := range skipped {
		b.GatesSkipped = append(b.GatesSkipped, DescribeGate(g))
	}
	rows, device, err := rankBoard(rules, ds.Split, scored)
	if err != nil {
		b.Note = "Ranking failed, so nothing is ranked: " + err.Error()
		b.Rows = unrankedRows(scored, ds.Split, "ranking failed")
		return b, nil
	}
	for i := range rows {
		if !rows[i].Baseline {
			rows[i].Entry = entry[rows[i].submission]
		}
		rows[i].Override = overridden[rows[i].submission]
	}
	b.Rows, b.Device, b.rules = rows, device, rules
	markCompare(b.Rows, p)
	return b, nil
}

// Entry words, per rule.
const (
	EntryWordBest       = "best"
	EntryWordLast       = "newest"
	EntryWordSelected   = "chosen by the team"
	EntryWordNoneChosen = "newest (the team has not chosen an entry)"
)

// pickEntries applies a phase's entry rule before ranking: "last" keeps
// each team's newest finished submission, "selected" its chosen one (its
// newest while it has chosen none), "best" every one (rankBoard keeps the
// best-ranked). Baselines always stay. It also says, per submission id,
// why that submission stands for its team.
func pickEntries(rule string, scored []store.Scored) ([]store.Scored, map[int64]string) {
	why := map[int64]string{}
	if rule != store.EntryLast && rule != store.EntrySelected {
		for _, s := range scored {
			why[s.ID] = EntryWordBest
		}
		return scored, why
	}
	pick := map[int64]int{} // team -> index in scored
	var order []int64
	for i, s := range scored { // oldest first
		if s.IsBaseline || s.TeamID == nil {
			continue
		}
		t := *s.TeamID
		cur, seen := pick[t]
		if !seen {
			order = append(order, t)
		}
		switch {
		case !seen:
			pick[t] = i
		case rule == store.EntrySelected && scored[cur].Selected:
			// the chosen one stays
		default:
			pick[t] = i // newer, or the chosen one
		}
	}
	keep := map[int]bool{}
	for _, t := range order {
		i := pick[t]
		keep[i] = true
		switch {
		case rule == store.EntryLast:
			why[scored[i].ID] = EntryWordLast
		case scored[i].Selected:
			why[scored[i].ID] = EntryWordSelected
		default:
			why[scored[i].ID] = EntryWordNoneChosen
		}
	}
	out := make([]store.Scored, 0, len(keep))
	for i, s := range scored {
		if s.IsBaseline || s.TeamID == nil || keep[i] {
			out = append(out, s)
		}
	}
	return out, why
}
