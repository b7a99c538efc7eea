package rtgs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
)

func TestSchedule(t *testing.T) {
	type when struct {
		day          string
		hour, minute int
	}
	tests := []struct {
		name      string
		typ       Type
		effective string // Jalali, "" for none
		now       when
		want      when // the instant it may settle after
		wantWait  bool // warehoused
	}{
		{"customer, business day, in hours: at once", TypeCustomer, "", when{"1404/01/18", 10, 0}, when{"1404/01/18", 10, 0}, false},
		{"customer at the opening: at once", TypeCustomer, "", when{"1404/01/18", 6, 0}, when{"1404/01/18", 6, 0}, false},
		{"customer before the opening: that day's opening", TypeCustomer, "", when{"1404/01/18", 5, 59}, when{"1404/01/18", 6, 0}, true},
		{"customer just after midnight: that day's opening", TypeCustomer, "", when{"1404/01/18", 0, 0}, when{"1404/01/18", 6, 0}, true},
		{"customer a minute before its cut-off: at once", TypeCustomer, "", when{"1404/01/18", 14, 29}, when{"1404/01/18", 14, 29}, false},
		{"customer at its cut-off: next business day", TypeCustomer, "", when{"1404/01/18", 14, 30}, when{"1404/01/19", 6, 0}, true},
		{"interbank at the customer cut-off: at once", TypeInterbank, "", when{"1404/01/18", 14, 30}, when{"1404/01/18", 14, 30}, false},
		{"interbank at its cut-off: next business day", TypeInterbank, "", when{"1404/01/18", 15, 0}, when{"1404/01/19", 6, 0}, true},
		{"customer late in the evening: next business day", TypeCustomer, "", when{"1404/01/18", 23, 59}, when{"1404/01/19", 6, 0}, true},
		{"Thursday after the cut-off: over Friday to Saturday", TypeCustomer, "", when{"1404/01/21", 15, 0}, when{"1404/01/23", 6, 0}, true},
		{"Friday: Saturday", TypeInterbank, "", when{"1404/01/22", 10, 0}, when{"1404/01/23", 6, 0}, true},
		{"Nowruz, 1404-01-01: when 1404-01-05 opens", TypeCustomer, "", when{"1404/01/01", 10, 0}, when{"1404/01/05", 6, 0}, true},
		{"Nowruz, 1404-01-03, before any opening", TypeInterbank, "", when{"1404/01/03", 3, 0}, when{"1404/01/05", 6, 0}, true},
		{"released when 1404-01-05 opens: at once", TypeCustomer, "", when{"1404/01/05", 6, 0}, when{"1404/01/05", 6, 0}, false},
		{"1403-12-28 after the cut-off: over 29 Esfand to 30 Esfand", TypeCustomer, "", when{"1403/12/28", 15, 0}, when{"1403/12/30", 6, 0}, true},
		{"1403-12-30 after the cut-off: over the year and Nowruz", TypeCustomer, "", when{"1403/12/30", 14, 45}, when{"1404/01/05", 6, 0}, true},
		{"future-dated: its day's opening", TypeCustomer, "1404/01/20", when{"1404/01/18", 10, 0}, when{"1404/01/20", 6, 0}, true},
		{"future-dated, received after the cut-off", TypeCustomer, "1404/01/19", when{"1404/01/18", 16, 0}, when{"1404/01/19", 6, 0}, true},
		{"future-dated to a Friday: the Saturday", TypeCustomer, "1404/01/22", when{"1404/01/18", 10, 0}, when{"1404/01/23", 6, 0}, true},
		{"future-dated into Nowruz from 1403", TypeInterbank, "1404/01/02", when{"1403/12/27", 10, 0}, when{"1404/01/05", 6, 0}, true},
		{"dated today, in hours: at once", TypeCustomer, "1404/01/18", when{"1404/01/18", 10, 0}, when{"1404/01/18", 10, 0}, false},
		{"dated today, after the cut-off: next business day", TypeCustomer, "1404/01/18", when{"1404/01/18", 14, 30}, when{"1404/01/19", 6, 0}, true},
		{"future-dated order on its day: at once", TypeCustomer, "1404/01/20", when{"1404/01/20", 6, 0}, when{"1404/01/20", 6, 0}, false},
	}
	p, cal := profile(t, "seed"), calendar.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := customerOrder(t)
			o.Type = tt.typ
			if tt.effective != "" {
				o.EffectiveDate = jalali(t, tt.effective)
			}
			now := at(t, tt.now.day, tt.now.hour, tt.now.minute)
			got, wait, err := Schedule(o, now, p, cal)
			if err != nil {
				t.Fatalf("Schedule: %v", err)
			}
			want := at(t, tt.want.day, tt.want.hour, tt.want.minute)
			if !got.Equal(want) || wait != tt.wantWait {
				t.Errorf("Schedule = %s, warehoused %v; want %s (%s), %v", got.In(calendar.Tehran), wait, want, jalali(t, tt.want.day).Display(), tt.wantWait)
			}
			// The same instant in another zone decides the same.
			if got2, wait2, _ := Schedule(o, now.UTC(), p, cal); !got2.Equal(got) || wait2 != wait {
				t.Errorf("in UTC: %s, %v", got2, wait2)
			}
		})
	}
}

// TestNowruzDate pins the example: 1404-01-05 is 2025-03-25.
func TestNowruzDate(t *testing.T) {
	o := customerOrder(t)
	got, wait, err := Schedule(o, at(t, "1404/01/01", 9, 0), profile(t, "seed"), calendar.Default())
	want := time.Date(2025, time.March, 25, 6, 0, 0, 0, calendar.Tehran)
	if err != nil || !wait || !got.Equal(want) {
		t.Errorf("Schedule = %s, %v, %v; want %s warehoused", got, wait, err, want)
	}
}

func TestScheduleNoTable(t *testing.T) {
	p, cal := profile(t, "seed"), calendar.Default()
	tests := []struct {
		name      string
		effective string
		now       time.Time
	}{
		{"received in 1406", "", at(t, "1406/02/01", 10, 0)},
		{"dated into 1406", "1406/01/10", at(t, "1405/12/27", 10, 0)},
		{"after the cut-off on the last business day of 1405", "", at(t, "1405/12/27", 15, 0)},
		{"received in 1402", "", at(t, "1402/06/01", 10, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := customerOrder(t)
			if tt.effective != "" {
				o.EffectiveDate = jalali(t, tt.effective)
			}
			got, wait, err := Schedule(o, tt.now, p, cal)
			if !errors.Is(err, calendar.ErrNoTable) {
				t.Errorf("Schedule = %s, %v, %v; want ErrNoTable", got, wait, err)
			}
		})
	}
	if _, _, err := Schedule(customerOrder(t), at(t, "1404/01/18", 10, 0), p, nil); !errors.Is(err, ErrEnv) {
		t.Errorf("nil calendar: %v", err)
	}
}

func TestReturnDeadline(t *testing.T) {
	cal := calendar.Default()
	tests := []struct {
		name    string
		days    int
		settled time.Time
		want    time.Time
	}{
		{"next business day's end", 1, at(t, "1404/01/18", 10, 0), at(t, "1404/01/19", 16, 0)},
		{"Thursday: Saturday's end", 1, at(t, "1404/01/21", 10, 0), at(t, "1404/01/23", 16, 0)},
		{"across the year and Nowruz", 1, at(t, "1403/12/30", 10, 0), at(t, "1404/01/05", 16, 0)},
		{"0: the same day's end", 0, at(t, "1404/01/18", 10, 0), at(t, "1404/01/18", 16, 0)},
		{"2: over Eid al-Fitr", 2, at(t, "1404/01/09", 10, 0), at(t, "1404/01/14", 16, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := profile(t, "seed")
			p.SATNAReturnDeadlineBusinessDays = tt.days
			got, err := ReturnDeadline(tt.settled, p, cal)
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("ReturnDeadline = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
	if _, err := ReturnDeadline(at(t, "1406/01/10", 10, 0), profile(t, "seed"), cal); !errors.Is(err, calendar.ErrNoTable) {
		t.Errorf("1406: %v, want ErrNoTable", err)
	}
	if got, want := EndOfDay(jalali(t, "1404/01/18"), profile(t, "1404")), at(t, "1404/01/18", 16, 0); !got.Equal(want) {
		t.Errorf("EndOfDay = %s, want %s", got, want)
	}
}

func TestReturnAmount(t *testing.T) {
	seed := profile(t, "seed")
	percent := seed
	percent.SATNAReturnFee = profile(t, "1404").SATNAFee // 0.02 %, at most 250,000
	tests := []struct {
		name              string
		amount            int64
		wantBack, wantFee int64
	}{
		{"flat fee", 200_000_000, 199_950_000, 50_000},
		{"fee equal to the amount: nothing back", 50_000, 0, 50_000},
		{"fee above the amount: cut to it", 30_000, 0, 30_000},
		{"zero", 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			back, fee := ReturnAmount(tt.amount, seed)
			if back != tt.wantBack || fee != tt.wantFee {
				t.Errorf("ReturnAmount(%d) = %d, %d; want %d, %d", tt.amount, back, fee, tt.wantBack, tt.wantFee)
			}
		})
	}
	if back, fee := ReturnAmount(1_000_000_000, percent); back != 999_800_000 || fee != 200_000 {
		t.Errorf("percent fee: %d, %d", back, fee)
	}
}

func TestNewReturn(t *testing.T) {
	p, env := profile(t, "1404"), testEnv(t)
	env.Profile = p
	orig := customerOrder(t)
	orig.AmountRial = 1_000_000_000
	orig.Priority = PriorityNormal
	back, err := NewReturn(orig, id(7), "MEL-RET-1", "account blocked", at(t, "1404/01/18", 11, 0), p)
	if err != nil {
		t.Fatal(err)
	}
	want := Order{
		ID: id(7), Type: TypeCustomer, SenderBank: "017", ReceiverBank: "054",
		PayerSHEBA: orig.PayeeSHEBA, PayerName: orig.PayeeName, PayeeSHEBA: orig.PayerSHEBA, PayeeName: orig.PayerName,
		AmountRial: 999_950_000, Description: "account blocked", Reference: "MEL-RET-1", Priority: PriorityHigh,
		ReceivedAt: at(t, "1404/01/18", 11, 0), ReturnOf: orig.ID,
	}
	if back != want {
		t.Errorf("NewReturn =\n%+v\nwant\n%+v", back, want)
	}
	// Below 1404's minimum by the fee, and yet accepted, with no SATNA fee.
	d, r, err := Validate(back, env)
	if err != nil || r != nil || d.FeeRial != 0 {
		t.Errorf("Validate(return) = %+v, %v, %v; want accepted without a fee", d.FeeRial, r, err)
	}

	for _, tt := range []struct {
		name   string
		change func(o *Order)
		want   string
	}{
		{"interbank", func(o *Order) { o.Type = TypeInterbank }, "credits no customer"},
		{"a return", func(o *Order) { o.ReturnOf = id(3) }, "itself the return"},
		{"fee takes it all", func(o *Order) { o.AmountRial = 50_000 }, "takes the whole amount"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := orig
			tt.change(&o)
			_, err := NewReturn(o, id(8), "R", "x", o.ReceivedAt, p)
			if !errors.Is(err, ErrNotReturnable) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewReturn = %v, want ErrNotReturnable saying %q", err, tt.want)
			}
		})
	}
}
