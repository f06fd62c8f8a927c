package web_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserMarkdownDescription: in headless Chromium, a challenge page
// whose description and terms mix Markdown with hostile HTML shows the
// headings, links, lists and table as elements, and nothing in it runs:
// not a script tag, an onerror attribute, nor a javascript: link when
// clicked. Screenshot: challenge-markdown.png in $SRARENA_SCREENSHOTS.
func TestBrowserMarkdownDescription(t *testing.T) {
	a := newApp(t, challengeOpts{})
	desc := "## Efficient super-resolution\n\nRank by runtime; see [the NTIRE 2024 report](https://arxiv.org/abs/2404.10343).\n\n" +
		"- keep PSNR ≥ 26.90 dB on DIV2K\n- one model per team\n- [dangerous](javascript:window.pwned='link')\n\n" +
		"| track | metric |\n|---|---|\n| main | runtime |\n\n" +
		"<script>window.pwned='script'</script>\n\n<img src=x onerror=\"window.pwned='onerror'\">\n\n" +
		"<div onmouseover=\"window.pwned='div'\">raw html</div>\n"
	a.exec(`UPDATE challenges SET description = $1, terms = $2 WHERE id = $3`, desc, "### Terms\n\n1. no test-set tuning\n2. publish a fact sheet", a.chID)

	h := newHeadless(t, 1200, 900, 60*time.Second)
	eval, bctx, shots := h.eval, h.ctx, h.shots
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(a.srv.URL+"/c/esr")); err != nil {
		t.Fatal(err)
	}
	for what, js := range map[string]string{
		"heading":  `document.querySelector("[data-testid=description] h2")?.textContent ?? ""`,
		"link":     `document.querySelector("[data-testid=description] a[href^='https://arxiv.org']")?.textContent ?? ""`,
		"items":    `String(document.querySelectorAll("[data-testid=description] ul li").length)`,
		"table":    `document.querySelector("[data-testid=description] table td")?.textContent ?? ""`,
		"scripts":  `String(document.querySelectorAll("[data-testid=description] script, [data-testid=description] img, [data-testid=description] [onmouseover]").length)`,
		"jslinks":  `String([...document.querySelectorAll("a")].filter((a) => a.href.startsWith("javascript:")).length)`,
		"rawtext":  `document.querySelector("[data-testid=description]").textContent.includes("raw html") ? "kept" : "dropped"`,
		"scriptjs": `String(window.pwned ?? "")`,
	} {
		got := eval(what, js)
		want := map[string]string{"heading": "Efficient super-resolution", "link": "the NTIRE 2024 report", "items": "3", "table": "main",
			"scripts": "0", "jslinks": "0", "rawtext": "dropped", "scriptjs": ""}[what]
		if got != want {
			t.Errorf("%s: %q, want %q", what, got, want)
		}
	}
	// Hover and click everything in the description: nothing runs.
	eval("click", `[...document.querySelectorAll("[data-testid=description] *")].forEach((e) => { e.dispatchEvent(new MouseEvent("mouseover", {bubbles: true})); if (e.tagName !== "A" || !e.href.startsWith("http")) e.click(); }); "ok"`)
	if got := eval("after clicks", `String(window.pwned ?? "")`); got != "" {
		t.Errorf("something ran: window.pwned = %q", got)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shots, "challenge-markdown.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
