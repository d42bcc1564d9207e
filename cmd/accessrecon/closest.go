package main

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// closestNames returns up to n names of have closest to want, for "did you
// mean": those starting with want or it with them (case-insensitively),
// then those within a case-insensitive edit distance of a third of want's
// length (at least 2); nearest first.
func closestNames(want string, have []string, n int) []string {
	w := strings.ToLower(strings.TrimSpace(want))
	if w == "" {
		return nil
	}
	limit := max(2, utf8.RuneCountInString(w)/3)
	type near struct {
		name string
		d    int
	}
	var out []near
	seen := map[string]bool{}
	for _, h := range have {
		l := strings.ToLower(h)
		if seen[l] || l == "" {
			continue
		}
		seen[l] = true
		d := levenshtein(w, l)
		if strings.HasPrefix(l, w) || strings.HasPrefix(w, l) {
			d = min(d, 1)
		}
		if d <= limit {
			out = append(out, near{h, d})
		}
	}
	slices.SortStableFunc(out, func(a, b near) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.name, b.name)
	})
	var names []string
	for _, x := range out[:min(n, len(out))] {
		names = append(names, x.name)
	}
	return names
}

// levenshtein is the edit distance between a and b, in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
