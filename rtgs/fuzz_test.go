package rtgs

import "testing"

// FuzzParseNames reads any text as each kind of name; what parses writes back to the same text and reads
// again to the same value.
func FuzzParseNames(f *testing.F) {
	for _, s := range []string{"customer", "interbank", "urgent", "normal", "queued", "cancelled_eod", "below_minimum",
		"ok", "none", "", "0196b1a2-7c3d-7abc-8def-0123456789ab", "0196B1A2-7C3D-7ABC-8DEF-0123456789AB", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(kind string, text []byte, err error, again func(string) (string, error)) {
			if err != nil {
				return
			}
			back, err := again(string(text))
			if err != nil || back != string(text) {
				t.Errorf("%s %q: wrote %q, read back %q, %v", kind, s, text, back, err)
			}
		}
		if v, err := ParseType(s); err == nil {
			b, err := v.MarshalText()
			check("type", b, err, func(x string) (string, error) { v, err := ParseType(x); return v.String(), err })
		}
		if v, err := ParsePriority(s); err == nil {
			b, err := v.MarshalText()
			check("priority", b, err, func(x string) (string, error) { v, err := ParsePriority(x); return v.String(), err })
		}
		if v, err := ParseStatus(s); err == nil {
			b, err := v.MarshalText()
			check("status", b, err, func(x string) (string, error) { v, err := ParseStatus(x); return v.String(), err })
		}
		if v, err := ParseCode(s); err == nil {
			b, err := v.MarshalText()
			check("code", b, err, func(x string) (string, error) { v, err := ParseCode(x); return v.String(), err })
		}
		if v, err := ParseOrderID(s); err == nil {
			b, err := v.MarshalText()
			check("order id", b, err, func(x string) (string, error) { v, err := ParseOrderID(x); return v.String(), err })
		}
	})
}

// FuzzValidate feeds any text to an order's text and identifier fields: Validate never panics, a rejection
// names its code's field, and an accepted order, validated again as Decision.Order, is accepted unchanged.
func FuzzValidate(f *testing.F) {
	f.Add("PRS-1", "مریم", "علی", "", parsianSHEBA, "IR550570022080013447370101", "054", "057", int64(200_000_000))
	f.Add("x", "a\u202eb", "c", "d\te", "ir82 0540 1026 8002 0817 9090 02", "IR12", "54", "", int64(0))
	f.Fuzz(func(t *testing.T, ref, payer, payee, desc, payerSHEBA, payeeSHEBA, sender, receiver string, amount int64) {
		o := customerOrder(t)
		o.Reference, o.PayerName, o.PayeeName, o.Description = ref, payer, payee, desc
		o.PayerSHEBA, o.PayeeSHEBA, o.SenderBank, o.ReceiverBank, o.AmountRial = payerSHEBA, payeeSHEBA, sender, receiver, amount
		env := testEnv(t)
		d, r, err := Validate(o, env)
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		if r != nil {
			if r.Field != r.Code.Field() || !r.Code.Stateless() || r.Code == CodeOK || r.Message == "" {
				t.Errorf("rejection %+v", r)
			}
			return
		}
		d2, r2, err := Validate(d.Order, env)
		if err != nil || r2 != nil || d2 != d {
			t.Errorf("validating the accepted order again: %+v, %v, %v; want %+v", d2, r2, err, d)
		}
	})
}

// FuzzOffset decodes bytes into small gridlocks and checks Offset against the reference.
func FuzzOffset(f *testing.F) {
	f.Add([]byte{0, 1, 5, 1, 1, 2, 5, 1, 2, 0, 5, 1, 3, 3, 3})
	f.Add([]byte{0, 1, 200, 2, 1, 0, 100, 3, 0, 1, 50, 1, 9, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		const banks = 5
		codes := [banks]string{"011", "012", "015", "017", "054"}
		balances := map[string]int64{}
		for i, c := range codes {
			if i < len(data) {
				balances[c] = int64(data[i] % 16)
			}
		}
		data = data[min(len(data), banks):]
		var orders []Order
		for i := 0; i+4 <= len(data) && len(orders) < 40; i += 4 {
			from, to := int(data[i]%banks), int(data[i+1]%banks)
			orders = append(orders, Order{
				ID: id(uint64(len(orders) + 1)), SenderBank: codes[from], ReceiverBank: codes[to],
				AmountRial: int64(data[i+2]%32) + 1, Priority: Priority(data[i+3]%3 + 1),
				ReceivedAt: epoch.Add(durationOf(data[i+3] / 3)),
			})
		}
		checkOffset(t, orders, balances)
	})
}
