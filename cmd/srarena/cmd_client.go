package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/srarena/srarena/internal/apiclient"
	"github.com/srarena/srarena/onnxmodel"
)

// The client commands talk to a server's /api/v1 with the token that
// `srarena login` stored. Exit status: 0 finished (or done), 1 the model was
// rejected or its evaluation failed (the reason printed), 2 usage,
// authentication or network errors; `status` exits 3 while the submission is
// still queued or running.

func init() {
	register(command{name: "login", summary: "client: store a server and an access token (login --server URL --token TOKEN)", run: runLogin})
	register(command{name: "register", summary: "client: register for a challenge (register CHALLENGE --accept-terms [--team NAME])", run: runRegister})
	register(command{name: "submit", summary: "client: check a model locally, upload it, optionally wait for its results", run: runSubmit})
	register(command{name: "status", summary: "client: a submission's status and results (status ID [--json])", run: runStatus})
	register(command{name: "leaderboard", summary: "client: a phase's leaderboard (leaderboard CHALLENGE [--phase NAME] [--json])", run: runLeaderboard})
}

// Exit statuses of the client commands.
const (
	exitFailed  = 1 // the model was rejected, or its evaluation failed or was cancelled
	exitUsage   = 2 // usage, authentication or network
	exitRunning = 3 // `status`: still queued or running
)

// clientErr maps an API or network error onto the exit status: a model the
// server refused (422, 413) is the model's fault (1); anything else (401,
// 403, 404, 429, network) is 2.
func clientErr(err error) error {
	if err == nil {
		return nil
	}
	var ae *apiclient.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusUnprocessableEntity || ae.Status == http.StatusRequestEntityTooLarge) {
		return &exitError{code: exitFailed, err: err}
	}
	if errors.Is(err, context.Canceled) {
		return &exitError{code: exitUsage, err: errors.New("interrupted")}
	}
	return &exitError{code: exitUsage, err: err}
}

// usageErr is a usage error of a client command (exit 2, like errUsage).
func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}

// loggedIn returns the client of the stored login.
func loggedIn() (*apiclient.Client, error) {
	cfg, err := apiclient.LoadConfig()
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return apiclient.New(cfg.Server, cfg.Token, nil), nil
}

func runLogin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("login", "login --server URL --token TOKEN", stdout)
	server := fs.String("server", "", "the srarena site, e.g. https://sr.example.org")
	token := fs.String("token", "", "a personal access token from the site's account page (sra_…)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *server == "" || *token == "" {
		return usageErr("srarena login --server URL --token TOKEN (create the token on the site's account page)")
	}
	u, err := url.Parse(*server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErr("--server must be an http(s) URL like https://sr.example.org")
	}
	c := apiclient.New(*server, strings.TrimSpace(*token), nil)
	var me struct {
		Username string `json:"username"`
	}
	if err := c.Get(ctx, "/me", nil, &me); err != nil {
		return clientErr(fmt.Errorf("checking the token with %s: %w", c.Server, err))
	}
	path, err := apiclient.SaveConfig(apiclient.Config{Server: c.Server, Token: c.Token})
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	fmt.Fprintf(stdout, "logged in to %s as %s (saved in %s)\n", c.Server, me.Username, path)
	return nil
}

func runRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("register", "register CHALLENGE --accept-terms [--team NAME]", stdout)
	accept := fs.Bool("accept-terms", false, "accept the challenge's terms (read them on its page first)")
	team := fs.String("team", "", "create a team with this name; without it you compete as a solo team")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("srarena register CHALLENGE --accept-terms [--team NAME]")
	}
	c, err := loggedIn()
	if err != nil {
		return err
	}
	if !*accept {
		return usageErr("registering means accepting the challenge's terms: read them at %s/c/%s and add --accept-terms", c.Server, url.PathEscape(pos[0]))
	}
	var reg struct {
		State string `json:"state"`
		Team  *struct {
			Name string `json:"name"`
			Solo bool   `json:"solo"`
		} `json:"team"`
	}
	err = c.Post(ctx, "/challenges/"+url.PathEscape(pos[0])+"/registration",
		map[string]any{"accept_terms": true, "team": *team}, &reg)
	if err != nil {
		// Exit 1 is for models; a refused registration is 2.
		return &exitError{code: exitUsage, err: err}
	}
	fmt.Fprintf(stdout, "registered for %s (%s)", pos[0], reg.State)
	if reg.Team != nil {
		if reg.Team.Solo {
			fmt.Fprintf(stdout, " as a solo team")
		} else {
			fmt.Fprintf(stdout, " in team %q", reg.Team.Name)
		}
	}
	fmt.Fprintln(stdout)
	return nil
}

// challengeJSON is the part of /challenges/{slug} the client uses.
type challengeJSON struct {
	Slug           string `json:"slug"`
	Title          string `json:"title"`
	Scale          int    `json:"scale"`
	MaxUploadBytes int64  `json:"max_upload_bytes"`
	CurrentPhase   string `json:"current_phase"`
}

// submissionJSON is the part of a submission the client reads; --json
// prints the server's object as it came.
type submissionJSON struct {
	ID            int64    `json:"id"`
	Status        string   `json:"status"`
	Message       string   `json:"message"`
	Phase         string   `json:"phase"`
	ScoresHidden  bool     `json:"scores_hidden"`
	QueuePosition int      `json:"queue_position"`
	QueueEstimate *float64 `json:"queue_estimate_s"`
	Progress      *struct {
		Image  int `json:"image"`
		Images int `json:"images"`
	} `json:"progress"`
	PSNR         *float64 `json:"psnr"`
	SSIM         *float64 `json:"ssim"`
	RuntimeMS    *float64 `json:"runtime_ms"`
	RuntimeStdMS *float64 `json:"runtime_std_ms"`
	PeakMemoryMB *float64 `json:"peak_memory_mb"`
	Params       *float64 `json:"params"`
	FLOPsG       *float64 `json:"flops_g"`
}

func done(status string) bool {
	return status == "finished" || status == "failed" || status == "cancelled"
}

func runSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "submit CHALLENGE MODEL.onnx [--phase NAME] [--data-range 1|255] [--label TEXT] [--wait] [--json]"
	fs := newFlagSet("submit", synopsis, stdout)
	phase := fs.String("phase", "", "phase to submit to (default: the challenge's current phase)")
	dataRange := fs.String("data-range", "1", "the model's pixel range: 1 ([0,1]) or 255 ([0,255])")
	label := fs.String("label", "", "a label for the submission (at most 100 characters)")
	method := fs.String("method", "", "the method's name, shown on the leaderboard")
	description := fs.String("description", "", "a description of the method")
	wait := fs.Bool("wait", false, "wait until the evaluation ends; exit 0 finished, 1 failed")
	asJSON := fs.Bool("json", false, "print the submission (with its results) as JSON")
	poll := fs.Duration("poll", 2*time.Second, "how often --wait asks for the status")
	waitMax := fs.Duration("timeout", 0, "with --wait: give up waiting after this long (exit 2; the evaluation goes on); 0 waits until it ends")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageErr("srarena %s", synopsis)
	}
	if *dataRange != "1" && *dataRange != "255" {
		return usageErr("--data-range must be 1 or 255")
	}
	slug, model := pos[0], pos[1]
	st, err := os.Stat(model)
	if err != nil {
		return usageErr("%v", err)
	}
	c, err := loggedIn()
	if err != nil {
		return err
	}
	var ch challengeJSON
	if err := c.Get(ctx, "/challenges/"+url.PathEscape(slug), nil, &ch); err != nil {
		return clientErr(err)
	}
	if ch.MaxUploadBytes > 0 && st.Size() > ch.MaxUploadBytes {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s is %s, more than %s's upload limit of %s", model, mb(st.Size()), slug, mb(ch.MaxUploadBytes))}
	}

	// The platform's own check, locally: an invalid model costs no upload
	// and no refused-upload allowance.
	if st.Size() > onnxmodel.DefaultLimits.MaxFileBytes {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: %s, more than the checker's limit", model, mb(st.Size()))}
	}
	data, err := os.ReadFile(model)
	if err != nil {
		return usageErr("%v", err)
	}
	rep, err := onnxmodel.Inspect(data, onnxmodel.Options{Scale: ch.Scale})
	data = nil
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("inspect %s: %w", model, err)}
	}
	if !rep.Valid {
		fmt.Fprintf(stderr, "%s is not a valid ×%d model for %s; nothing was uploaded:\n", model, ch.Scale, slug)
		for _, p := range rep.Problems {
			fmt.Fprintf(stderr, "  - %s\n", p.String())
		}
		return &exitError{code: exitFailed, err: errors.New("model rejected by the local check (srarena inspect)")}
	}

	bar := newProgressBar(stderr, "uploading "+model)
	fields := [][2]string{{"phase", *phase}, {"label", *label}, {"method_name", *method}, {"description", *description}, {"data_range", *dataRange}}
	var raw json.RawMessage
	path := "/challenges/" + url.PathEscape(slug) + "/submissions"
	if *phase != "" {
		// In the query too, so the server checks the phase (window, quota)
		// before it reads the model.
		path += "?phase=" + url.QueryEscape(*phase)
	}
	err = c.Upload(ctx, path, fields, model, bar.update, &raw)
	bar.finish()
	if err != nil {
		return clientErr(err)
	}
	var sub submissionJSON
	if err := json.Unmarshal(raw, &sub); err != nil {
		return clientErr(err)
	}
	if !*asJSON || !*wait {
		fmt.Fprintf(stderr, "submission #%d queued in phase %s: %s/submissions/%d\n", sub.ID, sub.Phase, c.Server, sub.ID)
	}
	if !*wait {
		if *asJSON {
			return printJSON(stdout, raw)
		}
		return nil
	}
	wctx := ctx
	if *waitMax > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, *waitMax)
		defer cancel()
	}
	raw, sub, err = waitForSubmission(wctx, c, sub.ID, *poll, stderr)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("gave up waiting after %v; submission #%d goes on (srarena status %d)", *waitMax, sub.ID, sub.ID)}
	}
	if err != nil {
		return clientErr(err)
	}
	return report(stdout, raw, sub, *asJSON)
}

// waitForSubmission polls a submission until it ends, showing where it stands.
func waitForSubmission(ctx context.Context, c *apiclient.Client, id int64, every time.Duration, stderr io.Writer) (json.RawMessage, submissionJSON, error) {
	line := newStatusLine(stderr)
	defer line.finish()
	failures := 0
	for {
		var raw json.RawMessage
		var sub submissionJSON
		err := c.Get(ctx, "/submissions/"+strconv.FormatInt(id, 10), nil, &raw)
		if err == nil {
			err = json.Unmarshal(raw, &sub)
		}
		var ne *apiclient.NetworkError
		switch {
		case errors.As(err, &ne) && failures < 5:
			// A restart of the server or a blip of the network: try again.
			failures++
			line.show(fmt.Sprintf("#%d: server unreachable, retrying (%v)", id, ne.Err))
		case err != nil:
			return nil, sub, err
		default:
			failures = 0
			if done(sub.Status) {
				return raw, sub, nil
			}
			line.show(describe(sub))
		}
		select {
		case <-ctx.Done():
			return nil, sub, ctx.Err()
		case <-time.After(every):
		}
	}
}

func describe(s submissionJSON) string {
	switch s.Status {
	case "queued":
		msg := fmt.Sprintf("#%d queued", s.ID)
		if s.QueuePosition > 0 {
			msg += fmt.Sprintf(", position %d", s.QueuePosition)
		}
		if s.QueueEstimate != nil {
			msg += fmt.Sprintf(", starts in about %s", (time.Duration(*s.QueueEstimate) * time.Second).Round(time.Second))
		}
		return msg
	case "running":
		if s.Progress != nil && s.Progress.Images > 0 {
			return fmt.Sprintf("#%d running: image %d of %d %s", s.ID, s.Progress.Image, s.Progress.Images, bar(s.Progress.Image, s.Progress.Images, 20))
		}
		return fmt.Sprintf("#%d running", s.ID)
	}
	return fmt.Sprintf("#%d %s", s.ID, s.Status)
}

// report prints a submission that ended, and maps its status onto the exit
// status.
func report(stdout io.Writer, raw json.RawMessage, s submissionJSON, asJSON bool) error {
	if asJSON {
		if err := printJSON(stdout, raw); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "submission #%d: %s\n", s.ID, s.Status)
		if s.Message != "" {
			fmt.Fprintf(stdout, "  %s\n", s.Message)
		}
		if s.ScoresHidden {
			fmt.Fprintln(stdout, "  scores are hidden until the organizers reveal this phase")
		}
		kv := func(name string, v *float64, format string) {
			if v != nil {
				fmt.Fprintf(stdout, "  %-10s "+format+"\n", name, *v)
			}
		}
		kv("PSNR", s.PSNR, "%.4f dB")
		kv("SSIM", s.SSIM, "%.4f")
		kv("runtime", s.RuntimeMS, "%.2f ms")
		kv("± std", s.RuntimeStdMS, "%.2f ms")
		kv("memory", s.PeakMemoryMB, "%.1f MB")
		kv("params", s.Params, "%.0f")
		kv("FLOPs", s.FLOPsG, "%.3f G")
	}
	switch s.Status {
	case "finished":
		return nil
	case "queued", "running":
		return &exitError{code: exitRunning}
	default:
		msg := "the evaluation " + s.Status
		if s.Message != "" {
			msg += ": " + s.Message
		}
		return &exitError{code: exitFailed, err: errors.New(msg)}
	}
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", "status ID [--json]", stdout)
	asJSON := fs.Bool("json", false, "print the submission (with its results) as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("srarena status ID [--json]")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(pos[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return usageErr("ID must be a submission number, like 42")
	}
	c, err := loggedIn()
	if err != nil {
		return err
	}
	var raw json.RawMessage
	var sub submissionJSON
	if err := c.Get(ctx, "/submissions/"+strconv.FormatInt(id, 10), nil, &raw); err != nil {
		return clientErr(err)
	}
	if err := json.Unmarshal(raw, &sub); err != nil {
		return clientErr(err)
	}
	if !*asJSON && !done(sub.Status) {
		fmt.Fprintln(stdout, describe(sub))
		return &exitError{code: exitRunning}
	}
	return report(stdout, raw, sub, *asJSON)
}

func runLeaderboard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("leaderboard", "leaderboard CHALLENGE [--phase NAME] [--json]", stdout)
	phase := fs.String("phase", "", "phase (default: the challenge's current phase)")
	asJSON := fs.Bool("json", false, "print the leaderboard as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("srarena leaderboard CHALLENGE [--phase NAME] [--json]")
	}
	// The leaderboard is public: a stored login is used when there is one.
	var c *apiclient.Client
	if cfg, err := apiclient.LoadConfig(); err == nil {
		c = apiclient.New(cfg.Server, cfg.Token, nil)
	} else {
		return &exitError{code: exitUsage, err: err}
	}
	q := url.Values{}
	if *phase != "" {
		q.Set("phase", *phase)
	}
	var raw json.RawMessage
	if err := c.Get(ctx, "/challenges/"+url.PathEscape(pos[0])+"/leaderboard", q, &raw); err != nil {
		return clientErr(err)
	}
	if *asJSON {
		return printJSON(stdout, raw)
	}
	var lb struct {
		Challenge string `json:"challenge"`
		Phase     string `json:"phase"`
		Note      string `json:"note"`
		Rows      []struct {
			Rank      int      `json:"rank"`
			Team      string   `json:"team"`
			Name      string   `json:"name"`
			Baseline  bool     `json:"baseline"`
			PSNR      *float64 `json:"psnr"`
			RuntimeMS *float64 `json:"runtime_ms"`
			Unranked  string   `json:"unranked"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(raw, &lb); err != nil {
		return clientErr(err)
	}
	fmt.Fprintf(stdout, "%s, phase %s\n", lb.Challenge, lb.Phase)
	if lb.Note != "" {
		fmt.Fprintln(stdout, lb.Note)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tteam\tPSNR (dB)\truntime (ms)\t")
	for _, r := range lb.Rows {
		rank := strconv.Itoa(r.Rank)
		if r.Rank == 0 {
			rank = "–"
		}
		name := r.Team
		if name == "" {
			name = r.Name
		}
		if r.Baseline {
			name += " (baseline)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", rank, name, num(r.PSNR, 4), num(r.RuntimeMS, 2), r.Unranked)
	}
	return tw.Flush()
}

func num(v *float64, prec int) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', prec, 64)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// bar draws done of total as a fixed-width bar.
func bar(done, total, width int) string {
	if total <= 0 {
		return ""
	}
	k := done * width / total
	k = min(max(k, 0), width)
	return "[" + strings.Repeat("#", k) + strings.Repeat(" ", width-k) + "]"
}

// progressBar shows an upload's progress on one line of w, at most ten
// times a second.
type progressBar struct {
	w     io.Writer
	label string
	last  time.Time
	shown bool
	sent  int64
	total int64
}

func newProgressBar(w io.Writer, label string) *progressBar { return &progressBar{w: w, label: label} }

func (p *progressBar) update(sent, total int64) {
	p.sent, p.total = sent, total
	if sent < total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.shown = time.Now(), true
	pct := 100 * sent / max(total, 1)
	fmt.Fprintf(p.w, "\r%s %s %3d%% %s / %s", p.label, bar(int(pct), 100, 30), pct, mb(sent), mb(total))
}

func (p *progressBar) finish() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}

// statusLine rewrites one line of w with the latest state.
type statusLine struct {
	w    io.Writer
	last string
}

func newStatusLine(w io.Writer) *statusLine { return &statusLine{w: w} }

func (s *statusLine) show(msg string) {
	if msg == s.last {
		return
	}
	pad := ""
	if n := len(s.last) - len(msg); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(s.w, "\r%s%s", msg, pad)
	s.last = msg
}

func (s *statusLine) finish() {
	if s.last != "" {
		fmt.Fprintln(s.w)
	}
}
