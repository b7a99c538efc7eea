package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
)

// shahabUsage is `tasvieh shahab`'s usage line.
const shahabUsage = "shahab --bank CODE [--server URL] [--json] inquiry --destination PAN\n" +
	"       shahab --bank CODE otp --source PAN\n" +
	"       shahab --bank CODE transfer --source PAN --destination PAN --amount RIAL --expiry YYMM --cvv2 N --pin2 N [--reference R]\n" +
	"       shahab --bank CODE get ID | list [--status S] [--direction submitted|outgoing|incoming|all] | answer ID --result credited|refused [--code C]\n" +
	"       shahab [--server URL] [--json] windows [ID] | windows settle | reconciliation [--date D]   (the operator's key)\n" +
	"transfer without --reference sends a fresh random one (sh-…, printed with the transfer: repeat it with --reference to get\n" +
	"the original back); transfer exits 1 when the transfer was refunded or rejected, as any failed command does"

// shahabPage is how many transfers or windows a list asks for: the API's default page.
const shahabPage = api.PageDefault

// shahabFlags are runShahab's flags.
type shahabFlags struct {
	bank, server, source, destination, amount, expiry, cvv2, pin2, reference *string
	status, direction, result, code, date                                    *string
	json                                                                     *bool
}

// shahabCall is one command line as the request it sends: what to send, where the answer goes, how it is
// shown, and, for a transfer, whether its outcome makes the command fail.
type shahabCall struct {
	method, path string
	body         any
	out          any
	show         func(io.Writer)
	failed       func() string // a non-empty answer: the command exits 1 with it, after the answer is shown
}

// runShahab is `tasvieh shahab`: a member bank's card-to-card transfers against a running server, with that
// bank's key from keys.json (--bank), and the operator's windows and reconciliation report.
func runShahab(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "shahab", shahabUsage)
	f := shahabFlags{
		bank:        fs.String("bank", "", "the calling bank's CBI code (the channel's bank); its key comes from keys.json"),
		server:      fs.String("server", "", "the server's URL (default: serve.json in TASVIEH_HOME)"),
		json:        fs.Bool("json", false, "print the server's JSON answer"),
		source:      fs.String("source", "", "otp, transfer: the source card's PAN (any bank's)"),
		destination: fs.String("destination", "", "inquiry, transfer: the destination card's PAN"),
		amount:      fs.String("amount", "", "transfer: amount in rial (thousands separators allowed)"),
		expiry:      fs.String("expiry", "", "transfer: the source card's expiry, Jalali YYMM"),
		cvv2:        fs.String("cvv2", "", "transfer: the source card's CVV2"),
		pin2:        fs.String("pin2", "", "transfer: the second PIN, static or the one-time code from shahab otp"),
		reference:   fs.String("reference", "", "transfer: the bank's own reference (default: a fresh random one)"),
		status:      fs.String("status", "", "list: only this status (pending, succeeded, refunded, rejected)"),
		direction:   fs.String("direction", "", "list: submitted, outgoing, incoming or all (default all)"),
		result:      fs.String("result", "", "answer: credited or refused"),
		code:        fs.String("code", "", "answer: why it was refused (card_blocked, card_expired, card_lost, card_not_found, account_blocked, …)"),
		date:        fs.String("date", "", "reconciliation: only this Tehran day, YYYY-MM-DD or Jalali YYYY/MM/DD"),
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) == 0 {
		fs.Usage()
		return exitUsage
	}
	call, msg := planShahab(f, pos, newShahabReference)
	if msg != "" {
		return usageError(env, "%s", msg)
	}
	if call == nil {
		fs.Usage()
		return exitUsage
	}
	cfg := DefaultConfig(env.Getenv)
	c, err := newOpClient(cfg, *f.server)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh shahab:", err)
		return exitInvalid
	}
	if *f.bank != "" {
		if c.key, err = bankKey(cfg, *f.bank); err != nil {
			fmt.Fprintln(env.Stderr, "tasvieh shahab:", err)
			return exitInvalid
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	err = c.call(ctx, call.method, call.path, call.body, call.out)
	code := answer(env, "shahab", err, *f.json, call.out, call.show)
	if code == exitOK && call.failed != nil {
		if why := call.failed(); why != "" {
			fmt.Fprintln(env.Stderr, "tasvieh shahab:", why)
			return exitInvalid
		}
	}
	return code
}

// planShahab turns a command line into its request. A wrong command line is a message for usageError; a
// command it does not know is (nil, ""): the caller prints the usage.
func planShahab(f shahabFlags, pos []string, newReference func() string) (*shahabCall, string) {
	operator := pos[0] == "windows" || pos[0] == "reconciliation"
	switch {
	case operator && *f.bank != "":
		return nil, fmt.Sprintf("shahab %s is the operator's: no --bank", pos[0])
	case !operator && *f.bank == "":
		return nil, fmt.Sprintf("shahab %s: --bank CODE is required (the calling bank)", pos[0])
	}
	id := func(i int) string { return url.PathEscape(pos[i]) }
	transfer := func(t *api.ShahabTransfer) func(io.Writer) { return func(w io.Writer) { printShahabTransfer(w, *t) } }
	window := func(x *api.ShahabWindow) func(io.Writer) { return func(w io.Writer) { printShahabWindow(w, *x) } }
	switch {
	case pos[0] == "inquiry" && len(pos) == 1:
		if *f.destination == "" {
			return nil, "shahab inquiry: --destination PAN is required"
		}
		var q api.ShahabInquiry
		return &shahabCall{method: http.MethodPost, path: "/v1/shahab/inquiries", body: api.ShahabInquiryRequest{DestinationPAN: *f.destination},
			out: &q, show: func(w io.Writer) {
				fmt.Fprintf(w, "%s  %s  bank %s %s\n", q.DestinationPAN, q.Name, q.Bank, q.BankName)
			}}, ""
	case pos[0] == "otp" && len(pos) == 1:
		if *f.source == "" {
			return nil, "shahab otp: --source PAN is required"
		}
		var o api.ShahabOTP
		return &shahabCall{method: http.MethodPost, path: "/v1/shahab/otp", body: api.ShahabOTPRequest{SourcePAN: *f.source}, out: &o,
			show: func(w io.Writer) {
				fmt.Fprintf(w, "otp %s for %s, valid %d s, until %s\n", o.OTP, o.SourcePAN, o.ValidSeconds, o.ExpiresAt.In(calendar.Tehran).Format(time.RFC3339))
			}}, ""
	case pos[0] == "transfer" && len(pos) == 1:
		var missing []string
		for _, x := range []struct {
			name string
			v    *string
		}{{"--source", f.source}, {"--destination", f.destination}, {"--amount", f.amount}, {"--expiry", f.expiry}, {"--cvv2", f.cvv2}, {"--pin2", f.pin2}} {
			if *x.v == "" {
				missing = append(missing, x.name)
			}
		}
		if len(missing) > 0 {
			return nil, "shahab transfer: " + strings.Join(missing, ", ") + " required"
		}
		n, err := strconv.ParseInt(strings.ReplaceAll(*f.amount, ",", ""), 10, 64)
		if err != nil {
			return nil, fmt.Sprintf("shahab transfer: --amount %q is not a whole number of rial", *f.amount)
		}
		ref := *f.reference
		if ref == "" {
			ref = newReference()
		}
		var t api.ShahabTransfer
		return &shahabCall{method: http.MethodPost, path: "/v1/shahab/transfers", out: &t, show: transfer(&t),
			body: api.ShahabTransferRequest{SourcePAN: *f.source, DestinationPAN: *f.destination, AmountRial: n, Expiry: *f.expiry,
				CVV2: *f.cvv2, PIN2: *f.pin2, Reference: ref},
			failed: func() string {
				if t.Status == "refunded" || t.Status == "rejected" {
					return fmt.Sprintf("transfer %s %s: %s", t.ID, t.Status, t.Code)
				}
				return ""
			}}, ""
	case pos[0] == "get" && len(pos) == 2:
		var t api.ShahabTransfer
		return &shahabCall{method: http.MethodGet, path: "/v1/shahab/transfers/" + id(1), out: &t, show: transfer(&t)}, ""
	case pos[0] == "list" && len(pos) == 1:
		if !oneOf(*f.status, "", "pending", "succeeded", "refunded", "rejected") {
			return nil, fmt.Sprintf("shahab list: --status %q is none of pending, succeeded, refunded, rejected", *f.status)
		}
		if !oneOf(*f.direction, "", "submitted", "outgoing", "incoming", "all") {
			return nil, fmt.Sprintf("shahab list: --direction %q is none of submitted, outgoing, incoming, all", *f.direction)
		}
		var pg api.ShahabTransferPage
		q := query(map[string]string{"status": *f.status, "direction": *f.direction, "limit": strconv.Itoa(shahabPage)})
		return &shahabCall{method: http.MethodGet, path: "/v1/shahab/transfers?" + q, out: &pg, show: func(w io.Writer) {
			for _, t := range pg.Transfers {
				printShahabTransfer(w, t)
			}
		}}, ""
	case pos[0] == "answer" && len(pos) == 2:
		if !oneOf(*f.result, "credited", "refused") {
			return nil, fmt.Sprintf("shahab answer: --result %q is neither credited nor refused", *f.result)
		}
		if *f.code != "" && *f.result != "refused" {
			return nil, "shahab answer: --code says why a credit was refused: only with --result refused"
		}
		var t api.ShahabTransfer
		return &shahabCall{method: http.MethodPost, path: "/v1/shahab/transfers/" + id(1) + "/answer",
			body: api.ShahabAnswerRequest{Result: *f.result, Code: *f.code}, out: &t, show: transfer(&t)}, ""
	case pos[0] == "windows" && len(pos) == 1:
		var pg api.ShahabWindowPage
		return &shahabCall{method: http.MethodGet, path: "/v1/operator/shahab/windows?limit=" + strconv.Itoa(shahabPage), out: &pg,
			show: func(w io.Writer) {
				for _, x := range pg.Windows {
					fmt.Fprintf(w, "%s  %-7s cut-off %s  %d transfers  %d obligations%s\n", x.ID, x.Status,
						x.CutOff.In(calendar.Tehran).Format(time.RFC3339), x.Transfers, len(x.Obligations), netSetOf(x))
				}
			}}, ""
	case pos[0] == "windows" && len(pos) == 2 && pos[1] == "settle":
		var x api.ShahabWindow
		return &shahabCall{method: http.MethodPost, path: "/v1/operator/shahab/windows/settle", out: &x, show: window(&x)}, ""
	case pos[0] == "windows" && len(pos) == 2:
		var x api.ShahabWindow
		return &shahabCall{method: http.MethodGet, path: "/v1/operator/shahab/windows/" + id(1), out: &x, show: window(&x)}, ""
	case pos[0] == "reconciliation" && len(pos) == 1:
		path, day := "/v1/operator/shahab/reconciliation", ""
		if *f.date != "" {
			d, err := calendar.ParseDate(*f.date)
			if err != nil {
				return nil, fmt.Sprintf("shahab reconciliation: --date: %v", err)
			}
			day = d.String()
			path += "?date=" + day // Gregorian: one form on the wire
		}
		var r api.ShahabReconciliation
		return &shahabCall{method: http.MethodGet, path: path, out: &r, show: func(w io.Writer) {
			of := "every day"
			if day != "" {
				of = day
			}
			fmt.Fprintf(w, "SHAHAB reconciliation, %s: %d late answers\n", of, len(r.Cases))
			for _, t := range r.Cases {
				printShahabTransfer(w, t)
			}
		}}, ""
	}
	return nil, ""
}

// newShahabReference is a fresh transfer reference: 8 random bytes, hex, so that two commands never share
// one by chance (2^-64).
func newShahabReference() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "sh-" + hex.EncodeToString(b)
}

// oneOf reports whether v is one of xs.
func oneOf(v string, xs ...string) bool {
	for _, x := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// printShahabTransfer prints a transfer on one line: id, status and code, amount and fee, the banks and the
// route, the switch's RRN and the bank's reference; then its window and a late answer, when it has them.
func printShahabTransfer(w io.Writer, t api.ShahabTransfer) {
	fmt.Fprintf(w, "%s  %-9s %-24s %s rial  fee %s  %s → %s %s  rrn %s  ref %s", t.ID, t.Status, t.Code, groupDigits(t.AmountRial),
		groupDigits(t.FeeRial), t.SourceBank, t.DestinationBank, t.Route, orDash(t.RRN), t.Reference)
	if t.Window != "" {
		fmt.Fprintf(w, "  window %s", t.Window)
	}
	if t.Late != nil {
		fmt.Fprintf(w, "  late %s at %s: %s", t.Late.Result, t.Late.ReceivedAt.In(calendar.Tehran).Format(time.RFC3339), t.Late.Action)
	}
	fmt.Fprintln(w)
}

// printShahabWindow prints a window: its line, the obligations between pairs of banks, each bank's net
// (positive: it pays) and the banks carried to the next window.
func printShahabWindow(w io.Writer, x api.ShahabWindow) {
	fmt.Fprintf(w, "window %s  %s  cut-off %s  %d transfers%s\n", x.ID, x.Status, x.CutOff.In(calendar.Tehran).Format(time.RFC3339), x.Transfers, netSetOf(x))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(x.Obligations) > 0 {
		fmt.Fprintf(tw, "from\tto\t%21s\ttransfers\n", "amount (rial)")
		for _, o := range x.Obligations {
			fmt.Fprintf(tw, "%s\t%s\t%21s\t%d\n", o.From, o.To, groupDigits(o.AmountRial), o.Transfers)
		}
		_ = tw.Flush()
	}
	if len(x.Nets) > 0 {
		fmt.Fprintf(tw, "bank\t%21s\n", "net (rial)")
		for _, n := range x.Nets {
			fmt.Fprintf(tw, "%s\t%21s\n", n.Bank, groupSigned(n.NetRial, true))
		}
		_ = tw.Flush()
	}
	for _, b := range x.Excluded {
		fmt.Fprintf(w, "excluded %s: carried to the next window\n", b)
	}
}

// netSetOf is "  net set ID" for a window that settled through one, else nothing.
func netSetOf(x api.ShahabWindow) string {
	if x.NetSet == "" {
		return ""
	}
	return "  net set " + x.NetSet
}
