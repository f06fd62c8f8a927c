package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

func init() {
	register(command{name: "challenge", summary: "site admin: create a challenge from a template, export or import its settings " +
		"(challenge create --template NAME --slug S --title T | challenge export SLUG [-o FILE] | challenge import FILE [--slug S])", run: runChallenge})
}

const challengeUsage = "srarena challenge create --template NAME --slug S --title T [--json]\n" +
	"       srarena challenge export SLUG [-o FILE]\n" +
	"       srarena challenge import FILE [--slug S] [--json]"

func runChallenge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("%s", challengeUsage)
	}
	switch args[0] {
	case "create":
		return runChallengeCreate(ctx, args[1:], stdout)
	case "export":
		return runChallengeExport(ctx, args[1:], stdout)
	case "import":
		return runChallengeImport(ctx, args[1:], stdout)
	}
	return usageErr("%s", challengeUsage)
}

func runChallengeCreate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("challenge create", "challenge create --template NAME --slug S --title T [--json]", stdout)
	template := fs.String("template", "", "template: aim2020, ntire2022, ntire2023, ntire2024, ntire2025, ntire2026")
	slug := fs.String("slug", "", "the challenge's address: /c/SLUG")
	title := fs.String("title", "", "title")
	asJSON := fs.Bool("json", false, "print the created challenge as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *template == "" || *slug == "" || *title == "" {
		return usageErr("srarena challenge create --template NAME --slug S --title T [--json]")
	}
	c, err := loggedIn()
	if err != nil {
		return err
	}
	var out struct {
		Slug   string `json:"slug"`
		Title  string `json:"title"`
		Phases []struct {
			Name   string `json:"name"`
			Window string `json:"window"`
			State  string `json:"state"`
		} `json:"phases"`
	}
	var raw json.RawMessage
	if err := c.Post(ctx, "/challenges", map[string]string{"template": *template, "slug": *slug, "title": *title}, &raw); err != nil {
		return clientErr(err)
	}
	if *asJSON {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		return printJSON(stdout, v)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "challenge %s created: %s\n", out.Slug, out.Title)
	for _, p := range out.Phases {
		fmt.Fprintf(stdout, "  phase %s (%s): %s\n", p.Name, p.State, p.Window)
	}
	fmt.Fprintf(stdout, "panel: %s/admin/c/%s\n", strings.TrimSuffix(c.Server, "/"), out.Slug)
	return nil
}

func runChallengeExport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("challenge export", "challenge export SLUG [-o FILE]", stdout)
	outFile := fs.String("o", "", "write the file here (default: standard output)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("srarena challenge export SLUG [-o FILE]")
	}
	c, err := loggedIn()
	if err != nil {
		return err
	}
	b, err := c.GetText(ctx, "/challenges/"+url.PathEscape(pos[0])+"/settings-export", nil)
	if err != nil {
		return clientErr(err)
	}
	if *outFile == "" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(*outFile, b, 0o644)
}

func runChallengeImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("challenge import", "challenge import FILE [--slug S] [--json]", stdout)
	slug := fs.String("slug", "", "slug of the new challenge (default: the file's)")
	asJSON := fs.Bool("json", false, "print the import report as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("srarena challenge import FILE [--slug S] [--json]")
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if !json.Valid(b) {
		return usageErr("%s is not a JSON file (export one with `srarena challenge export SLUG`)", pos[0])
	}
	c, err := loggedIn()
	if err != nil {
		return err
	}
	path := "/challenges/import"
	if *slug != "" {
		path += "?" + url.Values{"slug": {*slug}}.Encode()
	}
	var rep struct {
		Slug     string   `json:"slug"`
		Phases   []string `json:"phases"`
		Datasets []string `json:"datasets"`
		Missing  []string `json:"missing"`
	}
	if err := c.Post(ctx, path, json.RawMessage(b), &rep); err != nil {
		return clientErr(err)
	}
	if *asJSON {
		return printJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "challenge %s imported: phases %s\n", rep.Slug, strings.Join(rep.Phases, ", "))
	if len(rep.Datasets) > 0 {
		fmt.Fprintf(stdout, "datasets linked: %s\n", strings.Join(rep.Datasets, ", "))
	}
	if len(rep.Missing) > 0 {
		fmt.Fprintf(stdout, "datasets left out (images not on the server; use `srarena dataset import`): %s\n", strings.Join(rep.Missing, ", "))
	}
	return nil
}
