package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srarena/srarena/runner/sandbox"
)

// TestChallengeCommands: `srarena challenge create --template NAME --slug S
// --title T` makes the challenge through POST /api/v1/challenges with a
// site admin's token (the panel's template, phases and audit row); --json
// prints it; a participant's token gets exit 2 and no challenge; a bad
// template exits 1 with the server's reason. `challenge export` and
// `challenge import FILE --slug S` move its settings: the copy's export is
// the same file but for the slug.
func TestChallengeCommands(t *testing.T) {
	lib, err := sandbox.FindORT()
	if err != nil {
		skipOrFail(t, err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	p := startPlatform(t, lib)
	tokenOf := func(name string, admin bool) string {
		args := []string{"user", "add", name, "--email", name + "@example.org", "--password-stdin", "--database-url", p.dbURL}
		if admin {
			args = append(args, "--admin")
		}
		if code, _, errOut := cli(t, "a long enough password\n", args...); code != 0 {
			t.Fatalf("user add %s: %d %s", name, code, errOut)
		}
		code, out, errOut := cli(t, "", "token", "create", "--user", name, "--name", "ci", "--database-url", p.dbURL)
		if code != 0 {
			t.Fatalf("token create: %d %s", code, errOut)
		}
		return strings.TrimSpace(out)
	}
	rootTok, annTok := tokenOf("root", true), tokenOf("ann", false)
	if code, _, errOut := cli(t, "", "login", "--server", p.url, "--token", annTok); code != 0 {
		t.Fatalf("login ann: %s", errOut)
	}
	if code, out, errOut := cli(t, "", "challenge", "create", "--template", "ntire2024", "--slug", "esr24", "--title", "ESR 2024"); code != 2 {
		t.Errorf("participant's create: %d %s %s", code, out, errOut)
	}
	if n := count(t, p, `SELECT count(*) FROM challenges WHERE slug = 'esr24'`); n != 0 {
		t.Fatal("a participant created a challenge")
	}
	if code, _, errOut := cli(t, "", "login", "--server", p.url, "--token", rootTok); code != 0 {
		t.Fatalf("login root: %s", errOut)
	}
	if code, _, _ := cli(t, "", "challenge", "create", "--slug", "x", "--title", "y"); code != 2 {
		t.Errorf("create without --template: exit %d, want 2", code)
	}
	code, out, errOut := cli(t, "", "challenge", "create", "--template", "ntire2024", "--slug", "esr24", "--title", "ESR 2024")
	if code != 0 || !strings.Contains(out, "challenge esr24 created: ESR 2024") || !strings.Contains(out, "phase development (open)") ||
		!strings.Contains(out, "/admin/c/esr24") {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	if n := count(t, p, `SELECT count(*) FROM challenges c WHERE slug = 'esr24' AND template = 'ntire2024' AND rules->>'name' = 'ntire2024'
		AND (SELECT count(*) FROM phases p WHERE p.challenge_id = c.id) = 2
		AND EXISTS (SELECT 1 FROM audit_events e WHERE e.challenge_id = c.id AND e.action = 'challenge.create' AND e.actor = 'root')`); n != 1 {
		t.Errorf("the created challenge: %d matching", n)
	}
	code, out, errOut = cli(t, "", "challenge", "create", "--template", "aim2020", "--slug", "aim", "--title", "AIM", "--json")
	var made struct {
		Slug   string `json:"slug"`
		Phases []struct {
			Name string `json:"name"`
		} `json:"phases"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &made) != nil || made.Slug != "aim" || len(made.Phases) != 2 {
		t.Errorf("create --json: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := cli(t, "", "challenge", "create", "--template", "ntire1999", "--slug", "old", "--title", "Old"); code != 1 || !strings.Contains(errOut, "Choose a template") {
		t.Errorf("unknown template: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, "", "challenge", "create", "--template", "aim2020", "--slug", "aim", "--title", "AIM"); code != 2 || !strings.Contains(errOut, "is taken") {
		t.Errorf("taken slug: %d %s", code, errOut)
	}

	// Export, import under another slug, export again.
	dir := t.TempDir()
	file := filepath.Join(dir, "esr24.json")
	if code, _, errOut := cli(t, "", "challenge", "export", "esr24", "-o", file); code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	code, out, errOut = cli(t, "", "challenge", "import", file, "--slug", "esr24-copy")
	if code != 0 || !strings.Contains(out, "challenge esr24-copy imported: phases development, final") {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	code, again, errOut := cli(t, "", "challenge", "export", "esr24-copy")
	orig, _ := os.ReadFile(file)
	if code != 0 || again != strings.Replace(string(orig), `"slug": "esr24"`, `"slug": "esr24-copy"`, 1) {
		t.Errorf("export of the copy differs: %d %s\n%s", code, errOut, again)
	}
	if code, _, _ := cli(t, "", "challenge", "import", file, "--slug", "esr24-copy", "--json"); code != 2 {
		t.Errorf("import under a taken slug: exit %d", code)
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"format":"srarena-challenge","version":9}`), 0o644)
	if code, _, errOut := cli(t, "", "challenge", "import", filepath.Join(dir, "bad.json")); code != 1 || !strings.Contains(errOut, "version 9") {
		t.Errorf("import of a newer version: %d %s", code, errOut)
	}
}
