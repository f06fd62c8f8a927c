package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserCompare opens the crop viewer of a leaderboard entry from the
// board in headless Chromium, moves the crop by selecting a point of the
// overview (the script), checks that the crops follow, checks the page with
// axe-core (no serious or critical violation) and saves compare.png to
// $SRARENA_SCREENSHOTS (default: a temporary directory).
func TestBrowserCompare(t *testing.T) {

	a := newApp(t, challengeOpts{})
	_, outputs := a.compareFixture()
	a.user("ann")
	id := a.finished("ann", a.dsID, "27.1", 20, "[]")
	outputs(id)
	a.exec(`UPDATE teams SET name = 'Team Nearest' WHERE challenge_id = $1`, a.chID)

	h := newHeadless(t, 1200, 640, 60*time.Second)
	run, eval := h.run, h.eval
	// loaded waits until every crop image has loaded, and says how many
	// loaded with pixels.
	loaded := func() string {
		return eval("crops loaded", `new Promise((ok) => { const imgs = [...document.querySelectorAll("img.crop")];
			const check = () => imgs.every((i) => i.complete) ? ok(String(imgs.filter((i) => i.naturalWidth > 0).length)) : setTimeout(check, 50);
			check(); })`)
	}

	// From the board to the viewer.
	run("open the leaderboard", chromedp.Navigate(a.srv.URL+"/c/esr/leaderboard"))
	// The click only starts the navigation: wait for the viewer's crops.
	run("follow the compare link", chromedp.Click(chromedp.CSS(`[data-testid=compare-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`img.crop`)))
	if p := eval("address", `location.pathname`); p != fmt.Sprintf("/c/esr/submissions/%d/compare", id) {
		t.Fatalf("the compare link led to %q", p)
	}
	if n := loaded(); n != "3" {
		t.Errorf("%s crops loaded, want 3 (bicubic, output, HR)", n)
		t.Log(eval("debug", `Promise.all([...document.querySelectorAll("img.crop")].map((i) => fetch(i.src).then((r) => i.src + " " + i.naturalWidth + " " + r.status + " " + r.headers.get("content-type"))).then((a) => a.join("\n")))`))
	}
	if got := eval("PSNR", `document.querySelector("[data-testid=image-psnr]").textContent`); !strings.Contains(got, "25.50 dB") {
		t.Errorf("image PSNR %q", got)
	}
	before := eval("crop x", `document.querySelector("[data-testid=crop-rect]").getAttribute("x")`)

	// Select the overview's top-left corner: the crop moves to (0, 0).
	eval("click the overview", `(() => { const s = document.querySelector("[data-testid=overview]");
		const b = s.getBoundingClientRect();
		s.dispatchEvent(new MouseEvent("click", {clientX: b.left + 2, clientY: b.top + 2, bubbles: true})); return "ok"; })()`)
	if x, y := eval("rect x", `document.querySelector("[data-testid=crop-rect]").getAttribute("x")`),
		eval("rect y", `document.querySelector("[data-testid=crop-rect]").getAttribute("y")`); x != "0" || y != "0" || before == "0" {
		t.Errorf("crop at (%s, %s) after the click (was x %s), want (0, 0)", x, y, before)
	}
	if src := eval("sr src", `document.querySelector("[data-testid=crop-sr]").getAttribute("src")`); !strings.Contains(src, "x=0") || !strings.Contains(src, "y=0") {
		t.Errorf("the output crop did not follow: %s", src)
	}
	if q := eval("address", `location.search`); !strings.Contains(q, "x=0") {
		t.Errorf("address not updated: %q", q)
	}
	if n := loaded(); n != "3" {
		t.Errorf("%s crops loaded after the move, want 3", n)
	}
	// Without the script: the form's values give the same crop.
	if at := eval("crop text", `document.querySelector("[data-testid=crop-at]").textContent`); !strings.Contains(at, "(0, 0)") {
		t.Errorf("crop text %q after the move", at)
	}
	// Without the script: the form's values give the same crop, made on
	// the server (a new page).
	// (the address the form submits, navigated to as a browser without
	// the script would).
	next := eval("form address", `(() => { const f = document.querySelector("form.compare-form");
		return f.action + "?" + new URLSearchParams(new FormData(f)).toString(); })()`)
	run("submit the form", chromedp.Navigate(next))
	if at := eval("crop text after the form", `document.querySelector("[data-testid=crop-at]").textContent`); !strings.Contains(at, "(0, 0)") {
		t.Errorf("crop text %q after submitting the form, want (0, 0)", at)
	}
	if n := loaded(); n != "3" {
		t.Errorf("%s crops loaded on the server-made page, want 3", n)
	}

	h.shot("compare.png")
	h.checkA11y("compare")
	t.Logf("screenshot in %s", h.shots)
}
