package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/tasvieh/tasvieh/internal/bench"
)

// benchPAYAFundingRial is every bank's opening settlement balance in the bench: large enough that no bank is
// short of a million-row payroll's net (at most a million entries under the 150,000,000-rial cap, 1.5e14
// rial), as bench rtgs funds its banks; 1e15 for each of some thirty banks stays well inside int64.
const benchPAYAFundingRial int64 = 1_000_000_000_000_000

// benchPAYA boots a server in this process on a fresh schema (simulated clock at 1404/02/01 12:30 Tehran, a
// business day, before the 12:45 cycle), uploads a generated payroll as CSV and then as NACHA through the
// backend, waits for the cycle processor, runs the one cycle and ends with the audit.
func benchPAYA(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "bench paya", "bench paya [--rows N] [--json] [--cpuprofile FILE]")
	o := bench.DefaultPAYAOptions()
	fs.IntVar(&o.Rows, "rows", o.Rows, "rows of the payroll file (CSV, and its NACHA form)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 || o.Rows < 1 || o.Rows > bench.PAYARowsMax {
		return usageError(env, benchHelp)
	}
	fail := func(err error) int {
		fmt.Fprintln(env.Stderr, "tasvieh bench paya:", err)
		return exitInvalid
	}
	srv, pool, home, release, err := benchSwitch(ctx, env, benchPAYAFundingRial)
	if err != nil {
		return fail(err)
	}
	defer release()
	o.Dir = home
	if !*asJSON {
		o.Progress = func(format string, a ...any) { fmt.Fprintf(env.Stdout, "  "+format+"\n", a...) }
		fmt.Fprintf(env.Stdout, "bench paya: schema %s, %d rows per file\n", filepath.Base(home), o.Rows)
	}
	r, rep, err := benchMeasured(ctx, pool, *cpuProfile, func() (bench.PAYAResult, error) { return bench.PAYA(ctx, srv, o) })
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
	} else {
		w := env.Stdout
		fmt.Fprintf(w, "CSV file:   %d entries accepted in %.1f s (%.0f entries/s), peak RSS %.0f MiB (%s; %.0f MiB at its start)\n",
			r.FileEntries, r.FileSeconds, float64(r.FileEntries)/r.FileSeconds, r.FileRSSMiB, r.RSSSource, r.FileRSSStartMiB)
		fmt.Fprintf(w, "NACHA form: %d entries in %d files accepted in %.1f s (%.0f entries/s), peak RSS %.0f MiB\n",
			r.NACHAEntries, r.NACHAFiles, r.NACHASeconds, float64(r.NACHAEntries)/r.NACHASeconds, r.NACHARSSMiB)
		fmt.Fprintf(w, "window:     consumed from Kafka %.1f s after the last upload\n", r.WindowSeconds)
		fmt.Fprintf(w, "cycle %s: %d entries netted, settled and delivered in %.1f s (close %.1f s, settle %.1f s, deliver %.1f s); %d posted, %d returned\n",
			r.Cycle, r.CycleEntries, r.CycleSeconds, r.CycleCloseSeconds, r.CycleSettleSeconds, r.CycleDeliverSeconds, r.Posted, r.Returned)
		fmt.Fprintf(w, "rows written per entry: %.2f %v\n", r.RowsPerEntry, r.RowsByTable)
	}
	if !rep.Clean() {
		fmt.Fprint(env.Stderr, rep.String())
		return exitInvalid
	}
	return exitOK
}
