package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/srarena/srarena/internal/apiclient"
	"github.com/srarena/srarena/internal/demo"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/runner/sandbox"
)

// cli runs one srarena command in-process and returns its exit status and
// output.
func cli(t *testing.T, stdinText string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	old := stdin
	stdin = strings.NewReader(stdinText)
	defer func() { stdin = old }()
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestClientEndToEnd: an operator adds a user and a token on the database;
// the participant logs in with the token (stored 0600 in the user's config
// directory), registers, and `srarena submit --wait --json` uploads a model
// that the worker evaluates in the sandbox; it exits 0 and prints the
// submission with its results in the field names of `srarena eval --json`.
// `status` agrees; an invalid model exits 1 with its reason and uploads
// nothing; a revoked or wrong token and an unreachable server exit 2.
func TestClientEndToEnd(t *testing.T) {
	lib, err := sandbox.FindORT()
	if err != nil {
		skipOrFail(t, err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	p := startPlatform(t, lib)
	p.startWorker()

	// Operator commands, on the platform's database.
	code, out, errOut := cli(t, "a long enough password\n", "user", "add", "olivia", "--email", "olivia@example.org",
		"--password-stdin", "--database-url", p.dbURL)
	if code != 0 || !strings.Contains(errOut, "created user olivia") {
		t.Fatalf("user add: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := cli(t, "", "user", "add", "olivia", "--email", "o2@example.org", "--database-url", p.dbURL); code != 1 || !strings.Contains(errOut, "exists already") {
		t.Errorf("user add of a taken name: %d %s", code, errOut)
	}
	code, out, errOut = cli(t, "", "token", "create", "--user", "olivia", "--name", "ci", "--database-url", p.dbURL)
	token := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(token, "sra_") {
		t.Fatalf("token create: %d %q %s", code, out, errOut)
	}

	// Before login, client commands say how to log in.
	if code, _, errOut := cli(t, "", "status", "1"); code != 2 || !strings.Contains(errOut, "srarena login") {
		t.Errorf("status before login: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, "", "login", "--server", p.url, "--token", "sra_"+strings.Repeat("A", 43)); code != 2 || !strings.Contains(errOut, "unknown or was revoked") {
		t.Errorf("login with a wrong token: %d %s", code, errOut)
	}
	code, out, errOut = cli(t, "", "login", "--server", p.url, "--token", token)
	if code != 0 || !strings.Contains(out, "as olivia") {
		t.Fatalf("login: %d %s %s", code, out, errOut)
	}
	cfgDir, _ := os.UserConfigDir()
	if st, err := os.Stat(filepath.Join(cfgDir, "srarena", "config.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v %v", st, err)
	}

	if code, _, errOut := cli(t, "", "register", demo.Slug); code != 2 || !strings.Contains(errOut, "--accept-terms") {
		t.Errorf("register without --accept-terms: %d %s", code, errOut)
	}
	code, out, errOut = cli(t, "", "register", demo.Slug, "--accept-terms")
	if code != 0 || !strings.Contains(out, "solo team") {
		t.Fatalf("register: %d %s %s", code, out, errOut)
	}

	dir := t.TempDir()
	good, _ := onnxbuild.Bicubic(4)
	goodPath := filepath.Join(dir, "bicubic.onnx")
	os.WriteFile(goodPath, good, 0o644)
	badPath := filepath.Join(dir, "x2.onnx")
	bad, _ := onnxbuild.Bicubic(2) // a ×2 model for a ×4 challenge
	os.WriteFile(badPath, bad, 0o644)

	code, out, errOut = cli(t, "", "submit", demo.Slug, badPath, "--wait")
	if code != 1 || !strings.Contains(errOut, "nothing was uploaded") {
		t.Errorf("invalid model: exit %d, want 1 with its reason\n%s", code, errOut)
	}

	code, out, errOut = cli(t, "", "submit", demo.Slug, goodPath, "--label", "cli bicubic", "--wait", "--json", "--poll", "500ms", "--timeout", "3m")
	if code != 0 {
		t.Fatalf("submit --wait: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "uploading") || !strings.Contains(errOut, "100%") {
		t.Errorf("no upload progress on stderr: %s", errOut)
	}
	var sub map[string]any
	if err := json.Unmarshal([]byte(out), &sub); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	for _, k := range []string{"id", "status", "psnr", "ssim", "runtime_ms", "runtime_std_ms", "repeats", "peak_memory_mb", "ort_version", "device"} {
		if _, ok := sub[k]; !ok {
			t.Errorf("--json lacks %q: %s", k, out)
		}
	}
	if sub["status"] != "finished" || sub["psnr"] == nil || sub["runtime_ms"] == nil {
		t.Fatalf("submission: %s", out)
	}
	idf, _ := sub["id"].(float64)
	id := strconv.FormatInt(int64(idf), 10)

	code, out, _ = cli(t, "", "status", id)
	if code != 0 || !strings.Contains(out, "finished") || !strings.Contains(out, "PSNR") {
		t.Errorf("status: %d %s", code, out)
	}
	code, out, _ = cli(t, "", "leaderboard", demo.Slug, "--json")
	if code != 0 || !strings.Contains(out, `"rows"`) {
		t.Errorf("leaderboard --json: %d %s", code, out)
	}
	code, out, _ = cli(t, "", "leaderboard", demo.Slug)
	if code != 0 || !strings.Contains(out, "olivia") {
		t.Errorf("leaderboard: %d %s", code, out)
	}

	// Unreachable server: exit 2.
	if _, err := apiclient.SaveConfig(apiclient.Config{Server: "http://127.0.0.1:1", Token: token}); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, "", "status", id); code != 2 || !strings.Contains(errOut, "network") {
		t.Errorf("unreachable server: %d %s", code, errOut)
	}
}
