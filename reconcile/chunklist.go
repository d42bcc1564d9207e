package reconcile

import "iter"

// chunkSize is how many items a chunkList holds per chunk.
const chunkSize = 1024

// chunkList collects items in chunks: adding one never copies those
// already added. A Finding is large, and a target of a hundred thousand
// accounts may have tens of thousands; the previous HR snapshot of a
// million people, grown by appending, copied 200 MB (1.6 CPU-s, on the
// path every target waits on).
type chunkList[T any] struct {
	chunks [][]T
	n      int
}

// add appends xs.
func (l *chunkList[T]) add(xs ...T) {
	for _, x := range xs {
		if len(l.chunks) == 0 || len(l.chunks[len(l.chunks)-1]) == chunkSize {
			l.chunks = append(l.chunks, make([]T, 0, chunkSize))
		}
		last := &l.chunks[len(l.chunks)-1]
		*last = append(*last, x)
		l.n++
	}
}

// Len is the number of items.
func (l *chunkList[T]) Len() int { return l.n }

// at returns the i-th item added.
func (l *chunkList[T]) at(i int) *T { return &l.chunks[i/chunkSize][i%chunkSize] }

// All yields the items in the order they were added.
func (l *chunkList[T]) All() iter.Seq[*T] {
	return func(yield func(*T) bool) {
		for _, c := range l.chunks {
			for i := range c {
				if !yield(&c[i]) {
					return
				}
			}
		}
	}
}
