package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tasvieh/tasvieh/calendar"
)

// Statement formats: ?format= names one; without it the Accept header chooses, JSON when it prefers neither.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
	// MediaCSV is the Content-Type of a CSV statement (RFC 4180: CRLF line ends, a header row; UTF-8, no BOM).
	MediaCSV = "text/csv; charset=utf-8"
)

// statementCSVColumns are the CSV statement's columns, its header row. Each row is one record: "opening" (the
// balance at 00:00 Tehran), one "movement" per posted transfer in order, then "closing" (the balance at the
// day's end, 00:00 of the next day). The other columns are the JSON line's: jalali and at (RFC 3339, Tehran
// offset) its time, balance_after_rial its balance_rial; amount_rial is unsigned, direction says which way.
var statementCSVColumns = []string{"record", "jalali", "at", "id", "kind", "direction", "amount_rial",
	"balance_after_rial", "counterpart", "reference"}

// statementCSVExample is the OpenAPI document's example of a CSV statement.
const statementCSVExample = "record,jalali,at,id,kind,direction,amount_rial,balance_after_rial,counterpart,reference\r\n" +
	"opening,1404/02/01 00:00,2025-04-21T00:00:00+03:30,,,,,1000000000000,,\r\n" +
	"movement,1404/02/01 09:00,2025-04-21T09:00:00.000001+03:30,0196590a-6f00-7a3e-8c01-5d2e4b7f9a10,satna,debit,7000000,999993000000,012 Tejarat,\"INV-7, \"\"April\"\"\"\r\n" +
	"closing,1404/02/02 00:00,2025-04-22T00:00:00+03:30,,,,,999993000000,,\r\n"

type negotiatesKey struct{}

// keepAccept hands the Accept header to the handlers of operations that choose their own representation
// (Metadata "negotiates"); huma itself negotiates only among its marshalling formats (JSON, CBOR).
func (s *Server) keepAccept(ctx huma.Context, next func(huma.Context)) {
	if n, _ := ctx.Operation().Metadata["negotiates"].(bool); n {
		ctx = huma.WithValue(ctx, negotiatesKey{}, ctx.Header("Accept"))
	}
	next(ctx)
}

// statementFormat is the representation a statement request asks for: format when given, else CSV when
// Accept gives text/csv a higher quality than application/json (a tie, "*/*" or no Accept, is JSON).
func statementFormat(format, accept string) string {
	if format != "" {
		return format
	}
	if acceptQ(accept, "text/csv") > acceptQ(accept, "application/json") {
		return FormatCSV
	}
	return FormatJSON
}

// acceptQ is the quality an Accept header gives the media type mt (RFC 9110 §12.5.1): that of the most
// specific range matching it (type/subtype over type/* over */*), 1 without a q parameter; 0 when no range
// matches. A q that does not parse counts as 0.
func acceptQ(accept, mt string) float64 {
	typ, _, _ := strings.Cut(mt, "/")
	q, specificity := 0.0, 0
	for _, r := range strings.Split(accept, ",") {
		params := strings.Split(r, ";")
		name := strings.TrimSpace(params[0])
		s := 0
		switch {
		case strings.EqualFold(name, mt):
			s = 3
		case strings.EqualFold(name, typ+"/*"):
			s = 2
		case name == "*/*":
			s = 1
		}
		if s <= specificity {
			continue
		}
		rq := 1.0
		for _, p := range params[1:] {
			if k, v, ok := strings.Cut(p, "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				var err error
				if rq, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || rq < 0 || rq > 1 {
					rq = 0
				}
			}
		}
		q, specificity = rq, s
	}
	return q
}

type statementIn struct {
	Date   string `path:"date" maxLength:"10" doc:"YYYY-MM-DD (Gregorian) or Jalali YYYY-MM-DD (a year below 1700)"`
	Format string `query:"format" enum:"json,csv" doc:"json or csv (text/csv, the same statement); absent: by the Accept header (text/csv or application/json), JSON when it prefers neither"`
}

// negotiatedOut is the answer of a route that is JSON or CSV: a JSON object, or the CSV's bytes with their
// Content-Type and a Content-Disposition naming the file.
type negotiatedOut struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition" doc:"CSV only: attachment; filename=\"…\""`
	Vary               string `header:"Vary" doc:"Accept: the representation follows it"`
	Body               any
}

// formatted is an input with a ?format= parameter.
type formatted interface{ format() string }

func (in statementIn) format() string { return in.Format }

// negotiated describes a route that answers T as JSON, or as CSV when asked (?format=csv, or Accept).
type negotiated[I formatted, T any] struct {
	route       route
	description string // the operation's, after its summary
	example     string // a CSV answer, for the document
	schema      string // T's schema's name
	get         func(ctx context.Context, p Principal, in *I) (T, error)
	csv         func(T) ([]byte, error)
	filename    func(T) string // the CSV attachment's
}

// registerNegotiated adds such a route: JSON by default, CSV by ?format= or the Accept header (statementFormat).
func registerNegotiated[I formatted, T any](s *Server, n negotiated[I, T]) {
	r := n.route
	op := s.operation(r, false)
	op.Metadata["negotiates"] = true
	op.Description = n.description
	ref := s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[T](), true, n.schema)
	op.Responses = map[string]*huma.Response{"200": {Description: http.StatusText(http.StatusOK), Content: map[string]*huma.MediaType{
		"application/json": {Schema: ref},
		"text/csv":         {Schema: &huma.Schema{Type: huma.TypeString}, Example: n.example},
	}}}
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*negotiatedOut, error) {
		p, _ := PrincipalOf(ctx)
		v, err := n.get(ctx, p, in)
		if err != nil {
			return nil, s.failure(r.id, err)
		}
		out := &negotiatedOut{Vary: "Accept", Body: &v}
		accept, _ := ctx.Value(negotiatesKey{}).(string)
		if statementFormat((*in).format(), accept) == FormatJSON {
			return out, nil
		}
		body, err := n.csv(v)
		if err != nil {
			return nil, s.failure(r.id, err)
		}
		out.ContentType, out.Body = MediaCSV, body
		out.ContentDisposition = fmt.Sprintf("attachment; filename=%q", n.filename(v))
		return out, nil
	})
	// OpenAPI ignores a response header named Content-Type: the content map says what it can be.
	delete(s.api.OpenAPI().Paths[r.path].Get.Responses["200"].Headers, "Content-Type")
}

// registerStatement adds the statement route: a Statement as JSON, or as CSV (statementCSVColumns).
func registerStatement(s *Server, b SATNABackend) {
	registerNegotiated(s, negotiated[statementIn, Statement]{
		route: route{id: "satna-statement", method: http.MethodGet, path: "/v1/satna/statements/{date}",
			summary: "The caller's settlement account over a Tehran day: opening balance, every movement, closing balance (JSON or CSV)",
			tag:     "satna", access: accessBank, errors: []int{http.StatusUnprocessableEntity}},
		description: "?format=csv, or Accept: text/csv, answers the statement as CSV (" + MediaCSV + ", an attachment): " +
			"a header row, an opening record, one record per movement, a closing record. Free text that would start a " +
			"spreadsheet formula (= + - @, a tab or a line break) or starts with a single quote is prefixed with a single " +
			"quote; drop one leading quote to read the value back. Errors are JSON whatever the format.",
		example: statementCSVExample, schema: "Statement",
		get: func(ctx context.Context, p Principal, in *statementIn) (Statement, error) {
			return b.Statement(ctx, p.Bank, in.Date)
		},
		csv:      StatementCSV,
		filename: func(st Statement) string { return "satna-statement-" + st.BankCode + "-" + st.Date + ".csv" },
	})
}

// StatementCSV is st as CSV (statementCSVColumns), opening and closing balances included, so the file alone
// carries the day. encoding/csv quotes what needs it (commas, quotes, line breaks); free text (kind, direction,
// counterpart, reference, id) passes through csvText against formula injection.
func StatementCSV(st Statement) ([]byte, error) {
	day, err := calendar.ParseDate(st.Date)
	if err != nil {
		return nil, fmt.Errorf("api: statement date %q: %w", st.Date, err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true // RFC 4180
	rial := func(n int64) string { return strconv.FormatInt(n, 10) }
	edge := func(record string, at time.Time, bal int64) []string {
		return []string{record, jalaliMinute(at), at.Format(time.RFC3339Nano), "", "", "", "", rial(bal), "", ""}
	}
	_ = w.Write(statementCSVColumns)
	_ = w.Write(edge("opening", day.At(0, 0), st.OpeningRial))
	for _, m := range st.Movements {
		_ = w.Write([]string{"movement", m.Jalali, m.At.In(calendar.Tehran).Format(time.RFC3339Nano), csvText(m.ID), csvText(m.Kind),
			csvText(m.Direction), rial(m.AmountRial), rial(m.BalanceRial), csvText(m.Counterpart), csvText(m.Reference)})
	}
	_ = w.Write(edge("closing", day.AddDays(1).At(0, 0), st.ClosingRial))
	w.Flush()
	return buf.Bytes(), w.Error()
}

// csvText guards a free-text cell against formula injection (OWASP, "CSV Injection"): a spreadsheet runs a
// cell that starts with = + - or @ (or a tab, carriage return or line feed before one) as a formula, so such a
// value gets a leading single quote, which spreadsheets show as text. A value that already starts with a
// single quote gets one too, so that dropping one leading quote always gives the value back.
func csvText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n', '\'':
		return "'" + s
	}
	return s
}

// jalaliMinute is t as the statement's lines show it: Jalali YYYY/MM/DD HH:MM, Tehran.
func jalaliMinute(t time.Time) string {
	t = t.In(calendar.Tehran)
	return fmt.Sprintf("%s %02d:%02d", calendar.DateOf(t).Jalali(), t.Hour(), t.Minute())
}
