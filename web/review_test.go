package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/scoring"
)

// finished inserts a finished submission with a result and returns its id.
func (a *app) finished(user string, dsID int64, psnr string, runtimeMS float64, perImage string) int64 {
	a.t.Helper()
	var id int64
	err := a.pool.QueryRow(context.Background(), `
		INSERT INTO submissions (challenge_id, user_id, dataset_id, model_sha256, model_bytes, profile, status)
		VALUES ($1, (SELECT id FROM users WHERE username = $2), $3, encode(sha256(random()::text::bytea), 'hex'), 100,
		        '{"params": 300000, "flops_kair": 1e10, "flops_fvcore": 1e10, "activations": 2e6, "conv_layers": 10}', 'finished')
		RETURNING id`, a.chID, user, dsID).Scan(&id)
	if err != nil {
		a.t.Fatal(err)
	}
	a.exec(`INSERT INTO results (submission_id, psnr, ssim, runtime_ms, runtime_std_ms, runtime_min_ms, runtime_max_ms, repeats, peak_memory_mb, per_image)
		VALUES ($1, $2::double precision, 0.8, $3, 1.5, 28, 33, 5, 100, $4)`, id, psnr, runtimeMS, perImage)
	return id
}

func (a *app) user(name string) {
	a.exec(`INSERT INTO users (email, username, password_hash) VALUES ($1, $2, 'x')`, name+"@example.org", name)
}

func (a *app) rules(preset string) {
	r, _ := scoring.Preset(preset)
	rj, _ := json.Marshal(r)
	a.exec(`UPDATE challenges SET rules = $1 WHERE id = $2`, rj, a.chID)
}

func (a *app) board() domain.Board {
	a.t.Helper()
	r := a.browser().get("/c/esr/leaderboard.json")
	var b domain.Board
	if r.status != 200 {
		a.t.Fatalf("leaderboard.json: %d %s", r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &b); err != nil {
		a.t.Fatalf("%v: %s", err, r.body)
	}
	return b
}

// TestLoginOpenRedirect: a next parameter that a browser would resolve to
// another site is replaced by "/", on the form and after the login.
func TestLoginOpenRedirect(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.browser().signup("olga")
	tests := []struct{ raw, want string }{
		{"/%09/evil.example", "/"},
		{"//evil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"https://evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/c/esr", "/c/esr"},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			b := a.browser()
			form := b.get("/login?next=" + tc.raw)
			if !strings.Contains(form.body, `name="next" value="`+tc.want+`"`) {
				t.Errorf("login form carries an unsafe next:\n%s", form.body)
			}
			next, _ := url.QueryUnescape(tc.raw)
			tok := csrfRE.FindStringSubmatch(form.body)[1]
			r := b.post("/login", url.Values{"csrf_token": {tok}, "login": {"olga"}, "password": {"correct horse battery"}, "next": {next}})
			if r.status != 303 || r.loc != tc.want {
				t.Errorf("login redirect: %d %q, want %q", r.status, r.loc, tc.want)
			}
		})
	}
}

// TestUploadQueueAndDataRange: the job goes to the challenge's queue, the
// chosen pixel range is stored and shown, and a bad range is refused with
// nothing kept.
func TestUploadQueueAndDataRange(t *testing.T) {
	t.Parallel()
	model := espcn(t)
	tests := []struct {
		name, queue, dataRange string
		status                 int
		wantPage               string
	}{
		{"cpu default range", "eval_cpu", "", 303, "[0, 1]"},
		{"gpu, 255", "eval_gpu", "255", 303, "[0, 255]"},
		{"bad range", "eval_cpu", "2", 422, "Choose the pixel range"},
		{"text range", "eval_cpu", "0-255", 422, "Choose the pixel range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, challengeOpts{})
			a.exec(`UPDATE challenges SET queue = $1`, tc.queue)
			b := a.browser()
			b.signup("pia")
			page := b.get("/c/esr")
			hw := map[string]string{"eval_cpu": "CPU", "eval_gpu": "GPU"}[tc.queue]
			if !strings.Contains(page.body, `data-testid="hardware">`+hw) || !strings.Contains(page.body, `name="data_range"`) {
				t.Errorf("challenge page lacks hardware %s or the range select", hw)
			}
			fields := [][2]string{{"label", "x"}}
			if tc.dataRange != "" {
				fields = append(fields, [2]string{"data_range", tc.dataRange})
			}
			r := b.uploadFields(csrfRE.FindStringSubmatch(page.body)[1], fields, model)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d\n%s", r.status, tc.status, r.body)
			}
			if tc.status != 303 {
				if !strings.Contains(r.body, tc.wantPage) {
					t.Errorf("refusal lacks %q", tc.wantPage)
				}
				if n := a.count(`SELECT count(*) FROM submissions`); n != 0 {
					t.Errorf("%d rows", n)
				}
				if f := a.blobFiles(); len(f) != 0 {
					t.Errorf("files left: %v", f)
				}
				return
			}
			if n := a.count(`SELECT count(*) FROM river_job WHERE queue = $1`, tc.queue); n != 1 {
				t.Errorf("%d jobs on %s, want 1", n, tc.queue)
			}
			want := 1
			if tc.dataRange == "255" {
				want = 255
			}
			if n := a.count(`SELECT data_range::int FROM submissions`); n != want {
				t.Errorf("stored data_range %d, want %d", n, want)
			}
			if s := b.get(r.loc); !strings.Contains(s.body, `data-testid="data-range">`+tc.wantPage) {
				t.Errorf("submission page lacks range %s", tc.wantPage)
			}
		})
	}
}

// TestPerImageScoresHidden: on a test split the owner sees per-image
// runtimes only, without image names; an admin sees everything; on a
// validation split the owner sees scores.
func TestPerImageScoresHidden(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	owner := a.browser()
	owner.signup("quin")
	admin := a.browser()
	admin.signup("boss")
	a.exec(`UPDATE users SET is_admin = true WHERE username = 'boss'`)
	var testDS int64
	if err := a.pool.QueryRow(context.Background(),
		`INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'hidden-test', 'test') RETURNING id`, a.chID).Scan(&testDS); err != nil {
		t.Fatal(err)
	}
	// The per-image table as the worker writes it; the warm-up count is
	// the results.warmup column.
	per := `[{"name": "secret-0901", "psnr": 31.4159, "ssim": 0.87654, "runtime_ms": 12.34, "runs_ms": [12, 12.34, 13]}]`
	val := a.finished("quin", a.dsID, "29.5", 12.34, per)
	hidden := a.finished("quin", testDS, "29.5", 12.34, per)
	a.exec(`UPDATE results SET warmup = 2`)
	tests := []struct {
		name       string
		b          *browser
		id         int64
		wantScores bool
	}{
		{"owner, validation", owner, val, true},
		{"owner, test", owner, hidden, false},
		{"admin, test", admin, hidden, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.b.get("/submissions/" + strconv.FormatInt(tc.id, 10))
			if r.status != 200 {
				t.Fatalf("%d", r.status)
			}
			for _, s := range []string{"31.416", "0.8765", "secret-0901"} {
				if strings.Contains(r.body, s) != tc.wantScores {
					t.Errorf("page shows %q: %v, want %v", s, !tc.wantScores, tc.wantScores)
				}
			}
			// Runtime always shows, labelled with how it was measured.
			for _, s := range []string{"12.34", "mean of per-image medians", "5 timed runs per image, after 2 warm-up", "28.00 – 33.00 ms"} {
				if !strings.Contains(r.body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
		})
	}
}

// TestLoginThrottle: after 10 failures for one name the next attempt is
// refused with 429 before any password check, even with the right
// password; other names are unaffected.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.browser().signup("rita")
	a.browser().signup("sam")
	b := a.browser()
	tok := b.csrf("/login")
	try := func(login, pw string) resp {
		return b.post("/login", url.Values{"csrf_token": {tok}, "login": {login}, "password": {pw}})
	}
	for i := range handlers.LoginFailuresPerName {
		if r := try("rita", "wrong password "+strconv.Itoa(i)); r.status != 401 {
			t.Fatalf("failure %d: %d", i, r.status)
		}
	}
	r := try("RITA", "correct horse battery")
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "try again in 15 minutes") {
		t.Fatalf("throttled login: %d\n%s", r.status, r.body)
	}
	if r := try("sam", "correct horse battery"); r.status != 303 {
		t.Errorf("other name: %d", r.status)
	}
	// The failures count per (name, address): the guesser cannot lock the
	// real owner, who logs in from elsewhere, out of the account.
	owner := a.browserFrom("127.0.0.2")
	r = owner.post("/login", url.Values{"csrf_token": {owner.csrf("/login")}, "login": {"rita"}, "password": {"correct horse battery"}})
	if r.status != 303 {
		t.Errorf("owner from another address: %d\n%s", r.status, r.body)
	}
}

// TestLoginOverlongRefused: a login name over 254 bytes or a password over
// 1024 bytes is refused before any hashing and never becomes a throttle
// key: even many such requests do not use up the address's failure
// allowance, and a right login from it still works.
func TestLoginOverlongRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.browser().signup("lars")
	b := a.browser()
	tok := b.csrf("/login")
	for i := range handlers.LoginFailuresPerIP + 1 {
		login, pw := strings.Repeat("x", 255+i), "correct horse battery"
		if i%2 == 1 {
			login, pw = "lars", strings.Repeat("p", 1025)
		}
		r := b.post("/login", url.Values{"csrf_token": {tok}, "login": {login}, "password": {pw}})
		if r.status != http.StatusUnprocessableEntity || strings.Contains(r.body, strings.Repeat("x", 255)) {
			t.Fatalf("over-long login %d: %d (or the value echoed)", i, r.status)
		}
	}
	r := b.post("/login", url.Values{"csrf_token": {tok}, "login": {"lars"}, "password": {"correct horse battery"}})
	if r.status != 303 {
		t.Errorf("right login after over-long ones: %d\n%s", r.status, r.body)
	}
}

// TestSignupPerIPLimit: an address may create SignupsPerIP accounts an
// hour; the next sign-up is refused (429) before hashing, and other
// addresses are unaffected.
func TestSignupPerIPLimit(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	// Each sign-up from a fresh browser (a new session), as a script would.
	signup := func(ip, name string) resp {
		b := a.browserFrom(ip)
		return b.post("/signup", url.Values{"csrf_token": {b.csrf("/signup")}, "email": {name + "@example.org"},
			"username": {name}, "password": {"correct horse battery"}})
	}
	for i := range handlers.SignupsPerIP {
		if r := signup("127.0.0.3", "flood"+strconv.Itoa(i)); r.status != 303 {
			t.Fatalf("sign-up %d: %d", i, r.status)
		}
	}
	r := signup("127.0.0.3", "flood-extra")
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many sign-ups") {
		t.Fatalf("sign-up over the limit: %d\n%s", r.status, r.body)
	}
	if n := a.count(`SELECT count(*) FROM users`); n != handlers.SignupsPerIP {
		t.Errorf("%d accounts, want %d", n, handlers.SignupsPerIP)
	}
	if r := signup("127.0.0.4", "elsewhere"); r.status != 303 {
		t.Errorf("other address: %d", r.status)
	}
}

// TestUploadRejectLimit: refused uploads count per user; past the hourly
// limit the upload is refused before its body is read.
func TestUploadRejectLimit(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	b := a.browser()
	b.signup("tom")
	tok := b.csrf("/c/esr")
	for i := range handlers.UploadRejectsPerHour {
		if r := b.upload(tok, "m.onnx", []byte("not a model")); r.status != 422 {
			t.Fatalf("reject %d: %d", i, r.status)
		}
	}
	r := b.upload(tok, "m.onnx", espcn(t))
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many refused uploads") {
		t.Fatalf("after %d rejects: %d\n%s", handlers.UploadRejectsPerHour, r.status, r.body)
	}
	if n := a.count(`SELECT count(*) FROM submissions`); n != 0 {
		t.Errorf("%d submissions", n)
	}
}

// TestLeaderboardInfinitePSNR: a stored +Inf or NaN must not 500 the JSON.
func TestLeaderboardInfinitePSNR(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.user("uma")
	a.user("vic")
	a.user("wil")
	a.finished("uma", a.dsID, "Infinity", 10, "[]")
	a.finished("vic", a.dsID, "NaN", 10, "[]")
	a.finished("wil", a.dsID, "29.5", 20, "[]")
	r := a.browser().get("/c/esr/leaderboard.json")
	if r.status != 200 {
		t.Fatalf("json: %d %s", r.status, r.body)
	}
	var raw struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
		t.Fatal(err)
	}
	rows := map[string]map[string]any{}
	for _, row := range raw.Rows {
		rows[row["name"].(string)] = row
	}
	if len(rows) != 3 {
		t.Fatalf("rows: %v", raw.Rows)
	}
	for _, name := range []string{"uma", "vic"} {
		if v, ok := rows[name]["psnr"]; !ok || v != nil {
			t.Errorf("%s: psnr %v, want null", name, v)
		}
	}
	if v := rows["wil"]["psnr"]; v != 29.5 {
		t.Errorf("wil: psnr %v", v)
	}
	// aim2020: a PSNR gate at the baseline's, then runtime. +Inf (a
	// bit-exact output) passes the gate and ranks by its runtime; NaN is no
	// PSNR at all and fails it.
	rank := func(name string) float64 { f, _ := rows[name]["rank"].(float64); return f }
	if rank("uma") != 1 || rank("wil") != 2 || rank("vic") != 0 {
		t.Errorf("ranks uma %v wil %v vic %v, want 1 2 0", rank("uma"), rank("wil"), rank("vic"))
	}
	if why, _ := rows["vic"]["unranked"].(string); !strings.Contains(why, "no PSNR was measured") {
		t.Errorf("vic unranked for %q, want the missing PSNR", why)
	}
	if r := a.browser().get("/c/esr/leaderboard"); r.status != 200 {
		t.Errorf("page: %d", r.status)
	}
}

// TestLeaderboardNTIRE2023: on a validation board only the psnr_val gate
// applies, so entries above it are ranked (not all "psnr_test missing"),
// and the page says which gate was left out.
func TestLeaderboardNTIRE2023(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.rules("ntire2023")
	for _, u := range []string{"wes", "xia", "yan"} {
		a.user(u)
	}
	a.finished("wes", a.dsID, "29.00", 20, "[]")
	a.finished("xia", a.dsID, "28.95", 10, "[]")
	a.finished("yan", a.dsID, "28.50", 5, "[]") // under 28.91
	b := a.board()
	got := map[string]int{}
	for _, r := range b.Rows {
		got[r.Name] = r.Rank
		if strings.Contains(r.Unranked, "psnr_test") {
			t.Errorf("%s unranked for the unmeasured test PSNR: %q", r.Name, r.Unranked)
		}
	}
	if got["xia"] != 1 || got["wes"] != 2 || got["yan"] != 0 {
		t.Errorf("ranks %v", got)
	}
	if len(b.GatesApplied) != 1 || !strings.Contains(b.GatesApplied[0], "validation") ||
		len(b.GatesSkipped) != 1 || !strings.Contains(b.GatesSkipped[0], "test") {
		t.Errorf("gates applied %q skipped %q", b.GatesApplied, b.GatesSkipped)
	}
	page := a.browser().get("/c/esr/leaderboard")
	for _, s := range []string{`data-testid="gates"`, "Not applied", "PSNR (test) ≥ 26.95", "Runtime ms (mean of per-image medians)", "median of its timed runs"} {
		if !strings.Contains(page.body, s) {
			t.Errorf("leaderboard page lacks %q", s)
		}
	}
}

// TestPublicPagesHideTestSet: the leaderboard, its JSON and the public
// challenge pages never show a test split's image names, any dataset or
// model digest, or HR anything, whoever looks (an admin included).
func TestPublicPagesHideTestSet(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.user("zoe")
	a.exec(`DELETE FROM datasets`) // the only dataset: a hidden test split
	lr, hr := strings.Repeat("1", 64), strings.Repeat("2", 64)
	var ds int64
	if err := a.pool.QueryRow(context.Background(),
		`INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'final-test', 'test') RETURNING id`, a.chID).Scan(&ds); err != nil {
		t.Fatal(err)
	}
	a.exec(`INSERT INTO dataset_images (dataset_id, name, lr_sha256, hr_sha256) VALUES ($1, 'secret-0901', $2, $3)`, ds, lr, hr)
	a.finished("zoe", ds, "29.5", 10, `[{"name": "secret-0901", "psnr": 31.4159, "runtime_ms": 10}]`)
	var model string
	a.pool.QueryRow(context.Background(), `SELECT model_sha256 FROM submissions`).Scan(&model)
	admin := a.browser()
	admin.signup("root")
	a.exec(`UPDATE users SET is_admin = true WHERE username = 'root'`)
	for _, who := range []struct {
		name string
		b    *browser
	}{{"anonymous", a.browser()}, {"admin", admin}} {
		for _, path := range []string{"/", "/c/esr", "/c/esr/leaderboard", "/c/esr/leaderboard.json"} {
			r := who.b.get(path)
			if r.status != 200 {
				t.Errorf("%s %s: %d", who.name, path, r.status)
			}
			for _, secret := range []string{"secret-0901", lr, hr, model, "31.41", "hr_sha", "lr_sha"} {
				if strings.Contains(r.body, secret) {
					t.Errorf("%s %s shows %q", who.name, path, secret)
				}
			}
		}
	}
}
