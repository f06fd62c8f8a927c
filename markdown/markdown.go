// Package markdown renders organizer-written Markdown (a challenge's
// description and terms) to HTML that is safe to put in a page: goldmark
// without raw HTML (it is dropped, never passed through), then
// bluemonday's UGC policy over the result, so neither a raw tag nor a
// javascript: link, an event attribute or a style survives. Rendered HTML
// is cached by the source's digest: a page view costs a map lookup, not a
// parse (the source changes only when an organizer saves the settings).
package markdown

import (
	"bytes"
	"crypto/sha256"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

var (
	md = goldmark.New(
		// GFM tables, strikethrough, autolinks and task lists; no
		// html.WithUnsafe(): raw HTML becomes "<!-- raw HTML omitted -->".
		goldmark.WithExtensions(extension.GFM),
	)
	policy = func() *bluemonday.Policy {
		p := bluemonday.UGCPolicy()
		p.RequireNoFollowOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		p.RequireNoReferrerOnFullyQualifiedLinks(true)
		return p
	}()
)

// maxCached bounds the cache; it is cleared when full (a challenge's two
// texts per server are far below it).
const maxCached = 512

var (
	mu    sync.Mutex
	cache = map[[32]byte]string{}
)

// Render returns src as sanitized HTML ("" for ""). Safe for concurrent use.
func Render(src string) string {
	if src == "" {
		return ""
	}
	key := sha256.Sum256([]byte(src))
	mu.Lock()
	html, ok := cache[key]
	mu.Unlock()
	if ok {
		return html
	}
	html = render(src)
	mu.Lock()
	if len(cache) >= maxCached {
		clear(cache)
	}
	cache[key] = html
	mu.Unlock()
	return html
}

func render(src string) string {
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		// goldmark fails only on a failing writer; a bytes.Buffer does
		// not. Fall back to nothing rather than to unsanitized text.
		return ""
	}
	return policy.Sanitize(buf.String())
}
