package worker

import (
	"container/list"
	"sync"

	"github.com/srarena/srarena/scoring"
)

// ImageCacheBytes bounds the decoded dataset images a worker keeps between
// evaluations: DIV2K's 100 validation pairs are about 1 GiB decoded.
const ImageCacheBytes = 1 << 30

// imageCache keeps decoded images by blob digest, least recently used out
// first. The images are shared and never modified.
type imageCache struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // front: most recent; values are *cacheEntry
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key string
	img *scoring.Image
}

func newImageCache(max int) *imageCache {
	return &imageCache{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *imageCache) get(key string) *scoring.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry).img
	}
	return nil
}

func (c *imageCache) put(key string, img *scoring.Image) {
	n := len(img.Pix)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok || n > c.max {
		return
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key, img})
	c.size += n
	for c.size > c.max {
		e := c.order.Back()
		ce := e.Value.(*cacheEntry)
		c.order.Remove(e)
		delete(c.byKey, ce.key)
		c.size -= len(ce.img.Pix)
	}
}
