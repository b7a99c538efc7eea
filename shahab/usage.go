package shahab

// Usage is what each source card's transfers hold against its daily limit on one Tehran day, every channel
// together: succeeded and pending transfers count, refunded and rejected ones do not. It keeps one day only;
// the first use of a later day forgets the earlier (the limit resets at Tehran midnight). Not safe for
// concurrent use: the switch changes it inside its writer's decisions.
type Usage struct {
	day  string // the Tehran date it counts, YYYY-MM-DD
	used map[string]int64
}

// NewUsage is an empty Usage.
func NewUsage() *Usage { return &Usage{used: map[string]int64{}} }

// Used is what pan's transfers hold on day.
func (u *Usage) Used(day, pan string) int64 {
	if day != u.day {
		return 0
	}
	return u.used[pan]
}

// Add counts amount (negative to release a refunded transfer's) against pan on day. A day before the one
// held is ignored: its limit is gone with it.
func (u *Usage) Add(day, pan string, amount int64) {
	switch {
	case day < u.day:
		return
	case day > u.day:
		u.day, u.used = day, map[string]int64{}
	}
	if n := u.used[pan] + amount; n > 0 {
		u.used[pan] = n
	} else {
		delete(u.used, pan)
	}
}

// Cards is how many cards have a use on the day held.
func (u *Usage) Cards() int { return len(u.used) }
