package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/internal/server"
)

// runSATNA is `tasvieh satna`: a member bank's SATNA orders against a running server, with that bank's key
// from keys.json (--bank) — what a bank's back office would send.
func runSATNA(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "satna", "satna --bank CODE [--server URL] [--json] submit --reference R --amount RIAL (--to BANK | --payer SHEBA --payer-name N --payee SHEBA --payee-name N) [--date D] [--priority P] [--description T] | get ID | list [--status S] [--direction in|out] | revoke ID | statement DATE [--csv]")
	bank := fs.String("bank", "", "the sending (or asking) bank's CBI code; its key comes from keys.json")
	srv := fs.String("server", "", "the server's URL (default: serve.json in TASVIEH_HOME)")
	asJSON := fs.Bool("json", false, "print the server's JSON answer")
	ref := fs.String("reference", "", "submit: the bank's own reference")
	amount := fs.String("amount", "", "submit: amount in rial (thousands separators allowed)")
	to := fs.String("to", "", "submit: the receiving bank of an interbank order")
	payer := fs.String("payer", "", "submit: the payer's SHEBA (a customer order)")
	payerName := fs.String("payer-name", "", "submit: the payer's name")
	payee := fs.String("payee", "", "submit: the payee's SHEBA")
	payeeName := fs.String("payee-name", "", "submit: the payee's name")
	date := fs.String("date", "", "submit: effective date, YYYY-MM-DD or Jalali YYYY/MM/DD")
	priority := fs.String("priority", "", "submit: urgent, high or normal")
	desc := fs.String("description", "", "submit: description")
	status := fs.String("status", "", "list: only this status")
	direction := fs.String("direction", "", "list: in or out")
	asCSV := fs.Bool("csv", false, "statement: print the server's CSV")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) == 0 || *bank == "" {
		fs.Usage()
		return exitUsage
	}
	if *asCSV && (*asJSON || pos[0] != "statement") {
		return usageError(env, "satna: --csv is for statement, and not with --json")
	}
	cfg := DefaultConfig(env.Getenv)
	c, err := newOpClient(cfg, *srv)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh satna:", err)
		return exitInvalid
	}
	if c.key, err = bankKey(cfg, *bank); err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh satna:", err)
		return exitInvalid
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var out any
	var show func(w io.Writer)
	one := func(o *api.SATNAOrder) func(io.Writer) { return func(w io.Writer) { printOrder(w, *o) } }
	switch {
	case pos[0] == "submit" && len(pos) == 1:
		n, perr := strconv.ParseInt(strings.ReplaceAll(*amount, ",", ""), 10, 64)
		if perr != nil {
			return usageError(env, "satna submit: --amount %q is not a whole number of rial", *amount)
		}
		req := api.SATNAOrderRequest{Type: "customer", PayerSHEBA: *payer, PayerName: *payerName, PayeeSHEBA: *payee,
			PayeeName: *payeeName, AmountRial: n, Reference: *ref, EffectiveDate: *date, Priority: *priority, Description: *desc}
		if *to != "" {
			req.Type, req.ReceiverBank = "interbank", *to
		}
		var o api.SATNAOrder
		out, show = &o, one(&o)
		err = c.call(ctx, http.MethodPost, "/v1/satna/orders", req, &o)
	case pos[0] == "get" && len(pos) == 2:
		var o api.SATNAOrder
		out, show = &o, one(&o)
		err = c.call(ctx, http.MethodGet, "/v1/satna/orders/"+url.PathEscape(pos[1]), nil, &o)
	case pos[0] == "revoke" && len(pos) == 2:
		var o api.SATNAOrder
		out, show = &o, one(&o)
		err = c.call(ctx, http.MethodPost, "/v1/satna/orders/"+url.PathEscape(pos[1])+"/revoke", nil, &o)
	case pos[0] == "list" && len(pos) == 1:
		var pg api.SATNAOrderPage
		out = &pg
		show = func(w io.Writer) {
			for _, o := range pg.Orders {
				printOrder(w, o)
			}
		}
		q := url.Values{}
		if *status != "" {
			q.Set("status", *status)
		}
		if *direction != "" {
			q.Set("direction", *direction)
		}
		q.Set("limit", "100")
		err = c.call(ctx, http.MethodGet, "/v1/satna/orders?"+q.Encode(), nil, &pg)
	case pos[0] == "statement" && len(pos) == 2:
		d, perr := calendar.ParseDate(pos[1])
		if perr != nil {
			return usageError(env, "satna statement: %v", perr)
		}
		path := "/v1/satna/statements/" + d.String() // Gregorian: a Jalali YYYY/MM/DD would split the path
		if *asCSV {
			var b []byte
			var ct string
			b, ct, err = c.send(ctx, http.MethodGet, path+"?format=csv", nil)
			if err == nil && !strings.HasPrefix(ct, "text/csv") {
				err = fmt.Errorf("the server answered %q, not CSV: is it older than this command?", ct)
			}
			show = func(w io.Writer) { _, _ = w.Write(b) }
			break
		}
		var st api.Statement
		out, show = &st, func(w io.Writer) { printStatement(w, st) }
		err = c.call(ctx, http.MethodGet, path, nil, &st)
	default:
		fs.Usage()
		return exitUsage
	}
	return answer(env, "satna", err, *asJSON, out, show)
}

// bankKey is a bank's key from keys.json.
func bankKey(cfg Config, bank string) (string, error) {
	b, err := os.ReadFile(filepath.Join(cfg.Home, "keys.json"))
	if err != nil {
		return "", fmt.Errorf("no keys: %w (the server writes keys.json in TASVIEH_HOME)", err)
	}
	var k server.Keys
	if err := json.Unmarshal(b, &k); err != nil {
		return "", fmt.Errorf("keys.json: %w", err)
	}
	key, ok := k.Banks[bank]
	if !ok {
		return "", fmt.Errorf("keys.json has no key for bank %q", bank)
	}
	return key, nil
}

// printStatement prints a statement as a table: the opening balance, one row per movement (Jalali time,
// Tehran; debits negative), the closing balance.
func printStatement(w io.Writer, st api.Statement) {
	fmt.Fprintf(w, "SATNA statement of %s, %s (%s), Tehran time: %d movements\n", st.BankCode, st.Jalali, st.Date, len(st.Movements))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "time\t%21s\t%21s\tkind\tcounterpart\treference\n", "amount (rial)", "balance (rial)")
	fmt.Fprintf(tw, "%s 00:00\t%21s\t%21s\topening\n", st.Jalali, "", groupSigned(st.OpeningRial, false))
	for _, m := range st.Movements {
		amount := m.AmountRial
		if m.Direction == "debit" {
			amount = -amount
		}
		fmt.Fprintf(tw, "%s\t%21s\t%21s\t%s\t%s\t%s\n", m.Jalali, groupSigned(amount, true), groupSigned(m.BalanceRial, false),
			m.Kind, m.Counterpart, m.Reference)
	}
	fmt.Fprintf(tw, "%s\t%21s\t%21s\tclosing\n", "", "", groupSigned(st.ClosingRial, false))
	_ = tw.Flush()
}

// groupSigned is n with thousands separators, and its sign: a minus when negative, a plus too when plus.
func groupSigned(n int64, plus bool) string {
	switch {
	case n < 0:
		return "-" + groupDigits(-n)
	case plus:
		return "+" + groupDigits(n)
	}
	return groupDigits(n)
}

func printOrder(w io.Writer, o api.SATNAOrder) {
	fmt.Fprintf(w, "%s  %-13s %-9s %s → %s  %s rial  ref %s", o.ID, o.Status, o.Type, o.SenderBank, o.ReceiverBank, groupDigits(o.AmountRial), o.Reference)
	if o.Code != "" {
		fmt.Fprintf(w, "  code %s", o.Code)
	}
	if o.SettleAfter != nil {
		fmt.Fprintf(w, "  settles after %s", o.SettleAfter.Format("2006-01-02 15:04"))
	}
	if o.ReturnedBy != "" {
		fmt.Fprintf(w, "  returned by %s", o.ReturnedBy)
	}
	fmt.Fprintln(w)
}
