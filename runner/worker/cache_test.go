package worker

import (
	"testing"

	"github.com/srarena/srarena/scoring"
)

func TestImageCache(t *testing.T) {
	c := newImageCache(3 * 4 * 4 * 2) // two 4×4 images
	a, b, d := scoring.NewImage(4, 4), scoring.NewImage(4, 4), scoring.NewImage(4, 4)
	c.put("a", a)
	c.put("b", b)
	if c.get("a") != a { // a is now the most recent
		t.Fatal("a missing")
	}
	c.put("d", d) // evicts b, the least recently used
	if c.get("b") != nil || c.get("a") != a || c.get("d") != d {
		t.Fatalf("after eviction: b %v a %v d %v", c.get("b") != nil, c.get("a") == a, c.get("d") == d)
	}
	c.put("huge", scoring.NewImage(100, 100)) // larger than the cache: not kept
	if c.get("huge") != nil || c.get("a") != a {
		t.Fatal("an oversized image displaced the cache")
	}
}
