package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

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
//
// Each hash takes Params.MemoryKiB of memory (19 MiB by default), so at most
// MaxConcurrentHashes run at once; the rest wait for a slot (see acquire).
type Hasher struct {
	Params Argon2Params
	dummy  string
	sem    chan struct{} // nil: unlimited
}

// MaxConcurrentHashes bounds the memory argon2id takes: 4 × 19 MiB.
const MaxConcurrentHashes = 4

// maxHashWait bounds the wait for a hashing slot: a busy server answers
// "busy" instead of piling up requests.
const maxHashWait = 15 * time.Second

// ErrHasherBusy is returned when no hashing slot freed up in time.
var ErrHasherBusy = errors.New("password: too many concurrent hashes")

// acquire waits for a hashing slot, at most until ctx ends or maxHashWait
// passes. The returned func frees the slot.
func (h *Hasher) acquire(ctx context.Context) (func(), error) {
	if h.sem == nil {
		return func() {}, nil
	}
	select {
	case h.sem <- struct{}{}:
		return func() { <-h.sem }, nil
	default:
	}
	t := time.NewTimer(maxHashWait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return func() { <-h.sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrHasherBusy, ctx.Err())
	case <-t.C:
		return nil, ErrHasherBusy
	}
}

// NewHasher returns a Hasher. It hashes one throwaway password up front: a
// login for an unknown user verifies against it, so that unknown and known
// users take the same time.
func NewHasher(p Argon2Params) (*Hasher, error) {
	h := &Hasher{Params: p, sem: make(chan struct{}, MaxConcurrentHashes)}
	d, err := h.Hash("srarena-dummy-password")
	if err != nil {
		return nil, err
	}
	h.dummy = d
	return h, nil
}

// Hash is HashContext without a deadline, for command-line tools.
func (h *Hasher) Hash(password string) (string, error) {
	return h.HashContext(context.Background(), password)
}

// HashContext returns the encoded hash of password with a fresh random salt.
// It waits for a hashing slot while ctx lasts.
func (h *Hasher) HashContext(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
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

// Verify is VerifyContext without a deadline.
func (h *Hasher) Verify(password, encoded string) (bool, error) {
	return h.VerifyContext(context.Background(), password, encoded)
}

// VerifyContext reports whether password matches encoded. A malformed hash
// is an error, never a match. It waits for a hashing slot while ctx lasts.
func (h *Hasher) VerifyContext(ctx context.Context, password, encoded string) (bool, error) {
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
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy burns the time of one Verify, for logins of unknown users. Its
// only error is a busy hasher.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, err := h.VerifyContext(ctx, password, h.dummy)
	if errors.Is(err, ErrHasherBusy) {
		return err
	}
	return nil
}
