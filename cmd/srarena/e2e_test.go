package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"

	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/internal/demo"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/internal/s3test"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/runner/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.MaybeRunChild() // the worker re-executes this test binary as its sandbox child
	os.Exit(s3test.Main(func() int { return pgtest.Main(m) }))
}

// TestEndToEnd wires the platform as `srarena up` does (demo seed, web
// server, one worker) and uses it over HTTP as participants would: two
// people sign up and upload models, the worker evaluates them in the
// sandbox, and the public leaderboard ranks them by the AIM 2020 rule.
//
// It runs once per blob store: the local directory and the real S3 server.
func TestEndToEnd(t *testing.T) {
	for _, blobStore := range []string{"local", "s3"} {
		t.Run(blobStore, func(t *testing.T) { testEndToEnd(t, blobStore) })
	}
}

func testEndToEnd(t *testing.T, blobStore string) {
	lib, err := sandbox.FindORT()
	if err != nil {
		skipOrFail(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p := startPlatformOn(t, lib, blobStore)
	if created, err := p.reseed(); err != nil || created {
		t.Fatalf("second seed must be a no-op: created=%v err=%v", created, err)
	}
	p.startWorker()

	bicubic, _ := onnxbuild.Bicubic(4)
	nearest, _ := onnxbuild.Nearest(4)
	alice := newParticipant(t, p.url, "alice")
	bob := newParticipant(t, p.url, "bob")
	idA := alice.upload("bicubic again", bicubic)
	idB := bob.upload("nearest", nearest)
	for _, c := range []struct {
		p  *participant
		id string
	}{{alice, idA}, {bob, idB}} {
		st := c.p.waitFinished(ctx, c.id)
		if st.Status != "finished" {
			t.Fatalf("submission %s: %s (%s)", c.id, st.Status, st.Message)
		}
	}
	// Bob cannot read Alice's submission.
	if code := bob.get("/submissions/" + idA + "/status.json").StatusCode; code != http.StatusNotFound {
		t.Fatalf("another user's submission: status %d, want 404", code)
	}

	var lb struct {
		Rows []struct {
			Rank     int     `json:"rank"`
			Name     string  `json:"name"`
			Baseline bool    `json:"baseline"`
			Unranked string  `json:"unranked"`
			PSNR     float64 `json:"psnr"`
		} `json:"rows"`
	}
	// The leaderboard is public: read it without a session.
	resp, err := http.Get(p.url + "/c/" + demo.Slug + "/leaderboard.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&lb); err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for i, r := range lb.Rows {
		byName[r.Name] = i
	}
	if len(lb.Rows) != 3 {
		t.Fatalf("leaderboard rows: %+v", lb.Rows)
	}
	base, a, b := lb.Rows[0], lb.Rows[byName["alice"]], lb.Rows[byName["bob"]]
	if !base.Baseline {
		t.Fatalf("first row is not the baseline: %+v", lb.Rows)
	}
	// The same bicubic model reproduces the baseline's PSNR exactly, so it
	// passes the gate; nearest-neighbour falls below it.
	if a.Rank != 1 || a.PSNR != base.PSNR {
		t.Fatalf("alice: %+v (baseline %+v)", a, base)
	}
	if b.Rank != 0 || b.Unranked == "" || b.PSNR >= base.PSNR {
		t.Fatalf("bob should be shown unranked below the gate: %+v", b)
	}
	checkDemoFinalAndCompare(ctx, t, p)
}

// checkDemoFinalAndCompare: the demo's final phase scores on validation and
// test (its baseline evaluated on both, the runtime their mean, both PSNRs
// on the revealed board), and the development baseline's crop viewer shows
// its stored outputs next to bicubic and the (CC0, public) HR.
func checkDemoFinalAndCompare(ctx context.Context, t *testing.T, p *platform) {
	t.Helper()
	var id int64
	var status string
	for {
		err := p.pool.QueryRow(ctx, `SELECT s.id, s.status FROM submissions s JOIN phases ph ON ph.id = s.phase_id
			WHERE s.is_baseline AND ph.name = 'final'`).Scan(&id, &status)
		if err != nil {
			t.Fatal(err)
		}
		if status == "finished" || status == "failed" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the final baseline is still %s", status)
		case <-time.After(200 * time.Millisecond):
		}
	}
	var n, total int
	var val, test *float64
	var rt, rtVal, rtTest float64
	if err := p.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM result_datasets WHERE submission_id = $1), s.images_total,
			r.psnr_val, r.psnr_test, r.runtime_ms, r.runtime_val_ms, r.runtime_test_ms
		FROM submissions s JOIN results r ON r.submission_id = s.id WHERE s.id = $1`, id).Scan(&n, &total, &val, &test, &rt, &rtVal, &rtTest); err != nil {
		t.Fatalf("final baseline %s: %v", status, err)
	}
	if n != 2 || total != 10 || val == nil || test == nil || math.Abs(rt-(rtVal+rtTest)/2) > 1e-9 {
		t.Errorf("final baseline: %d datasets, %d images, PSNR val %v test %v, runtime %v (val %v, test %v)", n, total, val, test, rt, rtVal, rtTest)
	}
	if _, err := p.pool.Exec(ctx, `UPDATE phases SET revealed_at = date_trunc('minute', now()) - interval '1 minute' WHERE name = 'final'`); err != nil {
		t.Fatal(err)
	}
	var lb struct {
		Splits []string `json:"splits"`
		Rows   []struct {
			PSNRVal  *float64 `json:"psnr_val"`
			PSNRTest *float64 `json:"psnr_test"`
		} `json:"rows"`
	}
	for {
		resp, err := http.Get(p.url + "/c/" + demo.Slug + "/leaderboard.json?phase=final")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&lb)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(lb.Rows) > 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond) // the reveal reaches the page cache by NOTIFY
	}
	if strings.Join(lb.Splits, ",") != "validation,test" || len(lb.Rows) != 1 || lb.Rows[0].PSNRVal == nil || lb.Rows[0].PSNRTest == nil {
		t.Errorf("revealed final board: %+v", lb)
	}
	// The development baseline's crop viewer.
	var dev int64
	if err := p.pool.QueryRow(ctx, `SELECT s.id FROM submissions s JOIN phases ph ON ph.id = s.phase_id
		WHERE s.is_baseline AND ph.name = 'development'`).Scan(&dev); err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/c/%s/submissions/%d/compare", demo.Slug, dev)
	resp, err := http.Get(p.url + page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "kind=hr") {
		t.Fatalf("crop viewer: %d %.300s", resp.StatusCode, body)
	}
	for _, kind := range []string{"lr", "bicubic", "sr", "hr"} {
		resp, err := http.Get(p.url + page + "/crop.png?image=2&kind=" + kind)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
			t.Errorf("crop %s: %d", kind, resp.StatusCode)
		}
	}
}

type participant struct {
	t      *testing.T
	base   string
	client *http.Client
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func newParticipant(t *testing.T, base, name string) *participant {
	jar, _ := cookiejar.New(nil)
	p := &participant{t: t, base: base, client: &http.Client{Jar: jar}}
	resp, err := p.client.PostForm(base+"/signup", url.Values{
		"csrf_token": {p.csrf("/signup")}, "email": {name + "@example.org"},
		"username": {name}, "password": {"correct horse battery"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-up %s: status %d", name, resp.StatusCode)
	}
	// Sign-up does not log in; log in as a newcomer does.
	resp, err = p.client.PostForm(base+"/login", url.Values{
		"csrf_token": {p.csrf("/login")}, "login": {name}, "password": {"correct horse battery"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path == "/login" {
		t.Fatalf("login %s: status %d at %s", name, resp.StatusCode, resp.Request.URL)
	}
	// Register for the demo challenge as a solo team (named after the user).
	resp, err = p.client.PostForm(base+"/c/"+demo.Slug+"/register", url.Values{
		"csrf_token": {p.csrf("/c/" + demo.Slug + "/register")}, "accept_terms": {"yes"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register %s: status %d", name, resp.StatusCode)
	}
	return p
}

func (p *participant) get(path string) *http.Response {
	resp, err := p.client.Get(p.base + path)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp
}

func (p *participant) csrf(path string) string {
	resp := p.get(path)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		p.t.Fatalf("no CSRF token on %s (status %d)", path, resp.StatusCode)
	}
	return string(m[1])
}

// upload posts the model as the browser form does and returns the new
// submission's id from the redirect.
func (p *participant) upload(label string, model []byte) string {
	token := p.csrf("/c/" + demo.Slug)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", token)
	mw.WriteField("label", label)
	fw, _ := mw.CreateFormFile("model", label+".onnx")
	fw.Write(model)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, p.base+"/c/"+demo.Slug+"/submissions", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	c := *p.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/submissions/") {
		b, _ := io.ReadAll(resp.Body)
		p.t.Fatalf("upload %s: status %d, location %q\n%.500s", label, resp.StatusCode, loc, b)
	}
	return strings.TrimPrefix(loc, "/submissions/")
}

type statusJSON struct {
	Status     string `json:"status"`
	Message    string `json:"message"`
	ImagesDone int    `json:"images_done"`
}

func (p *participant) waitFinished(ctx context.Context, id string) statusJSON {
	for {
		resp := p.get("/submissions/" + id + "/status.json")
		var s statusJSON
		err := json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if err != nil {
			p.t.Fatalf("status.json: %v", err)
		}
		if s.Status == "finished" || s.Status == "failed" {
			return s
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("submission %s still %s: %v", id, s.Status, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestCancelRunning: a participant cancels an evaluation while it runs.
// The submission turns cancelled at once; River's job cancellation stops
// the worker, which stores no result and goes on to the next submission.
func TestCancelRunning(t *testing.T) {
	lib, err := sandbox.FindORT()
	if err != nil {
		skipOrFail(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := startPlatform(t, lib)
	p.startWorker()
	slow, err := onnxbuild.ConvNet(4, 96, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	carl := newParticipant(t, p.url, "carl")
	id := carl.upload("slow", slow)
	for {
		st := carl.status(id)
		if st.Status == "running" && st.ImagesDone >= 1 {
			break
		}
		if st.Status != "queued" && st.Status != "running" {
			t.Fatalf("submission %s ended before it could be cancelled: %+v", id, st)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("submission %s never ran: %+v", id, st)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("running after %v", time.Since(start))
	resp, err := carl.client.PostForm(p.url+"/submissions/"+id+"/cancel", url.Values{"csrf_token": {carl.csrf("/submissions/" + id)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st := carl.status(id); st.Status != "cancelled" {
		t.Fatalf("after cancel: %+v", st)
	}
	// The worker stops: River records the job cancelled.
	for {
		var state string
		err := p.pool.QueryRow(ctx, `SELECT state FROM river_job WHERE kind = 'evaluate' AND args->>'submission_id' = $1`, id).Scan(&state)
		if err == nil && state == "cancelled" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job of submission %s: state %q, %v", id, state, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("job cancelled after %v", time.Since(start))
	bicubic, _ := onnxbuild.Bicubic(4)
	next := carl.upload("bicubic", bicubic)
	if st := carl.waitFinished(ctx, next); st.Status != "finished" {
		t.Fatalf("next submission: %+v", st)
	}
	var n int
	p.pool.QueryRow(ctx, `SELECT count(*) FROM results WHERE submission_id = $1`, id).Scan(&n)
	if st := carl.status(id); st.Status != "cancelled" || n != 0 {
		t.Errorf("cancelled submission later: %+v, %d results", st, n)
	}
}

func (p *participant) status(id string) statusJSON {
	p.t.Helper()
	resp := p.get("/submissions/" + id + "/status.json")
	defer resp.Body.Close()
	var s statusJSON
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		p.t.Fatalf("status.json: %v", err)
	}
	return s
}
