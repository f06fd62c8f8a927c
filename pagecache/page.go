package pagecache

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
)

// Page is a response rendered once: the body, its gzip and brotli forms
// and a strong ETag.
type Page struct {
	ContentType string
	Body        []byte
	Gzip        []byte // nil when compressing did not pay
	Brotli      []byte
	ETag        string
}

// NewPage compresses body once, for every later request.
func NewPage(contentType string, body []byte) *Page {
	sum := sha256.Sum256(body)
	p := &Page{ContentType: contentType, Body: body, ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
	if len(body) < 512 {
		return p
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	if gz.Len() < len(body) {
		p.Gzip = gz.Bytes()
	}
	var br bytes.Buffer
	bw := brotli.NewWriterLevel(&br, 9)
	bw.Write(body)
	bw.Close()
	if br.Len() < len(body) {
		p.Brotli = br.Bytes()
	}
	return p
}

// Serve writes the page: 304 when the client has it, else the smallest
// encoding the client accepts. Public pages: cacheable, but revalidated on
// every use (no-cache), since a new result changes them at any moment.
func (p *Page) Serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Vary", "Accept-Encoding")
	h.Set("ETag", p.ETag)
	h.Set("Cache-Control", "public, no-cache")
	if etagMatch(r.Header.Get("If-None-Match"), p.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", p.ContentType)
	body := p.Body
	ae := r.Header.Get("Accept-Encoding")
	switch {
	case p.Brotli != nil && accepts(ae, "br"):
		h.Set("Content-Encoding", "br")
		body = p.Brotli
	case p.Gzip != nil && accepts(ae, "gzip"):
		h.Set("Content-Encoding", "gzip")
		body = p.Gzip
	}
	h.Set("Content-Length", itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// etagMatch implements If-None-Match's weak comparison (RFC 9110 13.1.2):
// W/ prefixes are ignored, * matches.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// accepts reports whether an Accept-Encoding header allows coding (q > 0).
func accepts(header, coding string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}
