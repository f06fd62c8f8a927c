// Package static holds the site's CSS and JavaScript, embedded in the binary
// and served under content-hashed URLs (/static/<name>.<hash>.<ext>) with a
// year-long immutable cache: a new build changes the URL, never the content
// behind one.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed *.css *.js
var files embed.FS

// Prefix is the URL path the assets are served under.
const Prefix = "/static/"

type asset struct {
	name  string
	ctype string
	body  []byte
}

// Assets maps the embedded files to their hashed URLs. Safe for concurrent use.
type Assets struct {
	byURL  map[string]asset // hashed file name → asset
	byName map[string]string
}

// Load hashes every embedded file.
func Load() (*Assets, error) {
	a := &Assets{byURL: map[string]asset{}, byName: map[string]string{}}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, fmt.Errorf("static: %w", err)
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		a.byURL[hashed] = asset{name: e.Name(), ctype: mime.TypeByExtension(ext), body: b}
		a.byName[e.Name()] = Prefix + hashed
	}
	return a, nil
}

// URL returns the hashed URL of an embedded file, or "" if there is none.
func (a *Assets) URL(name string) string { return a.byName[name] }

// ServeHTTP serves a hashed asset; mount it at Prefix. Unknown (for example
// stale) hashes get 404 rather than the current file, so a cache never
// stores new content under an old URL.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.byURL[strings.TrimPrefix(r.URL.Path, Prefix)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("Content-Length", fmt.Sprint(len(f.body)))
	if r.Method != http.MethodHead {
		w.Write(f.body) //nolint:errcheck // the client went away; nothing to do
	}
}
