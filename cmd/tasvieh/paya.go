package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tasvieh/tasvieh/ach"
	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/sheba"
)

// payaErrorsShown is how many rejected rows the human summary of a report lists; --json gives the report's
// own (up to ach.ReportErrorsMax).
const payaErrorsShown = 20

// payaUsage is `tasvieh paya`'s usage line.
const payaUsage = "paya validate FILE [--json] [--format csv|nacha] --payer-sheba S --payer-name N [--rules PROFILE]\n" +
	"       paya generate --rows N [--format csv|nacha] [--bad K] [--seed S] [--payer-sheba S --payer-name N] [-o FILE]\n" +
	"       paya --bank CODE [--server URL] [--json] upload FILE [--dry-run] [--reference R] [--format csv|nacha] [--payer-sheba S --payer-name N]\n" +
	"       paya --bank CODE entry submit --reference R --amount RIAL --payee SHEBA --payee-name N --payer-sheba S --payer-name N [--core credit|debit] [--mandate ID] [--description T]\n" +
	"       paya --bank CODE entry get ID | entry list [--status S] [--direction in|out] [--file ID] [--cycle C] | entry return ID --code CODE\n" +
	"       paya --bank CODE mandate request --reference R --biller-sheba S --biller-name N --payer-sheba S [--payer-name N] --max-per-debit RIAL --max-debits N --start D --end D\n" +
	"       paya --bank CODE mandate get ID | mandate list [--status S] | mandate approve|reject|revoke ID [--reason T]\n" +
	"       paya [--bank CODE] cycles [list] | cycles get ID [--csv] | paya --bank CODE cycles delivery ID [--format nacha|csv] [-o FILE]\n" +
	"       paya run-cycle [--cycle ID]   (the operator's key)"

// runPAYA is `tasvieh paya`: payroll files offline (validate, generate) and a member bank's PAYA against a
// running server, with that bank's key from keys.json (--bank), or the operator's.
func runPAYA(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "paya", payaUsage)
	f := payaFlags{
		bank:       fs.String("bank", "", "the calling bank's CBI code; its key comes from keys.json"),
		server:     fs.String("server", "", "the server's URL (default: serve.json in TASVIEH_HOME)"),
		json:       fs.Bool("json", false, "print the report or the server's answer as JSON"),
		format:     fs.String("format", "", "the file's format: csv or nacha (default: by the file's extension, else csv)"),
		payerSHEBA: fs.String("payer-sheba", "", "the account paying every row of a file (the employer), or an entry's or a mandate's payer"),
		payerName:  fs.String("payer-name", "", "its holder"),
		rules:      fs.String("rules", "seed", "validate: the rulebook profile (seed, 1400, 1404)"),
		dryRun:     fs.Bool("dry-run", false, "upload: validate and report; store nothing"),
		reference:  fs.String("reference", "", "the bank's own reference for the file, entry or mandate"),
		rows:       fs.Int("rows", 0, "generate: how many rows"),
		bad:        fs.Int("bad", 0, "generate: how many of them are bad"),
		seed:       fs.Uint64("seed", 1, "generate: the random seed (the same seed, the same file)"),
		out:        fs.String("o", "", "generate, delivery: write to this file (default stdout)"),
		status:     fs.String("status", "", "list: only this status"),
		direction:  fs.String("direction", "", "entry list: in or out"),
		file:       fs.String("file", "", "entry list: only this file's entries"),
		cycle:      fs.String("cycle", "", "entry list: only this cycle's; run-cycle: the cycle to close"),
		csv:        fs.Bool("csv", false, "cycles get: the CSV cycle report"),
		core:       fs.String("core", "credit", "entry submit: credit or debit"),
		amount:     fs.String("amount", "", "entry submit: amount in rial (thousands separators allowed)"),
		payee:      fs.String("payee", "", "entry submit: the payee's SHEBA"),
		payeeName:  fs.String("payee-name", "", "entry submit: the payee's name"),
		desc:       fs.String("description", "", "entry submit: description"),
		mandate:    fs.String("mandate", "", "entry submit: a debit's mandate"),
		code:       fs.String("code", "", "entry return: the return code (account_not_found, account_closed, …)"),
		reason:     fs.String("reason", "", "mandate approve|reject|revoke: why"),
		billerSH:   fs.String("biller-sheba", "", "mandate request: the biller's SHEBA"),
		billerName: fs.String("biller-name", "", "mandate request: the biller's name"),
		maxDebit:   fs.String("max-per-debit", "", "mandate request: the most one debit may take, rial"),
		maxDebits:  fs.Int("max-debits", 0, "mandate request: the most debits per Jalali month"),
		start:      fs.String("start", "", "mandate request: first day, YYYY-MM-DD or Jalali YYYY/MM/DD"),
		end:        fs.String("end", "", "mandate request: last day, inclusive"),
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) == 0 {
		fs.Usage()
		return exitUsage
	}
	switch pos[0] {
	case "validate":
		if len(pos) != 2 {
			return usageError(env, "paya validate FILE: one file")
		}
		return payaValidate(env, f, pos[1])
	case "generate":
		if len(pos) != 1 {
			return usageError(env, "paya generate: no arguments besides its flags")
		}
		return payaGenerate(env, f)
	}
	return payaClient(ctx, env, f, pos, fs.Usage)
}

// payaFlags are runPAYA's flags.
type payaFlags struct {
	bank, server, format, payerSHEBA, payerName, rules, reference, out, status, direction, file, cycle *string
	core, amount, payee, payeeName, desc, mandate, code, reason, billerSH, billerName, maxDebit        *string
	start, end                                                                                         *string
	json, dryRun, csv                                                                                  *bool
	rows, bad, maxDebits                                                                               *int
	seed                                                                                               *uint64
}

// fileFormat is the format of a file: --format, else by its extension (.ach, .nacha: NACHA), else CSV.
func (f payaFlags) fileFormat(path string) (string, error) {
	switch *f.format {
	case ach.FormatCSV, ach.FormatNACHA:
		return *f.format, nil
	case "":
		switch strings.ToLower(filepath.Ext(path)) {
		case ".ach", ".nacha":
			return ach.FormatNACHA, nil
		}
		return ach.FormatCSV, nil
	}
	return "", fmt.Errorf("--format %q is neither csv nor nacha", *f.format)
}

// originator is the payer of a file's rows, from --payer-sheba and --payer-name: its bank is its SHEBA's.
func (f payaFlags) originator() (ach.Originator, error) {
	if *f.payerSHEBA == "" || *f.payerName == "" {
		return ach.Originator{}, errors.New("--payer-sheba and --payer-name are required: the account paying every row, and its holder")
	}
	o := ach.Originator{SHEBA: *f.payerSHEBA, Name: *f.payerName}
	x, err := sheba.Parse(o.SHEBA, nil)
	if err != nil {
		return o, fmt.Errorf("--payer-sheba: %w", err)
	}
	o.Bank = x.BankCode()
	return o, nil
}

// payaValidate is `tasvieh paya validate`: the file's dry run, offline, under the rulebook profile.
func payaValidate(env Env, f payaFlags, path string) int {
	format, err := f.fileFormat(path)
	if err != nil {
		return usageError(env, "paya validate: %v", err)
	}
	o, err := f.originator()
	if err != nil {
		return usageError(env, "paya validate: %v", err)
	}
	book, err := loadRulebook(DefaultConfig(env.Getenv))
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh paya validate:", err)
		return exitInvalid
	}
	p, err := book.Profile(*f.rules)
	if err != nil {
		return usageError(env, "paya validate: --rules: %v", err)
	}
	file, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh paya validate:", err)
		return exitInvalid
	}
	defer file.Close()
	aenv := ach.Env{Banks: banks.Default(), Profile: p}
	var rep *ach.Report
	if format == ach.FormatNACHA {
		rep, err = ach.DryRunNACHA(file, ach.NACHAReadOptions{}, o, aenv)
	} else {
		rep, err = ach.DryRunCSV(file, ach.CSVOptions{}, o, aenv)
	}
	if *f.json {
		out := struct {
			File    string      `json:"file"`
			Format  string      `json:"format"`
			Refused string      `json:"refused,omitempty"`
			Report  *ach.Report `json:"report"`
		}{path, format, "", rep}
		if err != nil {
			out.Refused = err.Error()
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	} else {
		printReport(env.Stdout, path+" ("+format+")", rep)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "tasvieh paya validate: %s: the file is refused: %v\n", path, err)
		return exitInvalid
	}
	if rep.Rejected > 0 {
		return exitInvalid
	}
	return exitOK
}

// printReport prints a report for people: the counts, the rejections by code, the accepted entries per
// receiving bank, the first rejected rows with their row, field and position.
func printReport(w io.Writer, title string, rep *ach.Report) {
	if rep == nil {
		return
	}
	fmt.Fprintf(w, "%s: %d rows (%d blank lines skipped), profile %s\n", title, rep.Rows, rep.BlankRows, rep.Profile)
	fmt.Fprintf(w, "accepted  %d  %s rial  fees %s rial\n", rep.Accepted, groupDigits(rep.AcceptedRial), groupDigits(rep.FeeRial))
	fmt.Fprintf(w, "rejected  %d\n", rep.Rejected)
	codes := make([]ach.Code, 0, len(rep.RejectedByCode))
	for c := range rep.RejectedByCode {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool { return codes[i] < codes[j] })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range codes {
		fmt.Fprintf(tw, "  %s\t%d\n", c, rep.RejectedByCode[c])
	}
	_ = tw.Flush()
	if rep.OverCapRows > 0 {
		fmt.Fprintf(w, "over the cap: %d rows, %s rial (send them by SATNA)\n", rep.OverCapRows, groupDigits(rep.OverCapRial))
	}
	if len(rep.Banks) > 0 {
		fmt.Fprintln(w, "per receiving bank:")
		reg := banks.Default()
		for _, b := range rep.Banks {
			name := ""
			if x, ok := reg.ByCode(b.Bank); ok {
				name = x.NameEN
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s rial\n", b.Bank, name, b.Entries, groupDigits(b.AmountRial))
		}
		_ = tw.Flush()
	}
	if len(rep.Errors) > 0 {
		fmt.Fprintf(w, "first errors (row, field, position):\n")
		for i, e := range rep.Errors {
			if i == payaErrorsShown {
				fmt.Fprintf(w, "  … %d more (--json lists %d)\n", rep.Rejected-payaErrorsShown, len(rep.Errors))
				break
			}
			where := fmt.Sprintf("row %d", e.Row)
			if e.Field != "" {
				where += " " + e.Field
			}
			if e.Line != e.Row {
				where += fmt.Sprintf(" line %d", e.Line)
			}
			if e.Column > 0 {
				where += fmt.Sprintf(" col %d", e.Column)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", where, e.Code, e.Message)
		}
		_ = tw.Flush()
	}
}

// payaGenerate is `tasvieh paya generate`: a test payroll file, its bad rows listed on stderr as
// "bad ROW KIND CODE REFERENCE" (NACHA split over files: "bad FILE:ROW …").
func payaGenerate(env Env, f payaFlags) int {
	format := *f.format
	if format == "" {
		format = ach.FormatCSV
	}
	opts := ach.GenerateOptions{Format: format, Rows: *f.rows, Bad: *f.bad, Seed: *f.seed}
	if *f.payerSHEBA != "" || *f.payerName != "" {
		o, err := f.originator()
		if err != nil {
			return usageError(env, "paya generate: %v", err)
		}
		opts.Payer = o
	}
	var files []*os.File
	defer func() {
		for _, x := range files {
			_ = x.Close()
		}
	}()
	next := func(i int) (io.Writer, error) {
		if *f.out == "" {
			if i > 0 {
				return nil, fmt.Errorf("%d rows do not fit one nacha file of %d entries: give -o FILE to write them into files", *f.rows, ach.NACHAFileEntriesDefault)
			}
			return env.Stdout, nil
		}
		name := *f.out
		if i > 0 {
			ext := filepath.Ext(name)
			name = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(name, ext), i+1, ext)
		}
		x, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		files = append(files, x)
		return x, nil
	}
	res, err := ach.GenerateFiles(next, opts)
	if errors.Is(err, ach.ErrGenerate) && res.Files == 0 {
		return usageError(env, "paya generate: %v", err)
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh paya generate:", err)
		return exitInvalid
	}
	for _, x := range files {
		if err := x.Close(); err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh paya generate:", err)
			return exitInvalid
		}
	}
	files = nil
	fmt.Fprintf(env.Stderr, "generated %d %s rows in %d file(s), %d bad; payer %s %s %q (validate with --payer-sheba %s --payer-name %q)\n",
		res.Rows, res.Format, res.Files, len(res.Bad), res.Payer.Bank, res.Payer.SHEBA, res.Payer.Name, res.Payer.SHEBA, res.Payer.Name)
	for _, b := range res.Bad {
		row := strconv.Itoa(b.Row)
		if res.Files > 1 {
			row = fmt.Sprintf("%d:%d", b.File+1, b.Row)
		}
		fmt.Fprintf(env.Stderr, "bad %s %s %s %s\n", row, b.Kind, b.Code, b.Reference)
	}
	return exitOK
}

// payaClient runs the commands that talk to a server.
func payaClient(ctx context.Context, env Env, f payaFlags, pos []string, usage func()) int {
	cfg := DefaultConfig(env.Getenv)
	c, err := newOpClient(cfg, *f.server)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh paya:", err)
		return exitInvalid
	}
	operator := pos[0] == "run-cycle" || (pos[0] == "cycles" && *f.bank == "")
	switch {
	case operator && pos[0] == "run-cycle" && *f.bank != "":
		return usageError(env, "paya run-cycle is the operator's: no --bank")
	case !operator && *f.bank == "":
		return usageError(env, "paya %s: --bank CODE is required (the calling bank)", pos[0])
	case !operator:
		if c.key, err = bankKey(cfg, *f.bank); err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh paya:", err)
			return exitInvalid
		}
	}
	if pos[0] == "upload" {
		if len(pos) != 2 {
			return usageError(env, "paya upload FILE: one file")
		}
		return payaUpload(ctx, env, f, c, pos[1])
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var out any
	var show func(w io.Writer)
	sub := ""
	if len(pos) > 1 {
		sub = pos[1]
	}
	entry := func(e *api.PAYAEntry) func(io.Writer) { return func(w io.Writer) { printPAYAEntry(w, *e) } }
	mandate := func(m *api.PAYAMandate) func(io.Writer) { return func(w io.Writer) { printMandate(w, *m) } }
	cycle := func(cy *api.PAYACycle) func(io.Writer) { return func(w io.Writer) { printCycle(w, *cy) } }
	id := func(i int) string { return url.PathEscape(pos[i]) }
	switch {
	case pos[0] == "entry" && sub == "submit" && len(pos) == 2:
		n, perr := strconv.ParseInt(strings.ReplaceAll(*f.amount, ",", ""), 10, 64)
		if perr != nil {
			return usageError(env, "paya entry submit: --amount %q is not a whole number of rial", *f.amount)
		}
		req := api.PAYAEntryRequest{Core: *f.core, PayerSHEBA: *f.payerSHEBA, PayerName: *f.payerName, PayeeSHEBA: *f.payee,
			PayeeName: *f.payeeName, AmountRial: n, Description: *f.desc, Reference: *f.reference, MandateID: *f.mandate}
		var e api.PAYAEntry
		out, show = &e, entry(&e)
		err = c.call(ctx, http.MethodPost, "/v1/paya/entries", req, &e)
	case pos[0] == "entry" && sub == "get" && len(pos) == 3:
		var e api.PAYAEntry
		out, show = &e, entry(&e)
		err = c.call(ctx, http.MethodGet, "/v1/paya/entries/"+id(2), nil, &e)
	case pos[0] == "entry" && sub == "return" && len(pos) == 3:
		var e api.PAYAEntry
		out, show = &e, entry(&e)
		err = c.call(ctx, http.MethodPost, "/v1/paya/entries/"+id(2)+"/return", api.PAYAReturnRequest{Code: *f.code}, &e)
	case pos[0] == "entry" && sub == "list" && len(pos) == 2:
		var pg api.PAYAEntryPage
		out = &pg
		show = func(w io.Writer) {
			for _, e := range pg.Entries {
				printPAYAEntry(w, e)
			}
		}
		q := query(map[string]string{"status": *f.status, "direction": *f.direction, "file": *f.file, "cycle": *f.cycle, "limit": "100"})
		err = c.call(ctx, http.MethodGet, "/v1/paya/entries?"+q, nil, &pg)
	case pos[0] == "mandate" && sub == "request" && len(pos) == 2:
		n, perr := strconv.ParseInt(strings.ReplaceAll(*f.maxDebit, ",", ""), 10, 64)
		if perr != nil {
			return usageError(env, "paya mandate request: --max-per-debit %q is not a whole number of rial", *f.maxDebit)
		}
		req := api.PAYAMandateRequest{BillerSHEBA: *f.billerSH, BillerName: *f.billerName, PayerSHEBA: *f.payerSHEBA, PayerName: *f.payerName,
			MaxPerDebitRial: n, MaxDebitsPerMonth: *f.maxDebits, StartDate: *f.start, EndDate: *f.end, BillerReference: *f.reference}
		var m api.PAYAMandate
		out, show = &m, mandate(&m)
		err = c.call(ctx, http.MethodPost, "/v1/paya/mandates", req, &m)
	case pos[0] == "mandate" && sub == "get" && len(pos) == 3:
		var m api.PAYAMandate
		out, show = &m, mandate(&m)
		err = c.call(ctx, http.MethodGet, "/v1/paya/mandates/"+id(2), nil, &m)
	case pos[0] == "mandate" && (sub == "approve" || sub == "reject" || sub == "revoke") && len(pos) == 3:
		var m api.PAYAMandate
		out, show = &m, mandate(&m)
		err = c.call(ctx, http.MethodPost, "/v1/paya/mandates/"+id(2)+"/"+sub, api.PAYAMandateDecision{Reason: *f.reason}, &m)
	case pos[0] == "mandate" && sub == "list" && len(pos) == 2:
		var pg api.PAYAMandatePage
		out = &pg
		show = func(w io.Writer) {
			for _, m := range pg.Mandates {
				printMandate(w, m)
			}
		}
		err = c.call(ctx, http.MethodGet, "/v1/paya/mandates?"+query(map[string]string{"status": *f.status, "limit": "100"}), nil, &pg)
	case pos[0] == "cycles" && (sub == "" || sub == "list") && len(pos) <= 2:
		var pg api.PAYACyclePage
		out = &pg
		show = func(w io.Writer) {
			for _, cy := range pg.Cycles {
				fmt.Fprintf(w, "%s  %s  %-10s %d entries  %s rial  %d deferred\n", cy.ID, cy.Jalali, cy.Status, cy.Entries, groupDigits(cy.TotalRial), cy.Deferred)
			}
		}
		err = c.call(ctx, http.MethodGet, "/v1/paya/cycles?limit=100", nil, &pg)
	case pos[0] == "cycles" && sub == "get" && len(pos) == 3 && *f.csv:
		var b []byte
		var ct string
		b, ct, err = c.send(ctx, http.MethodGet, "/v1/paya/cycles/"+id(2)+"?format=csv", nil)
		if err == nil && !strings.HasPrefix(ct, "text/csv") {
			err = fmt.Errorf("the server answered %q, not CSV: is it older than this command?", ct)
		}
		show = func(w io.Writer) { _, _ = w.Write(b) }
	case pos[0] == "cycles" && sub == "get" && len(pos) == 3:
		var cy api.PAYACycle
		out, show = &cy, cycle(&cy)
		err = c.call(ctx, http.MethodGet, "/v1/paya/cycles/"+id(2), nil, &cy)
	case pos[0] == "cycles" && sub == "delivery" && len(pos) == 3:
		if *f.bank == "" {
			return usageError(env, "paya cycles delivery: --bank CODE is required (a delivery is a bank's)")
		}
		return payaDelivery(ctx, env, f, c, pos[2])
	case pos[0] == "run-cycle" && len(pos) == 1:
		var cy api.PAYACycle
		out, show = &cy, cycle(&cy)
		err = c.call(ctx, http.MethodPost, "/v1/operator/paya/cycles/run", api.PAYACycleRun{Cycle: *f.cycle}, &cy)
	default:
		usage()
		return exitUsage
	}
	return answer(env, "paya", err, *f.json && out != nil, out, show)
}

// query encodes the non-empty values of q.
func query(q map[string]string) string {
	v := url.Values{}
	for k, x := range q {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v.Encode()
}

// payaUpload is `tasvieh paya upload`: the file streamed as the request body, with a progress bar on a
// terminal, and the report the server answers.
func payaUpload(ctx context.Context, env Env, f payaFlags, c *opClient, path string) int {
	format, err := f.fileFormat(path)
	if err != nil {
		return usageError(env, "paya upload: %v", err)
	}
	if *f.reference == "" && !*f.dryRun {
		return usageError(env, "paya upload: --reference R is required (the bank's own reference for the file), unless --dry-run")
	}
	file, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh paya upload:", err)
		return exitInvalid
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh paya upload:", err)
		return exitInvalid
	}
	if st.Size() > api.PAYAFileBytesMax {
		fmt.Fprintf(env.Stderr, "tasvieh paya upload: %s is %d bytes, more than the upload limit of %d (%d MiB): split it into files\n",
			path, st.Size(), api.PAYAFileBytesMax, api.PAYAFileBytesMax>>20)
		return exitInvalid
	}
	q := query(map[string]string{"format": format, "reference": *f.reference, "payer_sheba": *f.payerSHEBA, "payer_name": *f.payerName})
	if *f.dryRun {
		q += "&dry_run=true"
	}
	var body io.Reader = file
	if tty, ok := env.Stderr.(*os.File); ok && term.IsTerminal(int(tty.Fd())) {
		bar := progressbar.NewOptions64(st.Size(), progressbar.OptionSetWriter(tty), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("uploading "+filepath.Base(path)), progressbar.OptionClearOnFinish())
		r := progressbar.NewReader(file, bar)
		body = &r
		defer func() { _ = bar.Finish() }()
	}
	contentType := "text/csv; charset=utf-8"
	if format == ach.FormatNACHA {
		contentType = "text/plain"
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	res, err := c.raw(ctx, http.MethodPost, "/v1/paya/files?"+q, contentType, body, st.Size())
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh paya upload:", err)
		return exitInvalid
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, answerBytesMax))
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh paya upload:", err)
		return exitInvalid
	}
	var pf api.PAYAFile
	if json.Unmarshal(b, &pf) != nil || pf.Status == "" {
		var e api.Error
		if json.Unmarshal(b, &e) == nil && e.Code != "" {
			fmt.Fprintf(env.Stderr, "tasvieh paya upload: %v\n", &e)
		} else {
			fmt.Fprintf(env.Stderr, "tasvieh paya upload: HTTP %d\n", res.StatusCode)
		}
		return exitInvalid
	}
	if *f.json {
		_, _ = env.Stdout.Write(b)
	} else {
		fmt.Fprintf(env.Stdout, "file %s  %s  reference %q", orDash(pf.ID), pf.Status, pf.Reference)
		if pf.Cycle != "" {
			fmt.Fprintf(env.Stdout, "  entries wait for cycle %s", pf.Cycle)
		}
		fmt.Fprintln(env.Stdout)
		printReport(env.Stdout, path+" ("+format+")", pf.Report)
	}
	switch {
	case pf.Status == "refused" && pf.OriginalID != "":
		fmt.Fprintf(env.Stderr, "tasvieh paya upload: refused: reference %q was used already, by file %s\n", pf.Reference, pf.OriginalID)
		return exitInvalid
	case pf.Status == "refused":
		fmt.Fprintf(env.Stderr, "tasvieh paya upload: refused: %s %s\n", pf.Code, pf.Message)
		return exitInvalid
	case pf.Report != nil && pf.Report.Rejected > 0:
		return exitInvalid
	}
	return exitOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// payaDelivery is `tasvieh paya cycles delivery`: the bank's delivery file, streamed to -o or stdout.
func payaDelivery(ctx context.Context, env Env, f payaFlags, c *opClient, cycle string) int {
	format := *f.format
	if format == "" {
		format = ach.FormatNACHA
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	res, err := c.raw(ctx, http.MethodGet, "/v1/paya/cycles/"+url.PathEscape(cycle)+"/delivery?format="+url.QueryEscape(format), "", nil, -1)
	if err == nil {
		defer res.Body.Close()
		if res.StatusCode >= 300 {
			err = apiError(res)
		}
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh paya cycles delivery:", err)
		return exitInvalid
	}
	w := env.Stdout
	if *f.out != "" {
		x, err := os.Create(*f.out)
		if err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh paya cycles delivery:", err)
			return exitInvalid
		}
		defer x.Close()
		w = x
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh paya cycles delivery: the file did not arrive whole:", err)
		return exitInvalid
	}
	if x, ok := w.(*os.File); ok && *f.out != "" {
		if err := x.Close(); err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh paya cycles delivery:", err)
			return exitInvalid
		}
	}
	return exitOK
}

// raw sends body as is (a file) and returns the response, unread; the caller closes it. size is the body's
// length, -1 when unknown.
func (c *opClient) raw(ctx context.Context, method, path, contentType string, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil && size >= 0 {
		req.ContentLength = size
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return nil, fmt.Errorf("the server at %s did not answer within %s: the outcome is unknown — look with `tasvieh paya entry list --file ID` or repeat with the same --reference", c.base, opTimeout)
		}
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("no server answers at %s (start one with `tasvieh serve`): %v", c.base, ue.Err)
		}
		return nil, err
	}
	return res, nil
}

// apiError is the error body of a failed response, or its status.
func apiError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, api.BodyBytesMax))
	var e api.Error
	if json.Unmarshal(b, &e) == nil && e.Code != "" {
		return &e
	}
	return fmt.Errorf("HTTP %d", res.StatusCode)
}

func printPAYAEntry(w io.Writer, e api.PAYAEntry) {
	fmt.Fprintf(w, "%s  %-9s %-6s %s → %s  %s rial  ref %s", e.ID, e.Status, e.Core, e.OriginatingBank, e.ReceivingBank, groupDigits(e.AmountRial), e.Reference)
	if e.Cycle != "" {
		fmt.Fprintf(w, "  cycle %s", e.Cycle)
	}
	if e.ReturnCode != "" {
		fmt.Fprintf(w, "  return %s", e.ReturnCode)
	}
	fmt.Fprintln(w)
}

func printMandate(w io.Writer, m api.PAYAMandate) {
	fmt.Fprintf(w, "%s  %-9s biller %s %s  payer %s %s  ≤ %s rial × %d a month  %s…%s  ref %s", m.ID, m.Status, m.BillerBank, m.BillerSHEBA,
		m.PayerBank, m.PayerSHEBA, groupDigits(m.MaxPerDebitRial), m.MaxDebitsPerMonth, m.StartDate, m.EndDate, m.BillerReference)
	if m.Reason != "" {
		fmt.Fprintf(w, "  reason %s", m.Reason)
	}
	fmt.Fprintln(w)
}

func printCycle(w io.Writer, c api.PAYACycle) {
	fmt.Fprintf(w, "cycle %s (%s)  %s  %d entries  %s rial  %d deferred\n", c.ID, c.Jalali, c.Status, c.Entries, groupDigits(c.TotalRial), c.Deferred)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "bank\tsent\t%21s\treceived\t%21s\t%21s\tposted\treturned\n", "sent (rial)", "received (rial)", "net (rial)")
	for _, n := range c.Nets {
		fmt.Fprintf(tw, "%s\t%d\t%21s\t%d\t%21s\t%21s\t%d\t%d\n", n.Bank, n.SentEntries, groupDigits(n.SentRial), n.RecvEntries,
			groupDigits(n.RecvRial), groupSigned(n.NetRial, true), n.Posted, n.Returned)
	}
	_ = tw.Flush()
	for _, x := range c.Excluded {
		fmt.Fprintf(w, "excluded %s: %s\n", x.Bank, x.Reason)
	}
}
