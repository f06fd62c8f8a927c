package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/markdown"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/templates"
)

// ChallengePages serves the home page, each challenge's page and the
// registration and team pages.
type ChallengePages struct {
	*Base
	Domain *domain.Service
}

// Home lists the challenges. GET /
func (h *ChallengePages) Home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	cs, err := h.Domain.Challenges(ctx, viewer(r))
	if err != nil {
		return err
	}
	var v templates.Home
	for _, c := range cs {
		ci, err := h.Domain.Challenge(ctx, viewer(r), c.Slug)
		if err != nil {
			return err
		}
		summary, _, _ := strings.Cut(c.Description, "\n")
		card := templates.ChallengeCard{Slug: c.Slug, Title: c.Title, Summary: summary, State: "no phase yet"}
		if p, err := ci.PhaseNamed(""); err == nil {
			card.State = cmpOr(p.Title, p.Name) + ": " + p.State
			card.Closes = fmtTime(p.ClosesAt)
		}
		v.Challenges = append(v.Challenges, card)
	}
	return Render(ctx, w, http.StatusOK, templates.HomePage(h.Page(r, "Challenges"), v))
}

// Show is a challenge's page with its phases, registration and the upload
// form. GET /c/{slug}?phase=NAME
func (h *ChallengePages) Show(w http.ResponseWriter, r *http.Request) error {
	v, err := challengeView(r.Context(), h.Domain, viewer(r), chi.URLParam(r, "slug"), r.URL.Query().Get("phase"))
	if err != nil {
		return err
	}
	return Render(r.Context(), w, http.StatusOK, templates.ChallengePage(h.Page(r, v.Title), v))
}

// challengeView fills the challenge page, shared by Show and the upload
// handler, which re-renders it with the upload's errors.
func challengeView(ctx context.Context, d *domain.Service, vw domain.Viewer, slug, phase string) (templates.Challenge, error) {
	ci, err := d.Challenge(ctx, vw, slug)
	if err != nil {
		return templates.Challenge{}, err
	}
	v := templates.Challenge{
		Slug: ci.Slug, Title: ci.Title, Description: ci.Description, Scale: ci.Scale,
		MaxUploadMB: fmtBytes(ci.MaxUploadBytes), LoggedIn: !vw.Anonymous(),
		Rules: describeRules(ci.Rules), Hardware: hardwareClass(ci.Queue), Terms: ci.Terms,
		DescriptionHTML: markdown.Render(ci.Description), TermsHTML: markdown.Render(ci.Terms),
		TeamSizeLimit: ci.TeamSizeLimit, NeedsApproval: ci.RegistrationMode == "approval",
	}
	if ci.Registration != nil {
		v.Registration = ci.Registration.State
	}
	if ci.Team != nil {
		v.TeamName = ci.Team.Name
	}
	cur, err := ci.PhaseNamed(phase)
	if err != nil {
		return v, err
	}
	for _, p := range ci.Phases {
		v.Phases = append(v.Phases, phaseView(p, p.ID == cur.ID))
	}
	v.Phase = phaseView(cur, true)
	v.State, v.Open = cur.State, cur.Open()
	if ds, ok := cur.Primary(); ok {
		v.Dataset = fmt.Sprintf("%s (%s split)", ds.Name, ds.Split)
	} else {
		v.Dataset = "no dataset yet: uploads are refused until the organizers add one"
	}
	if q := cur.Quota; q != nil {
		v.Quota = quotaView(*q)
	}
	if v.Downloads, err = downloadViews(ctx, d, vw, ci); err != nil {
		return v, err
	}
	return v, nil
}

func phaseView(p domain.PhaseInfo, current bool) templates.PhaseView {
	pv := templates.PhaseView{Name: p.Name, Title: cmpOr(p.Title, p.Name), State: p.State, Window: p.Window,
		EntryRule: lowerFirst(entryRuleSentence(p.EntryRule)), Current: current, Selected: p.EntryRule == "selected"}
	switch p.Visibility {
	case "hidden":
		pv.Visibility = "scores hidden until the organizers reveal them"
		if p.ScoresVisible && p.RevealedAt != nil {
			pv.Visibility = "scores revealed " + fmtTime(p.RevealedAt)
		}
	case "organizers":
		pv.Visibility = "board visible to the organizers only"
	default:
		pv.Visibility = "public board"
	}
	var ds []string
	for _, d := range p.Datasets {
		ds = append(ds, d.Name+" ("+d.Split+")")
	}
	pv.Datasets = strings.Join(ds, ", ")
	var q []string
	if p.QuotaDaily > 0 {
		q = append(q, fmt.Sprintf("%d per day (UTC)", p.QuotaDaily))
	}
	if p.QuotaTotal > 0 {
		q = append(q, fmt.Sprintf("%d in total", p.QuotaTotal))
	}
	if p.QuotaConcurrent > 0 {
		q = append(q, fmt.Sprintf("%d queued or running at once", p.QuotaConcurrent))
	}
	if len(q) == 0 {
		q = append(q, "unlimited")
	}
	pv.Quota = strings.Join(q, ", ")
	return pv
}

// quotaView says what the team has used and when it frees, in UTC; the
// page's script adds the viewer's local time from ResetISO.
func quotaView(q domain.QuotaInfo) templates.QuotaView {
	var v templates.QuotaView
	if q.Daily > 0 {
		v.Lines = append(v.Lines, fmt.Sprintf("Today (UTC): %d of %d used.", q.UsedToday, q.Daily))
		if q.UsedToday > 0 {
			v.ResetUTC = fmtTime(&q.DailyResetAt)
			v.ResetISO = q.DailyResetAt.UTC().Format(time.RFC3339)
		}
	}
	if q.Total > 0 {
		v.Lines = append(v.Lines, fmt.Sprintf("Whole phase: %d of %d used.", q.UsedTotal, q.Total))
	}
	if q.Concurrent > 0 {
		v.Lines = append(v.Lines, fmt.Sprintf("Queued or running: %d of %d at once; a slot frees when one ends or is cancelled.", q.Active, q.Concurrent))
	}
	return v
}

// hardwareClass names the machines a challenge's evaluations are queued
// for. It promises no more than that: the queue may change, and workers of
// one queue may differ, so the leaderboard ranks only results measured on
// one device (rankBoard) and says which.
func hardwareClass(queue string) string {
	if queue == jobs.QueueGPU {
		return "GPU: submissions are queued for GPU workers; the leaderboard ranks only results measured on the baseline's device"
	}
	return "CPU: submissions are queued for CPU workers; the leaderboard ranks only results measured on the baseline's device"
}

func metricName(m string) string { return domain.MetricName(m) }

// describeRules says in words how the leaderboard ranks.
func describeRules(raw json.RawMessage) []string {
	r, err := domain.ParseRules(raw)
	if err != nil {
		return []string{"The ranking rules of this challenge are not valid; the organizers have to fix them."}
	}
	var out []string
	for _, g := range r.Gates {
		if g.FromBaseline {
			s := fmt.Sprintf("Gate: %s at least the baseline's", metricName(g.Metric))
			if b, ok := r.Baseline[g.Metric]; ok {
				s += fmt.Sprintf(" (%.2f dB until the baseline is evaluated here)", b)
			}
			out = append(out, s+"; models below it are listed unranked.")
		} else {
			out = append(out, fmt.Sprintf("Gate: %s at least %.2f; models below it are listed unranked.", metricName(g.Metric), g.Min))
		}
	}
	for i, t := range r.Tracks {
		var terms []string
		for _, term := range t.Terms {
			s := metricName(term.Metric)
			if term.Weight != 0 && term.Weight != 1 {
				s = fmt.Sprintf("%g×%s", term.Weight, s)
			}
			terms = append(terms, s)
		}
		kind := map[string]string{
			scoring.MethodValue:    "ranked by %s, lower is better",
			scoring.MethodRankSum:  "ranked by the sum of per-metric ranks of %s",
			scoring.MethodExpScore: "ranked by the score Σ w·exp(2·x/x_baseline) over %s, lower is better",
		}[t.Method]
		if kind == "" {
			kind = "ranked by %s"
		}
		label := "Main track"
		if i > 0 {
			label = "Track " + t.Name
		}
		out = append(out, label+": "+fmt.Sprintf(kind, strings.Join(terms, ", "))+".")
	}
	if r.Name != "" {
		out = append(out, "Rule set: "+r.Name+".")
	}
	return out
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
