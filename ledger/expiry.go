package ledger

import "bytes"

// expiryEntry schedules the expiry of a pending transfer with a timeout.
type expiryEntry struct {
	deadline int64 // unix ns: the transfer expires at the first Begin whose now reaches it
	ts       int64 // the pending transfer's timestamp: breaks ties, so expiry order never depends on the heap
	id       ID
}

func (a *expiryEntry) less(b *expiryEntry) bool {
	if a.deadline != b.deadline {
		return a.deadline < b.deadline
	}
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	return bytes.Compare(a.id[:], b.id[:]) < 0
}

// expiryHeap is a min-heap of expiry entries by (deadline, ts, id). Deletion is lazy: an entry whose transfer
// has since been posted, voided or undone (a failed chain or proposal) stays until its deadline passes, and
// Begin (or NextExpiry) skips it then. So posting, voiding and undoing cost nothing here.
type expiryHeap []expiryEntry

func (h *expiryHeap) push(e expiryEntry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !s[i].less(&s[parent]) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *expiryHeap) pop() expiryEntry {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s[l].less(&s[m]) {
			m = l
		}
		if r < n && s[r].less(&s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
