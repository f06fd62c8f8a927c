package markdown

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestHostileMarkdown: script tags, javascript: and data: links, event
// attributes, raw HTML blocks and inline HTML, style and iframe leave
// nothing executable; ordinary Markdown keeps its headings, links and lists.
func TestHostileMarkdown(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"script block", "<script>alert(1)</script>\n\ntext"},
		{"inline script", "hello <script>alert(1)</script> world"},
		{"javascript link", "[click](javascript:alert(1))"},
		{"javascript link entity", "[click](jav&#x09;ascript:alert(1))"},
		{"javascript autolink", "<javascript:alert(1)>"},
		{"data link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"},
		{"img onerror", `<img src=x onerror="alert(1)">`},
		{"markdown image with js", "![x](javascript:alert(1))"},
		{"raw html block", "<div onclick=\"alert(1)\">hi</div>"},
		{"iframe", `<iframe src="https://evil.example"></iframe>`},
		{"style", "<style>body{display:none}</style>"},
		{"svg", `<svg onload="alert(1)"><circle/></svg>`},
		{"link title quote", `[a](https://x.example "t\" onmouseover=\"alert(1)")`},
		{"reference link", "[a][r]\n\n[r]: javascript:alert(1)"},
		{"html in heading", "# <img src=x onerror=alert(1)>"},
		{"table cell", "| a |\n|---|\n| <script>alert(1)</script> |"},
		{"vbscript", "[a](vbscript:msgbox(1))"},
		{"form", `<form action="https://evil.example"><input name=p></form>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := Render(tc.src)
			assertInert(t, out)
		})
	}
}

// assertInert parses out as a browser would and fails on any element or
// attribute that can run code or load active content.
func assertInert(t *testing.T, out string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "iframe", "object", "embed", "svg", "form", "input", "meta", "link", "base", "math":
				t.Errorf("element <%s> survived: %s", n.Data, out)
			}
			for _, a := range n.Attr {
				k, v := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(k, "on") || k == "style" || k == "srcdoc" || k == "formaction" {
					t.Errorf("attribute %s survived: %s", a.Key, out)
				}
				if k == "href" || k == "src" || k == "action" {
					// A browser resolves the value as a URL: only no scheme
					// (relative), http, https and mailto are harmless.
					u, err := url.Parse(v)
					if err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto") {
						t.Errorf("%s=%q survived: %s", a.Key, a.Val, out)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

// TestMarkdownStructure: headings, links, lists, emphasis, code and tables
// render as elements.
func TestMarkdownStructure(t *testing.T) {
	src := "# Efficient SR\n\nRank by **runtime**; see [the report](https://arxiv.org/abs/2404.10343).\n\n" +
		"- keep PSNR ≥ 26.90 dB\n- one model per team\n\n1. first\n2. second\n\n`code` and\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
	out := Render(src)
	for _, want := range []string{"<h1", "Efficient SR</h1>", "<strong>runtime</strong>", `href="https://arxiv.org/abs/2404.10343"`,
		`rel="nofollow noreferrer noopener"`, "<ul>", "<li>keep PSNR ≥ 26.90 dB</li>", "<ol>", "<code>code</code>", "<table>", "<td>2</td>"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if Render(src) != out {
		t.Error("the cached rendering differs")
	}
	if Render("") != "" {
		t.Error(`Render("") is not empty`)
	}
}

// FuzzRender: whatever the organizer writes, the output is inert.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"<script>alert(1)</script>", "[a](javascript:alert(1))", "<img src=x onerror=alert(1)>",
		"# t\n\n- a\n- b", "<a href=\"java\tscript:alert(1)\">x</a>", "[a](<javascript:alert(1)>)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		assertInert(t, render(src))
	})
}

// benchSrc is a challenge description of realistic length (~3 KB).
var benchSrc = strings.Repeat("## Phase\n\nRank by **runtime**; see [the report](https://arxiv.org/abs/2404.10343).\n\n- keep PSNR ≥ 26.90 dB\n- one model per team\n\n", 25)

// BenchmarkRender: what a page view costs with the digest cache (Cached)
// and what it would cost to parse and sanitize on every request (Parse).
func BenchmarkRender(b *testing.B) {
	b.Run("Cached", func(b *testing.B) {
		Render(benchSrc)
		for b.Loop() {
			Render(benchSrc)
		}
	})
	b.Run("Parse", func(b *testing.B) {
		for b.Loop() {
			render(benchSrc)
		}
	})
}
