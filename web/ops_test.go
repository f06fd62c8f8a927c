package web_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/srarena/srarena/store"
)

// opsApp is a challenge with a site admin (root), its organizer (otto), a
// participant (ann) whose upload waits in eval_cpu, and two workers that
// registered and heartbeat through the store as real workers do: one
// alive, one holding ann's submission whose heartbeat stopped 45 s ago.
func opsApp(t *testing.T, co challengeOpts) (a *app, root, otto, ann *browser, subID string) {
	a = newApp(t, co)
	root, otto, ann = a.browser(), a.browser(), a.browser()
	root.signupOnly("root")
	a.makeAdmin("root")
	otto.signupOnly("otto")
	ann.signup("ann")
	if r := root.post("/admin/c/esr/organizers", url.Values{"csrf_token": {root.csrf("/admin/c/esr")}, "username": {"otto"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	r := ann.upload(ann.csrf("/c/esr"), "m.onnx", espcn(t))
	if r.status != http.StatusSeeOther {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	subID = strings.TrimPrefix(r.loc, "/submissions/")
	ctx := context.Background()
	sid := int64(mustInt(subID))
	for _, w := range []store.WorkerInfo{
		{ID: "cpu-a-1-aa", Host: "cpu-host-a", Queue: "eval_cpu", Device: "cpu", Hardware: "AMD EPYC 9654", ORTVersion: "1.30.0", Threads: 8},
		{ID: "cpu-b-2-bb", Host: "cpu-host-b", Queue: "eval_cpu", Device: "cpu", Hardware: "Intel Xeon 8480", ORTVersion: "1.30.0", Threads: 8},
	} {
		if err := a.store.RegisterWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	job := int64(999)
	if _, err := a.store.Heartbeat(ctx, store.WorkerInfo{ID: "cpu-b-2-bb", Host: "cpu-host-b", Queue: "eval_cpu", Device: "cpu",
		CurrentSubmission: &sid, CurrentJob: &job}); err != nil {
		t.Fatal(err)
	}
	if err := a.store.WorkerFinished(ctx, "cpu-a-1-aa", true); err != nil {
		t.Fatal(err)
	}
	a.exec(`UPDATE workers SET last_heartbeat = now() - interval '45 seconds' WHERE id = 'cpu-b-2-bb'`)
	return a, root, otto, ann, subID
}

// TestOperationsView: queue length per hardware class from River's own
// rows, workers with host, hardware, ONNX Runtime, current job and
// heartbeat, a dead-worker warning for the silent worker that holds a job,
// a congestion warning once the oldest job has waited far longer than the
// median evaluation; an organizer sees only their challenge's queue; a
// participant nothing.
func TestOperationsView(t *testing.T) {
	t.Parallel()
	a, root, otto, ann, subID := opsApp(t, challengeOpts{})
	page := root.get("/admin/ops")
	if page.status != 200 {
		t.Fatalf("GET /admin/ops: %d %s", page.status, page.body)
	}
	for _, want := range []string{"eval_cpu", "eval_gpu", "cpu-host-a", "AMD EPYC 9654", "1.30.0",
		`href="/submissions/` + subID + `"`, "is dead: no heartbeat for 45s while holding submission #" + subID, `data-dead="true"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("ops page lacks %q", want)
		}
	}
	if !regexpMatch(`data-testid="available">1<`, page.body) {
		t.Errorf("ops page: eval_cpu does not show the one waiting job")
	}
	if strings.Contains(page.body, "congested") {
		t.Error("congestion warning without congestion")
	}
	// The job has waited 30 minutes; recent evaluations take 2 s.
	a.exec(`UPDATE river_job SET scheduled_at = now() - interval '30 minutes' WHERE kind = 'evaluate'`)
	for i := 0; i < 3; i++ {
		r := ann.upload(ann.csrf("/c/esr"), "m.onnx", espcn(t))
		if r.status != http.StatusSeeOther {
			t.Fatalf("upload: %d", r.status)
		}
		a.exec(`UPDATE submissions SET status = 'finished', started_at = now() - interval '62 seconds', finished_at = now() - interval '60 seconds' WHERE id = $1`,
			mustInt(strings.TrimPrefix(r.loc, "/submissions/")))
	}
	a.exec(`DELETE FROM river_job WHERE kind = 'evaluate' AND args->>'submission_id' <> $1`, subID)
	page = root.get("/admin/ops")
	if !strings.Contains(page.body, "Queue eval_cpu is congested: the oldest job has waited 30m") || !strings.Contains(page.body, "median evaluation (2s over the last 3)") {
		t.Errorf("no congestion warning:\n%s", page.body)
	}
	// The organizer sees the queue and their share, not the workers.
	op := otto.get("/admin/ops")
	if op.status != 200 || !strings.Contains(op.body, "eval_cpu") || strings.Contains(op.body, "cpu-host-a") || !strings.Contains(op.body, "1 / 0") {
		t.Errorf("organizer's ops view: %d\n%s", op.status, op.body)
	}
	if r := ann.get("/admin/ops"); r.status != http.StatusNotFound {
		t.Errorf("participant GET /admin/ops: %d", r.status)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestMetricsAccess: /metrics is 404 for the public and for a wrong token,
// served for the configured token and the configured network; the metrics
// read from the database name the queue, the workers' heartbeats and the
// outcomes, and HTTP latency is labelled by route pattern.
func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	a, _, _, ann, subID := opsApp(t, challengeOpts{metricsToken: "s3cret-metrics-token",
		metricsAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}})
	a.exec(`UPDATE submissions SET status = 'finished', started_at = now() - interval '3 seconds', finished_at = now(),
		outcome = 'succeeded', charged = true WHERE id = $1`, mustInt(subID))
	ann.get("/submissions/" + subID)
	get := func(b *browser, token string) resp {
		req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return b.do(req)
	}
	for _, tc := range []struct {
		name  string
		b     *browser
		token string
	}{{"anonymous", a.browser(), ""}, {"wrong token", a.browser(), "guess"}, {"participant", ann, ""}} {
		if r := get(tc.b, tc.token); r.status != http.StatusNotFound || strings.Contains(r.body, "srarena_") {
			t.Errorf("%s GET /metrics: %d", tc.name, r.status)
		}
	}
	r := get(a.browser(), "s3cret-metrics-token")
	if r.status != 200 {
		t.Fatalf("token GET /metrics: %d %s", r.status, r.body)
	}
	for _, want := range []string{
		`srarena_queue_jobs{queue="eval_cpu",state="available"} 1`,
		`srarena_queue_jobs{queue="eval_gpu",state="running"} 0`,
		`srarena_queue_oldest_waiting_seconds{queue="eval_cpu"}`,
		`srarena_evaluation_duration_seconds_bucket{queue="eval_cpu",le="5"} 1`,
		`srarena_evaluation_duration_seconds_bucket{queue="eval_cpu",le="2.5"} 0`,
		`srarena_evaluation_duration_seconds_count{queue="eval_cpu"} 1`,
		`srarena_evaluations_total{charged="true",outcome="succeeded"} 1`,
		`srarena_worker_heartbeat_age_seconds{host="cpu-host-b",queue="eval_cpu",worker="cpu-b-2-bb"} 4`,
		`srarena_worker_busy{host="cpu-host-b",queue="eval_cpu",worker="cpu-b-2-bb"} 1`,
		`srarena_worker_jobs_total{host="cpu-host-a",queue="eval_cpu",result="done",worker="cpu-a-1-aa"} 1`,
		`srarena_http_request_duration_seconds_count{code="2xx",method="GET",route="/submissions/{id}"} 1`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(r.body, `route="/submissions/`+subID+`"`) {
		t.Error("HTTP latency labelled by raw path")
	}
	if r := get(a.browserFrom("127.0.0.2"), ""); r.status != 200 || !strings.Contains(r.body, "srarena_queue_jobs") {
		t.Errorf("allowed network GET /metrics: %d", r.status)
	}
	// Without any setting nobody reads them.
	b := newApp(t, challengeOpts{})
	if r := b.browser().get("/metrics"); r.status != http.StatusNotFound {
		t.Errorf("unconfigured /metrics: %d", r.status)
	}
}

// TestRiverUI: River's own UI is mounted for site admins only, and its API
// lists the evaluation job the upload inserted.
func TestRiverUI(t *testing.T) {
	t.Parallel()
	_, root, otto, ann, _ := opsApp(t, challengeOpts{riverUI: true})
	for _, b := range []*browser{otto, ann} {
		for _, p := range []string{"/admin/river/", "/admin/river/api/jobs?state=available", "/admin/river/jobs"} {
			if r := b.get(p); r.status != http.StatusNotFound {
				t.Errorf("non-admin GET %s: %d", p, r.status)
			}
		}
	}
	if r := root.get("/admin/river/"); r.status != 200 || !strings.Contains(r.body, "<title>River</title>") {
		t.Errorf("admin GET /admin/river/: %d %.300s", r.status, r.body)
	}
	r := root.get("/admin/river/api/jobs?state=available&limit=20")
	if r.status != 200 || !strings.Contains(r.body, `"kind":"evaluate"`) || !strings.Contains(r.body, `"queue":"eval_cpu"`) {
		t.Errorf("River UI job list: %d %.500s", r.status, r.body)
	}
	if page := root.get("/admin/ops"); !strings.Contains(page.body, `href="/admin/river/"`) {
		t.Error("the ops view does not link River's job list")
	}
}
