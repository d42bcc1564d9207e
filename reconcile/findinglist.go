package reconcile

import "iter"

// findingChunk is how many findings a findingList holds per chunk.
const findingChunk = 1024

// findingList collects a target's findings in chunks: adding one never
// copies those already added (a Finding is large, and a target of a
// hundred thousand accounts may have tens of thousands).
type findingList struct {
	chunks [][]Finding
	n      int
}

// add appends fs.
func (l *findingList) add(fs ...Finding) {
	for _, f := range fs {
		if len(l.chunks) == 0 || len(l.chunks[len(l.chunks)-1]) == findingChunk {
			l.chunks = append(l.chunks, make([]Finding, 0, findingChunk))
		}
		last := &l.chunks[len(l.chunks)-1]
		*last = append(*last, f)
		l.n++
	}
}

// Len is the number of findings.
func (l *findingList) Len() int { return l.n }

// All yields the findings in the order they were added.
func (l *findingList) All() iter.Seq[*Finding] {
	return func(yield func(*Finding) bool) {
		for _, c := range l.chunks {
			for i := range c {
				if !yield(&c[i]) {
					return
				}
			}
		}
	}
}
