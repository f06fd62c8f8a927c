package web_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/srarena/srarena/internal/fixtures"
)

func zipFiles(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, b := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	zw.Close()
	return buf.Bytes()
}

// importDataset posts a dataset archive as the panel's form does.
func (b *browser) importDataset(slug, tok string, fields [][2]string, archive []byte) resp {
	b.a.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", tok)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("archive", "set.zip")
	fw.Write(archive)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.a.srv.URL+"/admin/c/"+slug+"/datasets", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// TestAdminDatasetImport: an organizer imports Set5's HR images as a test
// set with LR generated; images are stored once by content hash, with a
// manifest. A hostile archive and a refused request leave no file and no
// row; participants and organizers of other challenges cannot import or
// read a manifest.
func TestAdminDatasetImport(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	root, ann := a.browser(), a.browser()
	root.signupOnly("root")
	a.makeAdmin("root")
	ann.signup("ann")
	hr := map[string][]byte{}
	dir := fixtures.Dir(t, "images", "Set5", "HR")
	for _, n := range []string{"baby", "bird", "butterfly", "head", "woman"} {
		b, err := os.ReadFile(filepath.Join(dir, n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		hr["Set5/HR/"+n+".png"] = b
	}
	set5 := zipFiles(t, hr)
	blobsBefore, rowsBefore := a.blobFiles(), a.count(`SELECT count(*) FROM dataset_images`)
	audits := a.count(`SELECT count(*) FROM audit_events`)

	// Refused: hostile archives, a public test set, and people who do not
	// organize the challenge.
	tok := root.csrf("/admin/c/esr")
	for _, c := range []struct {
		name    string
		b       *browser
		tok     string
		fields  [][2]string
		archive []byte
		status  int
		flash   string
	}{
		{"zip-slip", root, tok, [][2]string{{"name", "evil"}, {"split", "test"}}, zipFiles(t, map[string][]byte{"HR/a.png": hr["Set5/HR/baby.png"], "../../evil.png": hr["Set5/HR/bird.png"]}), 303, "leaves the archive"},
		{"absolute", root, tok, [][2]string{{"name", "evil"}, {"split", "test"}}, zipFiles(t, map[string][]byte{"/tmp/evil.png": hr["Set5/HR/bird.png"]}), 303, "absolute path"},
		{"public test set", root, tok, [][2]string{{"name", "t"}, {"split", "test"}, {"public", "yes"}}, set5, 303, "Only a validation set may be public"},
		{"HR of a test set shown", root, tok, [][2]string{{"name", "t"}, {"split", "test"}, {"hr_public", "yes"}}, set5, 303, "Only a public validation set may show its HR images"},
		{"bad csrf", root, "nope", [][2]string{{"name", "t"}, {"split", "test"}}, set5, 403, ""},
		{"participant", ann, ann.csrf("/c/esr"), [][2]string{{"name", "t"}, {"split", "test"}}, set5, 404, ""},
	} {
		r := c.b.importDataset("esr", c.tok, c.fields, c.archive)
		if r.status != c.status {
			t.Errorf("%s: %d, want %d (%s)", c.name, r.status, c.status, r.body)
		}
		if c.flash != "" {
			if page := c.b.get("/admin/c/esr"); !strings.Contains(page.body, c.flash) {
				t.Errorf("%s: the panel does not say %q", c.name, c.flash)
			}
		}
	}
	if got := a.blobFiles(); !slices.Equal(got, blobsBefore) {
		t.Errorf("refused imports left files: %d before, %d after", len(blobsBefore), len(got))
	}
	if a.count(`SELECT count(*) FROM dataset_images`) != rowsBefore || a.count(`SELECT count(*) FROM datasets`) != 1 ||
		a.count(`SELECT count(*) FROM audit_events`) != audits {
		t.Error("refused imports left rows")
	}

	// Set5 as the hidden test set of phase main, LR generated.
	r := root.importDataset("esr", tok, [][2]string{{"name", "Set5"}, {"split", "test"}, {"phase", "main"}}, set5)
	if r.status != http.StatusSeeOther {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	if n := a.count(`SELECT count(*) FROM dataset_images i JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'Set5' AND d.split = 'test' AND NOT d.public`); n != 5 {
		t.Errorf("Set5 rows: %d", n)
	}
	if n := len(a.blobFiles()) - len(blobsBefore); n != 10 {
		t.Errorf("Set5 stored %d blobs, want 10 (5 HR, 5 LR)", n)
	}
	if n := a.count(`SELECT count(*) FROM phase_datasets pd JOIN datasets d ON d.id = pd.dataset_id WHERE d.name = 'Set5'`); n != 1 {
		t.Errorf("Set5 not attached to phase main")
	}
	mr := root.get("/admin/c/esr/datasets/Set5/manifest.json")
	var m struct {
		Scale  int `json:"scale"`
		Images []struct {
			Name        string `json:"name"`
			HRSHA256    string `json:"hr_sha256"`
			LRSize      [2]int `json:"lr_size"`
			LRGenerated bool   `json:"lr_generated"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(mr.body), &m); err != nil || len(m.Images) != 5 || m.Scale != 4 || !m.Images[0].LRGenerated || m.Images[0].Name != "baby" {
		t.Errorf("manifest: %v %s", err, mr.body)
	}
	// The same images again under another name: stored once.
	before := len(a.blobFiles())
	if r := root.importDataset("esr", tok, [][2]string{{"name", "Set5-again"}, {"split", "validation"}, {"public", "yes"}, {"hr_public", "yes"}}, set5); r.status != http.StatusSeeOther {
		t.Fatalf("second import: %d", r.status)
	}
	if a.count(`SELECT count(*) FROM datasets WHERE name = 'Set5-again' AND public AND hr_public`) != 1 ||
		a.count(`SELECT count(*) FROM datasets WHERE name = 'Set5' AND hr_public`) != 0 {
		t.Error("hr_public not stored as imported")
	}
	if n := len(a.blobFiles()); n != before {
		t.Errorf("the same images were stored again: %d new files", n-before)
	}
	// A taken name: refused, nothing stored.
	if r := root.importDataset("esr", tok, [][2]string{{"name", "Set5"}, {"split", "test"}}, set5); r.status != http.StatusConflict && r.status != http.StatusSeeOther {
		t.Errorf("taken name: %d", r.status)
	}
	if a.count(`SELECT count(*) FROM datasets`) != 3 {
		t.Error("a taken name made a row")
	}
	// Nobody else reads the manifest (it names hidden images).
	for _, b := range []*browser{ann, a.browser()} {
		if r := b.get("/admin/c/esr/datasets/Set5/manifest.json"); r.status == 200 || strings.Contains(r.body, "sha256") {
			t.Errorf("a non-organizer reads the manifest: %d", r.status)
		}
	}
	if n := a.count(`SELECT count(*) FROM audit_events WHERE action = 'dataset.import'`); n != 2 {
		t.Errorf("dataset.import audit events: %d", n)
	}
}
