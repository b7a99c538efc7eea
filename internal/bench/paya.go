package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tasvieh/tasvieh/ach"
	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
	"github.com/tasvieh/tasvieh/postgres"
)

// Limits of `tasvieh bench paya`.
const (
	// PAYARowsDefault is the file: a payroll of a million rows (issue 9 item 7).
	PAYARowsDefault = 1_000_000
	// PAYARowsMax is the most rows a file may hold (ach.GenerateRowsMax, the CSV reader's own limit).
	PAYARowsMax = ach.GenerateRowsMax
	// payaWindowWaitMax bounds the wait for the cycle processor to consume every accepted entry: the server's
	// own cycle waits payaWindowWait (2 minutes) for one window; the bench's two files are twice as many.
	payaWindowWaitMax = 10 * time.Minute
	// payaPollEvery is how often the bench asks how much of the window the processor has consumed.
	payaPollEvery = 50 * time.Millisecond
	// payaRSSSampleEvery is how often VmRSS is sampled when VmHWM cannot be reset (no /proc/self/clear_refs).
	payaRSSSampleEvery = 20 * time.Millisecond
	// payaCapRial bounds one generated amount: the seed rulebook's cap (every entry is below 150,000,000
	// rial), what an employer is funded for per row.
	payaCapRial int64 = 150_000_000
)

// PAYAOptions shape `tasvieh bench paya`.
type PAYAOptions struct {
	// Rows is the size of each file: the CSV file, then the NACHA form of the same size (in files of
	// ach.NACHAFileEntriesDefault entries, each under api.PAYAFileBytesMax).
	Rows int
	// Dir holds the generated files while they are uploaded; "" is the system's temporary directory.
	Dir string
	// Seed makes the files.
	Seed uint64
	// Progress, when set, is told what the bench is doing.
	Progress func(format string, a ...any)
}

// DefaultPAYAOptions are the figures the README reports.
func DefaultPAYAOptions() PAYAOptions { return PAYAOptions{Rows: PAYARowsDefault, Seed: 9} }

// PAYAResult is what `tasvieh bench paya --json` prints. The file phase is the CSV file (the issue's
// figures); the NACHA form of it is measured alike, in its own fields.
type PAYAResult struct {
	FileEntries int     `json:"file_entries"` // entries the CSV upload accepted
	FileSeconds float64 `json:"file_seconds"` // the upload through the backend: spool, validate, accept (chunks committed with their events)
	FileRSSMiB  float64 `json:"file_rss_mib"` // the bench process's peak resident set during it
	// FileRSSStartMiB is its resident set as the phase began (after a collection): what the server held
	// already (the ledger's retained ids, the embedded broker's messages), which the peak includes.
	FileRSSStartMiB float64 `json:"file_rss_start_mib"`
	// RSSSource says how the peaks were read: "vmhwm" (VmHWM, reset before each phase through
	// /proc/self/clear_refs) or "vmrss_sampled" (the largest VmRSS sampled every payaRSSSampleEvery).
	RSSSource        string  `json:"rss_source"`
	NACHAEntries     int     `json:"nacha_entries"`
	NACHAFiles       int     `json:"nacha_files"`
	NACHASeconds     float64 `json:"nacha_seconds"`
	NACHARSSMiB      float64 `json:"nacha_rss_mib"`
	NACHARSSStartMiB float64 `json:"nacha_rss_start_mib"`
	// WindowSeconds is the wait, after the last upload, until the cycle processor had consumed every
	// accepted entry from Kafka into its window.
	WindowSeconds float64 `json:"window_seconds"`
	CycleEntries  int     `json:"cycle_entries"` // settled in the one cycle: both files' entries
	CycleSeconds  float64 `json:"cycle_seconds"` // the whole cycle: close, net, settle, deliver and post
	// The cycle's parts (server.PAYACycleBench).
	CycleCloseSeconds      float64 `json:"cycle_close_seconds"`
	CycleSettleSeconds     float64 `json:"cycle_settle_seconds"`
	CycleDeliverSeconds    float64 `json:"cycle_deliver_seconds"`
	CycleFirstChunkSeconds float64 `json:"cycle_first_chunk_seconds"`
	Posted                 int     `json:"posted"`
	Returned               int     `json:"returned"`
	// RowsPerEntry is the rows written to PostgreSQL (server.PAYATables) per accepted entry, from before the
	// first upload to the cycle's end; RowsByTable breaks it down. An entry's row is also rewritten once at
	// delivery (an update, not counted).
	RowsPerEntry float64            `json:"rows_per_entry"`
	RowsByTable  map[string]float64 `json:"rows_per_entry_by_table"`
	Cycle        string             `json:"cycle"`
}

// employer is a customer who pays a file, and the customers it pays.
type employer struct {
	bank, sheba, name string
	payees            []string
}

// PAYA measures PAYA on a running in-process server srv (simulated clock on a business day before a cycle,
// banks funded well above the payroll's nets): a generated payroll of opts.Rows rows from one simulated
// bank's customer to real customers of the other simulated books, uploaded as CSV through the backend's
// UploadFile (the Go method the HTTP route calls, not over HTTP); then the NACHA form of the same size from
// another bank's customer; the wait until the cycle processor has consumed every entry; and one cycle that
// nets, settles and delivers all of them.
func PAYA(ctx context.Context, srv *server.Server, opts PAYAOptions) (PAYAResult, error) {
	var res PAYAResult
	if opts.Rows < 1 || opts.Rows > PAYARowsMax {
		return res, fmt.Errorf("bench: paya: rows %d is not 1 to %d", opts.Rows, PAYARowsMax)
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	emps, err := payaEmployers(ctx, srv, 2)
	if err != nil {
		return res, err
	}
	for _, e := range emps {
		if err := srv.BenchFundCustomer(ctx, e.bank, e.sheba, "bench paya", int64(opts.Rows)*payaCapRial); err != nil {
			return res, err
		}
	}
	dir, err := os.MkdirTemp(opts.Dir, "tasvieh-bench-paya-*")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)

	progress("generating %d rows as CSV and as NACHA …", opts.Rows)
	csvFiles, err := payaGenerate(dir, ach.FormatCSV, emps[0], opts)
	if err != nil {
		return res, err
	}
	nachaFiles, err := payaGenerate(dir, ach.FormatNACHA, emps[1], opts)
	if err != nil {
		return res, err
	}
	res.NACHAFiles = len(nachaFiles)

	before, err := srv.StoredRowsByTable(ctx, server.PAYATables)
	if err != nil {
		return res, err
	}
	progress("uploading the CSV file (%d rows) …", opts.Rows)
	csvUp, err := payaUpload(ctx, srv, emps[0], ach.FormatCSV, csvFiles)
	if err != nil {
		return res, err
	}
	res.FileEntries, res.FileSeconds, res.FileRSSMiB, res.RSSSource = csvUp.entries, csvUp.seconds, csvUp.rssMiB, csvUp.rssSource
	res.FileRSSStartMiB = csvUp.startMiB
	progress("CSV: %d entries accepted in %.1f s, peak RSS %.0f MiB (%.0f MiB at its start)", res.FileEntries, res.FileSeconds, res.FileRSSMiB, res.FileRSSStartMiB)
	progress("uploading the NACHA form (%d files) …", len(nachaFiles))
	nachaUp, err := payaUpload(ctx, srv, emps[1], ach.FormatNACHA, nachaFiles)
	if err != nil {
		return res, err
	}
	res.NACHAEntries, res.NACHASeconds, res.NACHARSSMiB, res.NACHARSSStartMiB = nachaUp.entries, nachaUp.seconds, nachaUp.rssMiB, nachaUp.startMiB
	progress("NACHA: %d entries accepted in %.1f s, peak RSS %.0f MiB (%.0f MiB at its start)", res.NACHAEntries, res.NACHASeconds, res.NACHARSSMiB, res.NACHARSSStartMiB)
	if csvUp.cycle != nachaUp.cycle {
		return res, fmt.Errorf("bench: paya: the files joined cycles %s and %s, want one", csvUp.cycle, nachaUp.cycle)
	}
	res.Cycle = csvUp.cycle
	accepted := int64(res.FileEntries + res.NACHAEntries)

	progress("waiting for the cycle processor to consume %d entries …", accepted)
	t0 := wall.Now()
	if err := payaAwaitWindow(ctx, srv, res.Cycle, accepted); err != nil {
		return res, err
	}
	res.WindowSeconds = wall.Now().Sub(t0).Seconds()

	progress("running cycle %s …", res.Cycle)
	c, err := srv.BenchPAYACycle(ctx, res.Cycle)
	if err != nil {
		return res, fmt.Errorf("bench: paya: cycle %s: %w", res.Cycle, err)
	}
	res.CycleEntries = c.Cycle.Entries
	res.CycleCloseSeconds, res.CycleSettleSeconds, res.CycleDeliverSeconds = c.Close.Seconds(), c.Settle.Seconds(), c.Deliver.Seconds()
	res.CycleFirstChunkSeconds = c.FirstChunk.Seconds()
	res.CycleSeconds = (c.Close + c.Settle + c.Deliver).Seconds()
	for _, n := range c.Cycle.Nets {
		res.Posted += n.Posted
		res.Returned += n.Returned
	}
	if c.Cycle.Deferred > 0 || len(c.Cycle.Excluded) > 0 {
		return res, fmt.Errorf("bench: paya: cycle %s deferred %d entries (banks left out %v): a bank was short", res.Cycle, c.Cycle.Deferred, c.Cycle.Excluded)
	}

	after, err := srv.StoredRowsByTable(ctx, server.PAYATables)
	if err != nil {
		return res, err
	}
	res.RowsByTable = map[string]float64{}
	var rows int64
	for _, t := range server.PAYATables {
		d := after[t] - before[t]
		rows += d
		res.RowsByTable[t] = float64(d) / float64(accepted)
	}
	res.RowsPerEntry = float64(rows) / float64(accepted)
	return res, nil
}

// payaEmployers picks n employers at n different simulated banks (the first active customer without a magic
// behaviour of each), each with every such customer of the other simulated books as its payees.
func payaEmployers(ctx context.Context, srv *server.Server, n int) ([]employer, error) {
	type cust struct{ bank, sheba string }
	var all []cust
	var emps []employer
	for _, b := range srv.Members() {
		pg, err := srv.Customers(ctx, b)
		if err != nil {
			continue // an external bank has no book
		}
		first := true
		for _, c := range pg.Customers {
			if c.Status != "active" || c.Magic != "" {
				continue
			}
			if first && len(emps) < n {
				emps = append(emps, employer{bank: b, sheba: c.SHEBA, name: c.Name})
				first = false
				continue
			}
			all = append(all, cust{b, c.SHEBA})
		}
	}
	if len(emps) < n {
		return nil, fmt.Errorf("bench: paya: %d simulated banks with customers, want %d", len(emps), n)
	}
	for i := range emps {
		for _, c := range all {
			if c.bank != emps[i].bank {
				emps[i].payees = append(emps[i].payees, c.sheba)
			}
		}
		if len(emps[i].payees) == 0 {
			return nil, fmt.Errorf("bench: paya: no customers to pay outside bank %s", emps[i].bank)
		}
	}
	return emps, nil
}

// payaGenerate writes the payroll of e in format to files in dir, and answers their paths.
func payaGenerate(dir, format string, e employer, opts PAYAOptions) ([]string, error) {
	var paths []string
	var open *os.File
	closeOpen := func() error {
		if open == nil {
			return nil
		}
		err := open.Close()
		open = nil
		return err
	}
	_, err := ach.GenerateFiles(func(i int) (io.Writer, error) {
		if err := closeOpen(); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, fmt.Sprintf("payroll-%s-%03d.%s", e.bank, i, format))
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		open, paths = f, append(paths, p)
		return f, nil
	}, ach.GenerateOptions{Format: format, Rows: opts.Rows, Seed: opts.Seed,
		Payer: ach.Originator{Bank: e.bank, SHEBA: e.sheba, Name: e.name}, Payees: e.payees})
	if cerr := closeOpen(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("bench: paya: generating %s: %w", format, err)
	}
	return paths, nil
}

// upload is one file phase as measured.
type upload struct {
	entries   int
	seconds   float64
	rssMiB    float64
	startMiB  float64
	rssSource string
	cycle     string
}

// payaUpload uploads files through the backend as e's bank, one after another, timing them together and
// reading the process's peak resident set over them.
func payaUpload(ctx context.Context, srv *server.Server, e employer, format string, files []string) (upload, error) {
	var up upload
	peak, err := startPeakRSS()
	if err != nil {
		return up, err
	}
	if m, err := procMemory(); err == nil {
		up.startMiB = float64(m.rss) / (1 << 20)
	}
	t0 := wall.Now()
	for i, p := range files {
		f, err := os.Open(p)
		if err != nil {
			peak()
			return up, err
		}
		req := api.PAYAFileRequest{Format: format, Reference: fmt.Sprintf("bench-%s-%03d", format, i), PayerSHEBA: e.sheba, PayerName: e.name}
		file, created, err := srv.PAYA().UploadFile(ctx, e.bank, req, f)
		f.Close()
		if err != nil {
			peak()
			return up, fmt.Errorf("bench: paya: uploading %s: %w", filepath.Base(p), err)
		}
		if !created || file.Status != "accepted" || file.Report == nil {
			peak()
			return up, fmt.Errorf("bench: paya: %s: status %s (%s)", filepath.Base(p), file.Status, file.Message)
		}
		if file.Report.Rejected > 0 {
			peak()
			return up, fmt.Errorf("bench: paya: %s: %d rows rejected, first %+v", filepath.Base(p), file.Report.Rejected, file.Report.Errors[0])
		}
		up.entries += file.Report.Accepted
		if up.cycle != "" && up.cycle != file.Cycle {
			peak()
			return up, fmt.Errorf("bench: paya: %s joined cycle %s, the files before it %s", filepath.Base(p), file.Cycle, up.cycle)
		}
		up.cycle = file.Cycle
	}
	up.seconds = wall.Now().Sub(t0).Seconds()
	bytes, source := peak()
	up.rssMiB, up.rssSource = float64(bytes)/(1<<20), source
	return up, nil
}

// startPeakRSS starts reading the process's peak resident set from now: VmHWM reset through
// /proc/self/clear_refs when the kernel allows it, else the largest VmRSS sampled. The Go heap is returned to
// the system first, so that an earlier phase's garbage does not count. stop answers the peak and the source.
func startPeakRSS() (stop func() (int64, string), err error) {
	runtime.GC()
	debug.FreeOSMemory()
	if _, err := procMemory(); err != nil {
		return nil, err
	}
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	var mu sync.Mutex
	var sampled int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if m, err := procMemory(); err == nil {
				mu.Lock()
				sampled = max(sampled, m.rss)
				mu.Unlock()
			}
			t := wall.NewTimer(payaRSSSampleEvery)
			select {
			case <-done:
				t.Stop()
				return
			case <-t.C():
			}
		}
	}()
	var once sync.Once
	var peak int64
	var source string
	return func() (int64, string) {
		once.Do(func() {
			close(done)
			wg.Wait()
			m, err := procMemory()
			peak, source = sampled, "vmrss_sampled"
			if err == nil {
				peak = max(peak, m.rss)
				if reset {
					// VmHWM folds in per-thread counters lazily: a sample can run a little ahead of it.
					peak, source = max(m.peak, peak), "vmhwm"
				}
			}
		})
		return peak, source
	}, nil
}

// errWindow is a window the processor did not consume in time.
var errWindow = errors.New("bench: paya: the cycle processor did not consume the window")

// payaAwaitWindow waits until the cycle processor has consumed want entries accepted into cycle.
func payaAwaitWindow(ctx context.Context, srv *server.Server, cycle string, want int64) error {
	deadline := wall.Now().Add(payaWindowWaitMax)
	for {
		accepted, consumed, err := postgres.PAYAIntakeCounts(ctx, srv.Pool(), cycle)
		if err != nil {
			return err
		}
		if accepted < want {
			return fmt.Errorf("bench: paya: %d entries stored in cycle %s, the uploads accepted %d", accepted, cycle, want)
		}
		if consumed >= accepted {
			return nil
		}
		if wall.Now().After(deadline) {
			return fmt.Errorf("%w: %d of %d after %s", errWindow, consumed, accepted, payaWindowWaitMax)
		}
		t := wall.NewTimer(payaPollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		}
	}
}
