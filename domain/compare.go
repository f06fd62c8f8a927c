package domain

import (
	"context"
	"errors"
	"slices"

	"github.com/srarena/srarena/store"
)

// The crop viewer shows, for an image of a public validation set, the
// bicubic upscaling of its LR input, a submission's SR output and (where the
// dataset's HR is public) the HR image side by side. Only public validation
// sets have stored outputs (the worker never stores those of a test split).
//
// Who sees a submission's outputs: its team and the challenge's organizers
// always (the team without per-image PSNR while the phase's scores are
// hidden from it); everyone else only while the submission stands on the
// public board of a public or revealed phase (a leaderboard entry or a
// baseline). Everything else is KindNotFound, as for an unknown id.

// CompareInfo is what the crop viewer of one submission shows.
type CompareInfo struct {
	Challenge  ChallengeInfo
	Phase      PhaseInfo
	Submission store.Submission
	Name       string // the team's name, or the baseline's label
	Images     []store.CompareImage
	// Scores: the viewer may see per-image PSNR.
	Scores bool
	// Organizer: the viewer organizes the challenge (sees every HR).
	Organizer bool
}

// ShowHR reports whether the viewer may see image i's HR picture: the
// dataset's HR is public (validation only), or the viewer organizes.
func (c CompareInfo) ShowHR(i int) bool {
	return i >= 0 && i < len(c.Images) && (c.Images[i].HRPublic || c.Organizer)
}

// CompareAvailable reports whether a phase has a public validation set,
// whose SR outputs the worker stores.
func CompareAvailable(p PhaseInfo) bool {
	return slices.ContainsFunc(p.Datasets, func(d store.Dataset) bool { return d.Public && d.Split == "validation" })
}

// markCompare links the board's rows to the crop viewer where the phase has
// outputs to show.
func markCompare(rows []LeaderRow, p PhaseInfo) {
	if !CompareAvailable(p) {
		return
	}
	for i := range rows {
		rows[i].CompareID = rows[i].submission
	}
}

// Compare returns the crop viewer's data for submission id of challenge
// slug, if the viewer may see it.
func (s *Service) Compare(ctx context.Context, v Viewer, slug string, id int64) (CompareInfo, error) {
	var out CompareInfo
	ci, err := s.Challenge(ctx, v, slug)
	if err != nil {
		return out, err
	}
	sub, err := s.st.SubmissionByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sub.ChallengeID != ci.ID) {
		return out, notFound(err)
	} else if err != nil {
		return out, err
	}
	var phase PhaseInfo
	for _, p := range ci.Phases {
		if p.ID == sub.PhaseID {
			phase = p
		}
	}
	if phase.ID == 0 {
		return out, notFound(nil)
	}
	member := ci.Team != nil && sub.TeamID != nil && *sub.TeamID == ci.Team.ID
	switch {
	case ci.Organizer || member:
	case revealed(phase.Phase, s.now()) && sub.HiddenReason == "" && sub.Status == store.StatusFinished:
		// Everyone else: only a row of the public board.
		_, b, err := s.Leaderboard(ctx, Viewer{}, slug, phase.Name)
		if err != nil {
			return out, err
		}
		if b.Hidden || !slices.ContainsFunc(b.Rows, func(r LeaderRow) bool { return r.submission == id }) {
			return out, notFound(nil)
		}
	default:
		return out, notFound(nil)
	}
	out = CompareInfo{Challenge: ci, Phase: phase, Submission: sub, Name: cmpOr(sub.TeamName, cmpOr(sub.Label, "baseline")),
		Scores: phase.ScoresVisible, Organizer: ci.Organizer}
	if sub.IsBaseline {
		out.Name = cmpOr(sub.Label, "baseline")
	}
	if out.Images, err = s.st.CompareImages(ctx, id); err != nil {
		return out, err
	}
	if !out.Scores {
		for i := range out.Images {
			out.Images[i].PSNR = nil
		}
	}
	return out, nil
}
