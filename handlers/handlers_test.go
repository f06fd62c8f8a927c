package handlers

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSafeNext: every value a browser could resolve to another origin must
// fall back to "/". Browsers drop tabs and newlines inside URLs and read "\"
// as "/", so the nasty cases are the ones that only become "//host" after
// that normalisation.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/c/esr", "/c/esr"},
		{"/c/esr/submissions?x=1#top", "/c/esr/submissions?x=1#top"},
		{"/submissions/12", "/submissions/12"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\t/evil.example", "/"}, // what /login?next=/%09/evil.example decodes to
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"https://evil.example", "/"},
		{"https:evil.example", "/"},
		{"HTTP://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"JavaScript:alert(1)", "/"},
		{"data:text/html,hi", "/"},
		{"evil.example", "/"},
		{"c/esr", "/"},
		{"/%2F/evil.example", "/"}, // decodes to a path starting with "//"
		{"/a\r\nSet-Cookie: x=y", "/"},
		{"/%zz", "/"}, // does not parse
	}
	for _, tc := range tests {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestHasherSemaphore: with every slot taken, a hash waits and gives up
// when the request's context ends instead of taking another 19 MiB.
func TestHasherSemaphore(t *testing.T) {
	t.Parallel()
	h, err := NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if cap(h.sem) != MaxConcurrentHashes {
		t.Fatalf("%d slots, want %d", cap(h.sem), MaxConcurrentHashes)
	}
	for range MaxConcurrentHashes {
		h.sem <- struct{}{}
	}
	enc := h.dummy
	tests := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"hash", func(ctx context.Context) error { _, err := h.HashContext(ctx, "pw"); return err }},
		{"verify", func(ctx context.Context) error { _, err := h.VerifyContext(ctx, "pw", enc); return err }},
		{"dummy", func(ctx context.Context) error { return h.VerifyDummy(ctx, "pw") }},
	}
	for _, tc := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := tc.run(ctx)
		cancel()
		if !errors.Is(err, ErrHasherBusy) {
			t.Errorf("%s with all slots taken: %v, want ErrHasherBusy", tc.name, err)
		}
	}
	<-h.sem // one slot frees up: work proceeds
	if _, err := h.HashContext(context.Background(), "pw"); err != nil {
		t.Errorf("hash with a free slot: %v", err)
	}
}
