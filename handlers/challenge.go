package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// Challenges is the part of the store the challenge pages use.
type Challenges interface {
	ChallengeBySlug(ctx context.Context, slug string) (store.Challenge, error)
	ListChallenges(ctx context.Context) ([]store.Challenge, error)
	EvaluationDataset(ctx context.Context, challengeID int64) (store.Dataset, error)
	QuotaUsed(ctx context.Context, userID, challengeID int64) (int, *time.Time, error)
}

// ChallengePages serves the home page and each challenge's page.
type ChallengePages struct {
	*Base
	Store Challenges
}

// Home lists the challenges. GET /
func (h *ChallengePages) Home(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.Store.ListChallenges(r.Context())
	if err != nil {
		return err
	}
	var v templates.Home
	now := h.now()
	for _, c := range cs {
		state, _ := challengeState(c, now)
		summary, _, _ := strings.Cut(c.Description, "\n")
		v.Challenges = append(v.Challenges, templates.ChallengeCard{
			Slug: c.Slug, Title: c.Title, Summary: summary, State: state, Closes: fmtTime(c.ClosesAt),
		})
	}
	return Render(r.Context(), w, http.StatusOK, templates.HomePage(h.Page(r, "Challenges"), v))
}

// Show is a challenge's page with the upload form. GET /c/{slug}
func (h *ChallengePages) Show(w http.ResponseWriter, r *http.Request) error {
	v, err := challengeView(r.Context(), h.Store, VisitorFrom(r.Context()), chi.URLParam(r, "slug"), h.now())
	if err != nil {
		return err
	}
	return Render(r.Context(), w, http.StatusOK, templates.ChallengePage(h.Page(r, v.Title), v))
}

// challengeView fills the challenge page, shared by Show and the upload
// handler, which re-renders it with the upload's errors.
func challengeView(ctx context.Context, s Challenges, vis *Visitor, slug string, now time.Time) (templates.Challenge, error) {
	c, err := s.ChallengeBySlug(ctx, slug)
	if err != nil {
		return templates.Challenge{}, notFoundAs(err)
	}
	state, open := challengeState(c, now)
	v := templates.Challenge{
		Slug: c.Slug, Title: c.Title, Description: c.Description, Scale: c.Scale,
		State: state, Open: open, Opens: fmtTime(c.OpensAt), Closes: fmtTime(c.ClosesAt),
		MaxUploadMB: fmtBytes(c.MaxUploadBytes), LoggedIn: vis.User != nil, Quota: c.DailyQuota,
		Rules: describeRules(c.Rules), Hardware: hardwareClass(c.Queue),
	}
	d, err := s.EvaluationDataset(ctx, c.ID)
	switch {
	case err == nil:
		v.Dataset = fmt.Sprintf("%s (%s split)", d.Name, d.Split)
	default:
		v.Dataset = "no dataset yet: uploads are refused until the organizers add one"
	}
	if vis.User != nil && c.DailyQuota > 0 {
		n, oldest, err := s.QuotaUsed(ctx, vis.User.ID, c.ID)
		if err != nil {
			return v, err
		}
		v.QuotaUsed = n
		if n >= c.DailyQuota && oldest != nil {
			t := oldest.Add(store.QuotaWindow)
			v.QuotaResets = fmtTime(&t)
		}
	}
	return v, nil
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

// challengeState says whether a challenge accepts submissions at now.
func challengeState(c store.Challenge, now time.Time) (string, bool) {
	switch {
	case c.OpensAt != nil && now.Before(*c.OpensAt):
		return "not open yet", false
	case c.ClosesAt != nil && !now.Before(*c.ClosesAt):
		return "closed", false
	}
	return "open", true
}

// parseRules decodes a challenge's rules, falling back to the AIM 2020
// preset for an empty value.
func parseRules(raw json.RawMessage) (scoring.Rules, error) {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		r, _ := scoring.Preset("aim2020")
		return r, nil
	}
	var r scoring.Rules
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("challenge rules: %w", err)
	}
	return r, r.Validate()
}

var metricNames = map[string]string{
	scoring.MetricPSNRVal: "PSNR (validation)", scoring.MetricPSNRTest: "PSNR (test)",
	scoring.MetricRuntime: "runtime", scoring.MetricRuntimeVal: "runtime (validation)",
	scoring.MetricRuntimeTest: "runtime (test)", scoring.MetricParams: "parameters",
	scoring.MetricFLOPs: "FLOPs", scoring.MetricActivations: "activations",
	scoring.MetricMemory: "memory", scoring.MetricConv: "conv layers",
}

func metricName(m string) string {
	if n, ok := metricNames[m]; ok {
		return n
	}
	return m
}

// describeRules says in words how the leaderboard ranks.
func describeRules(raw json.RawMessage) []string {
	r, err := parseRules(raw)
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
