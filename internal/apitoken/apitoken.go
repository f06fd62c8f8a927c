// Package apitoken makes and recognises personal access tokens for /api/v1
// and the command-line client. A token is "sra_" and 43 base64url
// characters (32 random bytes); only its sha256 is stored.
package apitoken

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Prefix marks srarena tokens, so secret scanners and people can tell one
// when they see it.
const Prefix = "sra_"

// encLen is the length of 32 bytes in unpadded base64url.
const encLen = 43

// New returns a fresh token and the hash to store.
func New() (token string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("api token: %w", err)
	}
	token = Prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, Hash(token), nil
}

// Hash is what the database stores for token.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// WellFormed reports whether s looks like a token at all, so that garbage
// costs no database lookup.
func WellFormed(s string) bool {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok || len(rest) != encLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// MaxName is the longest token label, in bytes.
const MaxName = 100
