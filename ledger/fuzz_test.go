package ledger

import "testing"

// FuzzDecide drives the ledger with batches built from the fuzzer's bytes (the property test's generator
// reading its choices from them: accounts' flags, transfers' fields and flags — FlagNet chains, bad references,
// user data, duplicate ids —, how a batch is cut into Submit and Propose calls, the lean ledger's retention), in
// lockstep with the reference model. Nothing may panic — the invariant assertions included, which must not
// fire — and every check of the property test must hold.
func FuzzDecide(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add([]byte("tasvieh: paya cycle 03:45, satna gridlock offset, shahab refund by void"))
	seed := make([]byte, 512)
	for i := range seed {
		seed[i] = byte(i*131 + i/7)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &byteSource{b: data}
		h := newHarness(t, src)
		for step := 0; step < 64 && !src.exhausted(); step++ {
			if step == 32 {
				h.restoreTwin(func([]Transfer) {})
			}
			h.step()
		}
	})
}
