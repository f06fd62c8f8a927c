package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are argon2id's cost parameters.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 follows OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane):
// about 30 ms a hash on one core of a 2020s server, cheap enough for a login
// form and costly enough for an offline attacker.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

var errBadHash = errors.New("password: malformed hash")

// Hasher hashes and checks passwords with argon2id, encoded PHC-style:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (unpadded base64), so the
// parameters travel with each hash and can be raised later.
type Hasher struct {
	Params Argon2Params
	dummy  string
}

// NewHasher returns a Hasher. It hashes one throwaway password up front: a
// login for an unknown user verifies against it, so that unknown and known
// users take the same time.
func NewHasher(p Argon2Params) (*Hasher, error) {
	h := &Hasher{Params: p}
	d, err := h.Hash("srarena-dummy-password")
	if err != nil {
		return nil, err
	}
	h.dummy = d
	return h, nil
}

// Hash returns the encoded hash of password with a fresh random salt.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	p := h.Params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded. A malformed hash is an
// error, never a match.
func (h *Hasher) Verify(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil ||
		p.Time == 0 || p.Threads == 0 || p.MemoryKiB == 0 || p.MemoryKiB > 1<<22 || p.Time > 64 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 128 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy burns the time of one Verify, for logins of unknown users.
func (h *Hasher) VerifyDummy(password string) {
	h.Verify(password, h.dummy) //nolint:errcheck // the result is meaningless by design
}
