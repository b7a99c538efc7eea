package banks

import "time"

// AsOf returns the registry as it stood on day (YYYY-MM-DD, Gregorian): a bank whose merger or dissolution
// took effect after day (its Since is a full date later than day) is active again, with no successor, so its
// accounts and cards route to itself. A Since that is only a year ("2019") is taken as long past. The
// receiver is unchanged; when nothing differs it is returned itself.
func (r *Registry) AsOf(day string) *Registry {
	rows := r.All()
	changed := false
	for i, b := range rows {
		if b.Status != StatusMerged && b.Status != StatusDissolved {
			continue
		}
		since, err := time.Parse(time.DateOnly, b.Since)
		if err != nil || since.Format(time.DateOnly) <= day {
			continue
		}
		rows[i].Status, rows[i].Successor, rows[i].Since = StatusActive, "", ""
		changed = true
	}
	if !changed {
		return r
	}
	out, err := build(rows, nil)
	if err != nil {
		// Undoing a merger removes a successor link, which no cross-row rule needs.
		panic("banks: registry broken by AsOf: " + err.Error())
	}
	return out
}
