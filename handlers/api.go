package handlers

import (
	"bytes"
	_ "embed"
	"net/http"
	"strings"
	"unicode/utf8"
)

// The /api/v1 handlers (api_*.go) parse a request, call the domain layer
// and write JSON; errors go through web's adapter, which answers JSON for
// every /api/ path: {"error": "…", "status": 404, "request_id": "…"}.

// OpenAPISpec is the hand-written OpenAPI 3 description of /api/v1.
//
//go:embed openapi.json
var OpenAPISpec []byte

// OpenAPI serves the spec. GET /api/v1/openapi.json
func OpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(OpenAPISpec)
	return err
}

// meJSON is who a token acts for.
type meJSON struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
	IsAdmin  bool   `json:"is_admin"`
}

// APIMe says whose token it is; `srarena login` checks a token with it.
// GET /api/v1/me
func APIMe(w http.ResponseWriter, r *http.Request) error {
	u := VisitorFrom(r.Context()).User
	if u == nil {
		return Errorf(http.StatusUnauthorized, "This needs an access token.")
	}
	return WriteJSON(w, http.StatusOK, meJSON{ID: u.ID, Username: u.Username, Email: u.Email, IsAdmin: u.IsAdmin})
}

// CleanText reports whether s can be stored as PostgreSQL text: no NUL
// byte, valid UTF-8.
func CleanText(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
