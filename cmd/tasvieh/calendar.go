package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/rulebook"
)

const calendarHelp = `usage: tasvieh calendar is-business-day [--thursday-closed] DATE
       tasvieh calendar next-business-day [--thursday-closed] DATE
       tasvieh calendar add-business-days [--thursday-closed] DATE N
       tasvieh calendar holidays [--json] YEAR
DATE is Gregorian YYYY-MM-DD or Jalali YYYY/MM/DD (a year below 1700 is Jalali); YEAR is a Jalali year.`

func runCalendar(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 {
		return usageError(env, calendarHelp)
	}
	action := args[0]
	fs := newFlags(env, "calendar "+action, calendarHelp)
	thursday := fs.Bool("thursday-closed", false, "treat every Thursday as closed")
	asJSON := fs.Bool("json", false, "JSON output (holidays)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return flagExit(err)
	}
	cal := calendar.New(calendar.Options{ThursdayClosed: *thursday})
	date := func() (calendar.Date, bool) {
		d, err := calendar.ParseDate(pos[0])
		if err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh calendar:", err)
			return d, false
		}
		return d, true
	}
	switch action {
	case "is-business-day":
		if len(pos) != 1 {
			return usageError(env, calendarHelp)
		}
		d, ok := date()
		if !ok {
			return exitUsage
		}
		yes, why, err := cal.IsBusinessDay(d)
		if err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh calendar:", err)
			return exitUsage
		}
		if yes {
			fmt.Fprintf(env.Stdout, "%s %s: business day\n", d.Display(), d.Weekday())
			return exitOK
		}
		fmt.Fprintf(env.Stdout, "%s %s: not a business day: %s\n", d.Display(), d.Weekday(), why)
		return exitInvalid
	case "next-business-day", "add-business-days":
		want := 1
		if action == "add-business-days" {
			want = 2
		}
		if len(pos) != want {
			return usageError(env, calendarHelp)
		}
		d, ok := date()
		if !ok {
			return exitUsage
		}
		var next calendar.Date
		if action == "next-business-day" {
			next, err = cal.NextBusinessDay(d)
		} else {
			n, perr := strconv.Atoi(pos[1])
			if perr != nil || n < 0 {
				return usageError(env, "calendar add-business-days: N must be a whole number ≥ 0, got %q", pos[1])
			}
			next, err = cal.AddBusinessDays(d, n)
		}
		if err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh calendar:", err)
			return exitInvalid
		}
		fmt.Fprintln(env.Stdout, next.String())
		fmt.Fprintln(env.Stdout, next.Jalali().String())
		return exitOK
	case "holidays":
		if len(pos) != 1 {
			return usageError(env, calendarHelp)
		}
		year, err := strconv.Atoi(pos[0])
		if err != nil {
			return usageError(env, "calendar holidays: YEAR must be a Jalali year such as 1404, got %q", pos[0])
		}
		hs, err := cal.Holidays(year)
		if err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh calendar:", err)
			return exitInvalid
		}
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			for _, h := range hs {
				_ = enc.Encode(h)
			}
			return exitOK
		}
		for _, h := range hs {
			mark := ""
			if h.Provisional {
				mark = " (provisional)"
			}
			fmt.Fprintf(env.Stdout, "%s  %s  %-9s %s — %s%s\n", h.Jalali, h.Date, h.Date.Weekday(), h.NameEN, h.NameFA, mark)
		}
		return exitOK
	}
	return usageError(env, "calendar: unknown action %q\n%s", action, calendarHelp)
}

func runRules(ctx context.Context, env Env, args []string) int {
	const help = "usage: tasvieh rules show [--profile NAME] [--at DATE] [--json]"
	if len(args) == 0 || args[0] != "show" {
		return usageError(env, help)
	}
	fs := newFlags(env, "rules show", "rules show [--profile NAME] [--at DATE] [--json]")
	name := fs.String("profile", "", "profile name: seed (default), 1400, 1404")
	at := fs.String("at", "", "the dated profile in force on DATE instead")
	asJSON := fs.Bool("json", false, "print the profile as JSON")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 || (*name != "" && *at != "") {
		return usageError(env, help+"\n(--profile and --at are alternatives)")
	}
	book, err := loadRulebook(DefaultConfig(env.Getenv))
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh rules:", err)
		return exitInvalid
	}
	var p rulebook.Profile
	switch {
	case *at != "":
		d, err := calendar.ParseDate(*at)
		if err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh rules:", err)
			return exitUsage
		}
		p, err = book.At(d)
		if err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh rules:", err)
			return exitInvalid
		}
	default:
		n := *name
		if n == "" {
			n = book.DefaultName()
		}
		p, err = book.Profile(n)
		if err != nil {
			fmt.Fprintf(env.Stderr, "tasvieh rules: %v (profiles: %v)\n", err, book.Names())
			return exitInvalid
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p)
		return exitOK
	}
	fmt.Fprint(env.Stdout, p.Describe())
	return exitOK
}
