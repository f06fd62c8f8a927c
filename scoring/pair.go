package scoring

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// stem strips the extension ("0801x4.png" → "0801x4").
func stem(name string) string {
	return strings.TrimSuffix(name, path.Ext(name))
}

// scaleSuffix returns the stem without a DIV2K-style scale suffix
// ("0801x4" → "0801", "babyx4" → "baby"), and whether there was one.
func scaleSuffix(s string) (string, bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) || i < 2 || (s[i-1] != 'x' && s[i-1] != 'X') {
		return s, false
	}
	return s[:i-1], true
}

// PairByName pairs LR (or SR) file names with HR file names, as
// [2]string{lr, hr}, sorted by the HR name. A name pairs with the HR name of
// the same stem (extensions may differ: "0801.png" ↔ "0801.png"), or, failing
// that, with the HR name whose stem is its own without a DIV2K scale suffix
// ("0801x4.png" ↔ "0801.png", "babyx4.png" ↔ "baby.png"). An exact stem match
// wins over a suffix match.
//
// Every name on both sides must pair exactly once: a set score over a partial
// or ambiguous set would be wrong, so unpaired or doubly paired names give an
// error wrapping ErrUnpaired that lists them.
func PairByName(lrNames, hrNames []string) ([][2]string, error) {
	hrByStem := make(map[string]string, len(hrNames))
	var problems []string
	for _, h := range hrNames {
		s := stem(h)
		if prev, dup := hrByStem[s]; dup {
			problems = append(problems, fmt.Sprintf("HR %q and %q have the same stem", prev, h))
			continue
		}
		hrByStem[s] = h
	}
	usedBy := make(map[string]string, len(lrNames))
	pairs := make([][2]string, 0, len(lrNames))
	for _, l := range lrNames {
		s := stem(l)
		h, ok := hrByStem[s]
		if !ok {
			if base, cut := scaleSuffix(s); cut {
				h, ok = hrByStem[base]
			}
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("no HR for %q", l))
			continue
		}
		if prev, dup := usedBy[h]; dup {
			problems = append(problems, fmt.Sprintf("HR %q matches both %q and %q", h, prev, l))
			continue
		}
		usedBy[h] = l
		pairs = append(pairs, [2]string{l, h})
	}
	for _, h := range hrNames {
		if _, ok := usedBy[h]; !ok && hrByStem[stem(h)] == h {
			problems = append(problems, fmt.Sprintf("no LR/SR for HR %q", h))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnpaired, strings.Join(problems, "; "))
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][1] < pairs[j][1] })
	return pairs, nil
}
