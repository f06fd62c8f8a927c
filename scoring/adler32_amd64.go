//go:build amd64 && !purego

package scoring

// adler32Blocks sums n 32-byte chunks of p (n ≤ adlerChunksMax) into out:
// out[0:8] the byte sums, out[8:16] the sums weighted 32…1 by position in
// the chunk, out[16:24] the byte sums before each chunk, added up (lanes
// to be added up by the caller).
//
//go:noescape
func adler32Blocks(p *byte, n int, out *[24]uint32)

// adlerChunksMax keeps adler32Blocks' lanes within 32 bits: over k chunks
// of bytes 255 the prefix lanes reach 1020·k² (2.7·10⁸ for 512 chunks,
// 16 KiB), the weighted ones 31110·k.
const adlerChunksMax = 512

// adler32Update is hash/adler32's update of adler with p.
func adler32Update(adler uint32, p []byte) uint32 {
	if !haveAVX2 || len(p) < 64 {
		return adler32Generic(adler, p)
	}
	s1, s2 := uint64(adler&0xffff), uint64(adler>>16)
	var out [24]uint32
	for len(p) >= 32 {
		k := min(len(p)/32, adlerChunksMax)
		adler32Blocks(&p[0], k, &out)
		var sum, weighted, before uint64
		for i := 0; i < 8; i++ {
			sum += uint64(out[i])
			weighted += uint64(out[8+i])
			before += uint64(out[16+i])
		}
		// Over k chunks: s2 gains 32·s1 per chunk for the s1 it started
		// with, 32 × each chunk's preceding sums, and the weighted sums.
		s2 = (s2 + 32*uint64(k)*s1 + 32*before + weighted) % adlerMod
		s1 = (s1 + sum) % adlerMod
		p = p[32*k:]
	}
	return adler32Generic(uint32(s2<<16|s1), p)
}

// adlerChunks is adlerChunksMax, for tests that must span two blocks.
func adlerChunks() int { return adlerChunksMax }
