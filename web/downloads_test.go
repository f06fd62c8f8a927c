package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/store"
)

// TestDatasetDownloads walks the dataset downloads (page and API routes) as
// anonymous, a registered participant, a signed-in user not registered, an
// organizer of another challenge, the challenge's organizer and a site
// admin: participants get the LR images of the public validation set and
// nothing else; HR images and the hidden set's LR reach organizers only;
// the archives hold exactly the stored images of the requested kind.
func TestDatasetDownloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newApp(t, challengeOpts{})
	blobs, err := blob.NewDir(a.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	put := func(s string) string {
		d, _, err := blobs.Put(ctx, strings.NewReader(s), 0)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	img := func(name string) store.DatasetImage {
		return store.DatasetImage{Name: name, LRSHA256: put("LR of " + name), HRSHA256: put("HR of " + name)}
	}
	err = a.store.InTx(ctx, func(tx pgx.Tx) error {
		val, err := store.CreateDataset(ctx, tx, a.chID, "Set5-val", "validation", []store.DatasetImage{img("bird"), img("baby")})
		if err != nil {
			return err
		}
		if err := store.SetDatasetManifest(ctx, tx, val, true, []byte(`{}`)); err != nil {
			return err
		}
		if _, err := store.CreateDataset(ctx, tx, a.chID, "Set5-test", "test", []store.DatasetImage{img("butterfly")}); err != nil {
			return err
		}
		_, err = store.CreateChallenge(ctx, tx, store.NewChallenge{Slug: "other", Title: "Other", Scale: 4, Rules: []byte(`{}`), MaxUploadBytes: 1 << 20})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	anon, ann, nora, olga, otto, root := a.browser(), a.browser(), a.browser(), a.browser(), a.browser(), a.browser()
	ann.signup("ann") // registered for esr
	for _, u := range []struct {
		b    *browser
		name string
	}{{nora, "nora"}, {olga, "olga"}, {otto, "otto"}, {root, "root"}} {
		u.b.signupOnly(u.name)
	}
	a.makeAdmin("root")
	a.exec(`INSERT INTO challenge_organizers (challenge_id, user_id) SELECT $1, id FROM users WHERE username = 'otto'`, a.chID)
	a.exec(`INSERT INTO challenge_organizers (challenge_id, user_id) SELECT c.id, u.id FROM challenges c, users u WHERE c.slug = 'other' AND u.username = 'olga'`)

	type actor struct {
		name  string
		b     *browser
		token string
	}
	actors := []actor{{"anonymous", anon, ""}, {"participant", ann, ann.createToken("t")}, {"not registered", nora, nora.createToken("t")},
		{"organizer of another challenge", olga, olga.createToken("t")}, {"organizer", otto, otto.createToken("t")}, {"site admin", root, root.createToken("t")}}
	// want: status per actor for each archive; 0 is "the login page" for the
	// anonymous visitor of an HTML route (401 from the API).
	org := map[string]int{"anonymous": 401, "participant": 404, "not registered": 404, "organizer of another challenge": 404, "organizer": 200, "site admin": 200}
	cases := []struct {
		path  string
		want  map[string]int
		files map[string]string // entry name -> content, on 200
	}{
		{"/datasets/Set5-val/lr.zip", map[string]int{"anonymous": 401, "participant": 200, "not registered": 403, "organizer of another challenge": 403, "organizer": 200, "site admin": 200},
			map[string]string{"Set5-val/LR/baby.png": "LR of baby", "Set5-val/LR/bird.png": "LR of bird"}},
		{"/datasets/Set5-val/hr.zip", org, map[string]string{"Set5-val/HR/baby.png": "HR of baby", "Set5-val/HR/bird.png": "HR of bird"}},
		{"/datasets/Set5-test/lr.zip", org, map[string]string{"Set5-test/LR/butterfly.png": "LR of butterfly"}},
		{"/datasets/Set5-test/hr.zip", org, map[string]string{"Set5-test/HR/butterfly.png": "HR of butterfly"}},
		{"/datasets/nope/lr.zip", map[string]int{"anonymous": 401, "participant": 404, "not registered": 404, "organizer of another challenge": 404, "organizer": 404, "site admin": 404}, nil},
	}
	get := func(ac actor, api bool, path string) (int, []byte, http.Header) {
		t.Helper()
		url := a.srv.URL + "/c/esr" + path
		if api {
			url = a.srv.URL + "/api/v1/challenges/esr" + path
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		c := ac.b.c
		if api {
			c = http.DefaultClient // no cookies: the token alone
			if ac.token != "" {
				req.Header.Set("Authorization", "Bearer "+ac.token)
			}
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b, res.Header
	}
	for _, c := range cases {
		for _, ac := range actors {
			for _, api := range []bool{false, true} {
				st, body, hdr := get(ac, api, c.path)
				want := c.want[ac.name]
				if !api && want == 401 {
					want = http.StatusSeeOther // the page sends the visitor to log in
				}
				if st != want {
					t.Errorf("%s as %s (api %v): %d, want %d: %.200s", c.path, ac.name, api, st, want, body)
					continue
				}
				if st != 200 {
					if bytes.Contains(body, []byte("HR of")) || bytes.Contains(body, []byte("LR of")) {
						t.Errorf("%s as %s: a refusal carries image bytes", c.path, ac.name)
					}
					if api && !bytes.Contains(body, []byte(`"error"`)) {
						t.Errorf("%s as %s: API refusal not in the JSON envelope: %s", c.path, ac.name, body)
					}
					continue
				}
				if hdr.Get("Content-Type") != "application/zip" || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") ||
					!strings.Contains(hdr.Get("Cache-Control"), "no-store") {
					t.Errorf("%s: headers %v", c.path, hdr)
				}
				zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
				if err != nil {
					t.Fatalf("%s as %s: not a zip: %v", c.path, ac.name, err)
				}
				got := map[string]string{}
				for _, f := range zr.File {
					rc, err := f.Open()
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(rc) // checks the CRC
					rc.Close()
					got[f.Name] = string(b)
				}
				if len(got) != len(c.files) {
					t.Errorf("%s as %s: entries %v, want %v", c.path, ac.name, got, c.files)
				}
				for n, want := range c.files {
					if got[n] != want {
						t.Errorf("%s as %s: %s = %q, want %q", c.path, ac.name, n, got[n], want)
					}
				}
			}
		}
	}

	// The challenge page links what the viewer may take, and nothing else.
	pa := ann.get("/c/esr").body
	if !strings.Contains(pa, "/c/esr/datasets/Set5-val/lr.zip") || strings.Contains(pa, "hr.zip") || strings.Contains(pa, "Set5-test") {
		t.Error("participant's challenge page: wrong download links")
	}
	if p := nora.get("/c/esr").body; strings.Contains(p, `data-testid="downloads"`) {
		t.Error("a user not registered sees download links")
	}
	po := otto.get("/c/esr").body
	for _, l := range []string{"/c/esr/datasets/Set5-val/hr.zip", "/c/esr/datasets/Set5-test/lr.zip", "/c/esr/datasets/Set5-test/hr.zip"} {
		if !strings.Contains(po, l) {
			t.Errorf("organizer's challenge page lacks %s", l)
		}
	}
}
