package api

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/tasvieh/tasvieh/calendar"
)

// Media types of PAYA's files.
const (
	// MediaNACHA is the Content-Type of a NACHA delivery file: fixed-width ASCII records, one a line.
	MediaNACHA = "text/plain; charset=utf-8"
	// FormatNACHA names a NACHA file in ?format=.
	FormatNACHA = "nacha"
)

// payaUploadTypes are the media types an uploaded file may be sent as: the file is the body itself, never
// JSON around it.
var payaUploadTypes = []string{"text/csv", "text/plain", "application/octet-stream"}

// errFileTooLarge is what the upload's body reader answers once the caller has sent more than
// PAYAFileBytesMax bytes: the backend sees a read error and stops; the handler answers 413.
var errFileTooLarge = errors.New("api: the file is larger than the upload limit")

// payaCycleCSVColumns are the CSV cycle report's columns, its header row: one record per bank of the cycle —
// "net" for a bank whose net settled (its PAYANet), "excluded" for one the cycle left out (excluded_reason
// says why; its counts are empty). cut_off_jalali is the cycle's cut-off in Jalali (YYYY/MM/DD HH:MM,
// Tehran), cut_off the same instant in RFC 3339 with the Tehran offset.
var payaCycleCSVColumns = []string{"record", "cycle", "cut_off_jalali", "cut_off", "status", "bank",
	"sent_entries", "sent_rial", "received_entries", "received_rial", "net_rial", "posted", "returned", "awaiting", "excluded_reason"}

// payaCycleCSVExample is the OpenAPI document's example of a CSV cycle report.
const payaCycleCSVExample = "record,cycle,cut_off_jalali,cut_off,status,bank,sent_entries,sent_rial,received_entries,received_rial,net_rial,posted,returned,awaiting,excluded_reason\r\n" +
	"net,2025-04-21T09:45,1404/02/01 09:45,2025-04-21T09:45:00+03:30,done,017,3,45000000,1,10000000,35000000,1,0,0,\r\n" +
	"excluded,2025-04-21T09:45,1404/02/01 09:45,2025-04-21T09:45:00+03:30,done,054,,,,,,,,,short\r\n"

// RegisterPAYA adds PAYA's routes, served by b: entries, files, mandates and cycles for member banks, the
// cycle list and reports for any key (a bank sees only its own net: b's PAYACycle does that), and running a
// cycle for the operator.
func RegisterPAYA(s *Server, b PAYABackend) {
	registerPAYAEntries(s, b)
	registerPAYAFiles(s, b)
	registerPAYAMandates(s, b)
	registerPAYACycles(s, b)
}

// payaID is the path parameter of one PAYA object.
type payaID struct {
	ID string `path:"id" maxLength:"36"`
}

func registerPAYAEntries(s *Server, b PAYABackend) {
	Register(s, route{id: "submit-paya-entry", method: http.MethodPost, path: "/v1/paya/entries",
		summary: "Submit one PAYA entry (201; a repeat of its reference 200 with the original; a rejected entry 422 entry_rejected naming the field)",
		tag:     "paya", access: accessBank, status: http.StatusCreated, alsoOK: []int{http.StatusOK}, errors: []int{http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct{ Body PAYAEntryRequest }) (*PAYAEntry, error) {
			e, created, err := b.SubmitEntry(ctx, p.Bank, in.Body)
			if err != nil {
				return nil, err
			}
			if !created {
				SetStatus(ctx, http.StatusOK)
			}
			return &e, nil
		})
	Register(s, route{id: "get-paya-entry", method: http.MethodGet, path: "/v1/paya/entries/{id}", summary: "One PAYA entry (as originator or receiver)",
		tag: "paya", access: accessBank, errors: []int{http.StatusNotFound}},
		func(ctx context.Context, p Principal, in *payaID) (*PAYAEntry, error) {
			e, err := b.PAYAEntry(ctx, p.Bank, in.ID)
			return &e, err
		})
	Register(s, route{id: "list-paya-entries", method: http.MethodGet, path: "/v1/paya/entries", summary: "The caller's PAYA entries of one cycle or one file (name one), in id order",
		tag: "paya", access: accessBank},
		func(ctx context.Context, p Principal, in *struct {
			Status    string `query:"status" enum:"accepted,deferred,settled,posted,returned"`
			Direction string `query:"direction" enum:"in,out" doc:"out: entries the caller originated; in: entries it receives"`
			File      string `query:"file" maxLength:"36" doc:"only the entries of this file"`
			Cycle     string `query:"cycle" maxLength:"16" doc:"only the entries of this cycle (its id)"`
			PageIn
		}) (*PAYAEntryPage, error) {
			pg, err := b.PAYAEntries(ctx, p.Bank, in.Status, in.Direction, in.File, in.Cycle, in.Cursor, in.Limit)
			return &pg, err
		})
	Register(s, route{id: "return-paya-entry", method: http.MethodPost, path: "/v1/paya/entries/{id}/return",
		summary: "An external receiving bank returns an entry it cannot post, before its return deadline; the return travels in the next cycle",
		tag:     "paya", access: accessBank, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct {
			ID   string `path:"id" maxLength:"36"`
			Body PAYAReturnRequest
		}) (*PAYAEntry, error) {
			e, err := b.ReturnEntry(ctx, p.Bank, in.ID, in.Body.Code)
			return &e, err
		})
}

// payaFileIn is an upload's input: its query, and the body as a stream. It has no Body field, so huma does
// not read the body; Resolve takes the request's own reader instead, after huma has parsed and validated the
// query.
type payaFileIn struct {
	PAYAFileRequest
	ContentLength int64 `header:"Content-Length" doc:"the file's size, when the client knows it: above the limit answers 413 before anything is read"`
	body          io.Reader
	contentType   string
	w             http.ResponseWriter
}

// Resolve implements huma.Resolver: it keeps the request's body reader, unread, and the response writer,
// whose read deadline the handler sets around the reading.
func (in *payaFileIn) Resolve(ctx huma.Context) []error {
	r, w := humago.Unwrap(ctx)
	if r.Body != nil && r.Body != http.NoBody {
		in.body = r.Body
	}
	in.contentType = ctx.Header("Content-Type")
	in.w = w
	return nil
}

// limitedBody reads at most max bytes of r; past that it answers errFileTooLarge (and remembers it), so the
// reader of the file stops and the handler knows why. It never buffers: each Read goes to r.
type limitedBody struct {
	r    io.Reader
	left int64 // bytes still allowed
	over bool  // the caller sent more than the limit
	read int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.over {
		return 0, errFileTooLarge
	}
	// Ask for one byte past the limit, so that a body of exactly the limit reads whole and one byte more trips.
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n = int(l.left)
		l.left, l.over = 0, true
		l.read += int64(n)
		return n, errFileTooLarge
	}
	l.left -= int64(n)
	l.read += int64(n)
	return n, err
}

// fileTooLarge is the 413 of an upload over the limit.
func fileTooLarge() *Error {
	return Errorf(CodeBodyTooLarge, "the file is larger than %d bytes (%d MiB), the upload limit: split it into files", PAYAFileBytesMax, PAYAFileBytesMax>>20)
}

// uploadMediaOK reports whether ct is one of payaUploadTypes (parameters such as charset allowed). A missing
// Content-Type is refused: a client that sends JSON by mistake must hear about it.
func uploadMediaOK(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	for _, t := range payaUploadTypes {
		if mt == t {
			return true
		}
	}
	return false
}

// payaFilesPath is the upload's path.
const payaFilesPath = "/v1/paya/files"

// UploadRequestTimeout is an upload's deadline, instead of the API's RequestTimeout: its valid rows are
// accepted within the request, a thousand per writer decision, and a million-row file takes minutes
// (README "Measured figures"). The answer's write deadline follows it.
const UploadRequestTimeout = 15 * time.Minute

// UploadReadTimeout bounds reading an uploaded file: as long as the request's own deadline, since reading
// the file is most of the request's work (128 MiB in 30 s needs some 4.5 MB/s, far below a LAN's).
const UploadReadTimeout = RequestTimeoutDefault

func registerPAYAFiles(s *Server, b PAYABackend) {
	r := route{id: "upload-paya-file", method: http.MethodPost, path: payaFilesPath,
		summary: "Upload a payroll file (CSV or NACHA) as the request body: 201 accepted with its report, 200 for a dry run, 409 duplicate_file",
		tag:     "paya", access: accessBank, status: http.StatusCreated,
		alsoOK: []int{http.StatusOK, http.StatusConflict},
		errors: []int{http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}}
	fileSchema := &huma.Schema{Type: huma.TypeString, Format: "binary"}
	op := s.operation(r, false)
	op.Metadata["streamsBody"] = true
	op.Description = fmt.Sprintf("The request body is the file itself (Content-Type text/csv, text/plain or application/octet-stream; "+
		"not JSON, not multipart), at most %d bytes (%d MiB): a larger one answers 413 body_too_large, and the switch reads it as "+
		"it arrives, never holding it whole. The answer is the file with its validation report: 201 when its valid rows were accepted, "+
		"200 for a dry run (status validated; nothing stored), 409 for a file whose reference the bank used already — the body is "+
		"then the refused file, status refused, code duplicate_file and original_id the first file's id (its code and message "+
		"make it an error body too) — and 422 for a file refused as a whole (the error body: code file_refused, row the line at fault).",
		PAYAFileBytesMax, PAYAFileBytesMax>>20)
	op.RequestBody = &huma.RequestBody{Required: true, Description: "the file", Content: map[string]*huma.MediaType{}}
	for _, t := range payaUploadTypes {
		op.RequestBody.Content[t] = &huma.MediaType{Schema: fileSchema}
	}
	huma.Register(s.api, op, func(ctx context.Context, in *payaFileIn) (*struct {
		Status int
		Body   *PAYAFile
	}, error) {
		p, _ := PrincipalOf(ctx)
		if !uploadMediaOK(in.contentType) {
			return nil, FieldErrorf("Content-Type", "%q: send the file itself as %s", in.contentType, strings.Join(payaUploadTypes, ", "))
		}
		if in.ContentLength > PAYAFileBytesMax {
			return nil, fileTooLarge()
		}
		if in.body == nil {
			return nil, Errorf(CodeFileRefused, "no file: the body is empty")
		}
		req := in.PAYAFileRequest
		if req.Reference == "" && !req.DryRun {
			return nil, FieldErrorf("reference", "required: the bank's own reference for the file, which a repeat must not reuse")
		}
		if req.Format == "" {
			req.Format = FormatCSV
		}
		lb := &limitedBody{r: in.body, left: PAYAFileBytesMax}
		rc := http.NewResponseController(in.w)
		_ = rc.SetReadDeadline(time.Now().Add(UploadReadTimeout)) // the exchange's own time, not the switch's clock
		_ = rc.SetWriteDeadline(time.Now().Add(UploadRequestTimeout + 5*time.Second))
		f, created, err := b.UploadFile(ctx, p.Bank, req, lb)
		if n, _ := io.Copy(io.Discard, io.LimitReader(lb, 1)); n == 0 && !lb.over {
			// Read to its end (a reader that stopped early at a refused header leaves the rest): the
			// connection can serve the next request.
			_ = rc.SetReadDeadline(time.Time{})
		} else {
			// Not read whole: as checkBody does, let net/http's discard of the rest end at once and close the
			// connection after the answer.
			_ = rc.SetReadDeadline(time.Now())
			in.w.Header().Set("Connection", "close")
		}
		if lb.over {
			// Whatever the backend made of the cut-off read, the answer is the limit; nothing of the file
			// was accepted (the backend accepts rows only once the whole file has read).
			return nil, fileTooLarge()
		}
		if err != nil {
			return nil, s.failure(r.id, err)
		}
		status := http.StatusOK
		switch {
		case f.Status == "refused" && (f.Code == CodeDuplicateFile || f.OriginalID != ""):
			status = http.StatusConflict
			if f.Code == "" {
				f.Code = CodeDuplicateFile
			}
		case f.Status == "refused":
			status = http.StatusUnprocessableEntity
		case req.DryRun:
			status = http.StatusOK
		case created:
			status = http.StatusCreated
		}
		return &struct {
			Status int
			Body   *PAYAFile
		}{status, &f}, nil
	})
	item := s.api.OpenAPI().Paths[r.path].Post
	for _, st := range r.alsoOK {
		resp := *item.Responses[strconv.Itoa(http.StatusCreated)]
		resp.Description = http.StatusText(st)
		item.Responses[strconv.Itoa(st)] = &resp
	}

	Register(s, route{id: "get-paya-file", method: http.MethodGet, path: "/v1/paya/files/{id}", summary: "One uploaded file and its report",
		tag: "paya", access: accessBank, errors: []int{http.StatusNotFound}},
		func(ctx context.Context, p Principal, in *payaID) (*PAYAFile, error) {
			f, err := b.PAYAFile(ctx, p.Bank, in.ID)
			return &f, err
		})
	Register(s, route{id: "list-paya-file-errors", method: http.MethodGet, path: "/v1/paya/files/{id}/errors",
		summary: "An uploaded file's rejected rows, in row order", tag: "paya", access: accessBank, errors: []int{http.StatusNotFound}},
		func(ctx context.Context, p Principal, in *struct {
			ID string `path:"id" maxLength:"36"`
			PageIn
		}) (*PAYAFileErrors, error) {
			pg, err := b.PAYAFileErrors(ctx, p.Bank, in.ID, in.Cursor, in.Limit)
			return &pg, err
		})
}

func registerPAYAMandates(s *Server, b PAYABackend) {
	Register(s, route{id: "request-paya-mandate", method: http.MethodPost, path: "/v1/paya/mandates",
		summary: "A biller's bank requests a direct-debit mandate (201; a repeat of its biller reference 200 with the original)",
		tag:     "paya", access: accessBank, status: http.StatusCreated, alsoOK: []int{http.StatusOK}, errors: []int{http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct{ Body PAYAMandateRequest }) (*PAYAMandate, error) {
			m, created, err := b.RequestMandate(ctx, p.Bank, in.Body)
			if err != nil {
				return nil, err
			}
			if !created {
				SetStatus(ctx, http.StatusOK)
			}
			return &m, nil
		})
	Register(s, route{id: "get-paya-mandate", method: http.MethodGet, path: "/v1/paya/mandates/{id}", summary: "One mandate (as the biller's bank or the payer's)",
		tag: "paya", access: accessBank, errors: []int{http.StatusNotFound}},
		func(ctx context.Context, p Principal, in *payaID) (*PAYAMandate, error) {
			m, err := b.PAYAMandate(ctx, p.Bank, in.ID)
			return &m, err
		})
	Register(s, route{id: "list-paya-mandates", method: http.MethodGet, path: "/v1/paya/mandates", summary: "The caller's mandates (as biller's bank or payer's), in id order",
		tag: "paya", access: accessBank},
		func(ctx context.Context, p Principal, in *struct {
			Status string `query:"status" enum:"requested,active,revoked,expired,rejected"`
			PageIn
		}) (*PAYAMandatePage, error) {
			pg, err := b.PAYAMandates(ctx, p.Bank, in.Status, in.Cursor, in.Limit)
			return &pg, err
		})
	for _, a := range []struct{ action, summary string }{
		{"approve", "The payer's bank approves a requested mandate"},
		{"reject", "The payer's bank rejects a requested mandate"},
		{"revoke", "The payer's bank revokes an active mandate for its customer: later debits under it are rejected"},
	} {
		Register(s, route{id: a.action + "-paya-mandate", method: http.MethodPost, path: "/v1/paya/mandates/{id}/" + a.action,
			summary: a.summary, tag: "paya", access: accessBank, errors: []int{http.StatusNotFound, http.StatusConflict}},
			func(ctx context.Context, p Principal, in *struct {
				ID   string               `path:"id" maxLength:"36"`
				Body *PAYAMandateDecision `required:"false"`
			}) (*PAYAMandate, error) {
				var reason string
				if in.Body != nil {
					if err := Text("reason", in.Body.Reason, 140); err != nil {
						return nil, err
					}
					reason = in.Body.Reason
				}
				m, err := b.DecideMandate(ctx, p.Bank, in.ID, a.action, reason)
				return &m, err
			})
	}
}

// payaCycleIn is a cycle report's input.
type payaCycleIn struct {
	ID     string `path:"id" maxLength:"16" doc:"the cycle's cut-off, YYYY-MM-DDTHH:MM Tehran"`
	Format string `query:"format" enum:"json,csv" doc:"json or csv (text/csv: one record per bank); absent: by the Accept header, JSON when it prefers neither"`
}

func (in payaCycleIn) format() string { return in.Format }

// payaDeliveryIn is a delivery file's input.
type payaDeliveryIn struct {
	ID     string `path:"id" maxLength:"16" doc:"the cycle's cut-off, YYYY-MM-DDTHH:MM Tehran"`
	Format string `query:"format" enum:"nacha,csv" doc:"default nacha"`
}

func registerPAYACycles(s *Server, b PAYABackend) {
	Register(s, route{id: "list-paya-cycles", method: http.MethodGet, path: "/v1/paya/cycles",
		summary: "PAYA's cycles, newest first (a bank sees its own net only)", tag: "paya", access: accessAny},
		func(ctx context.Context, _ Principal, in *struct{ PageIn }) (*PAYACyclePage, error) {
			pg, err := b.PAYACycles(ctx, in.Cursor, in.Limit)
			return &pg, err
		})

	registerNegotiated(s, negotiated[payaCycleIn, PAYACycle]{
		route: route{id: "get-paya-cycle", method: http.MethodGet, path: "/v1/paya/cycles/{id}",
			summary: "One cycle: its nets per bank (a bank sees its own), as JSON or as the CSV cycle report",
			tag:     "paya", access: accessAny, errors: []int{http.StatusNotFound}},
		description: "?format=csv, or Accept: text/csv, answers the cycle report as CSV (" + MediaCSV + ", an attachment): a header " +
			"row, then one record per bank — net (what it sent, received and its net; positive: it paid) or excluded (left out, and why) — " +
			"each with the cycle's cut-off in Jalali and RFC 3339 (Tehran). Free text that would start a spreadsheet formula is " +
			"prefixed with a single quote. Errors are JSON whatever the format.",
		example: payaCycleCSVExample, schema: "PAYACycle",
		get: func(ctx context.Context, p Principal, in *payaCycleIn) (PAYACycle, error) {
			return b.PAYACycle(ctx, p.Bank, in.ID)
		},
		csv:      PAYACycleCSV,
		filename: func(c PAYACycle) string { return "paya-cycle-" + fileSafe(c.ID) + ".csv" },
	})

	registerPAYADelivery(s, b)

	Register(s, route{id: "run-paya-cycle", method: http.MethodPost, path: "/v1/operator/paya/cycles/run",
		summary: "Close a PAYA cycle now: net, settle, deliver; answers the cycle as it ended", tag: "operator",
		access: accessOperator, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, _ Principal, in *struct {
			Body *PAYACycleRun `required:"false"`
		}) (*PAYACycle, error) {
			var req PAYACycleRun
			if in.Body != nil {
				req = *in.Body
			}
			c, err := b.RunCycle(ctx, req)
			return &c, err
		})
}

// registerPAYADelivery adds the delivery route: the caller's delivered entries of a cycle, streamed from the
// backend into the response as it writes them.
func registerPAYADelivery(s *Server, b PAYABackend) {
	r := route{id: "paya-delivery", method: http.MethodGet, path: "/v1/paya/cycles/{id}/delivery",
		summary: "The caller's delivery file of a cycle: the entries it received, as NACHA (text/plain) or CSV",
		tag:     "paya", access: accessBank, errors: []int{http.StatusNotFound}}
	op := s.operation(r, false)
	op.Description = "An attachment named paya-CYCLE-BANK.ach (NACHA in the PAYA profile, " + MediaNACHA + ") or paya-CYCLE-BANK.csv (" +
		MediaCSV + "). 404 delivery_not_made before the cycle delivered. The file streams as the switch writes it: a failure " +
		"after the first bytes cuts the connection, so a file that arrives whole is the whole file."
	op.Responses = map[string]*huma.Response{"200": {Description: http.StatusText(http.StatusOK), Content: map[string]*huma.MediaType{
		"text/plain": {Schema: &huma.Schema{Type: huma.TypeString}},
		"text/csv":   {Schema: &huma.Schema{Type: huma.TypeString}},
	}}}
	huma.Register(s.api, op, func(ctx context.Context, in *payaDeliveryIn) (*huma.StreamResponse, error) {
		p, _ := PrincipalOf(ctx)
		format, media, ext := FormatNACHA, MediaNACHA, ".ach"
		if in.Format == FormatCSV {
			format, media, ext = FormatCSV, MediaCSV, ".csv"
		}
		name := "paya-" + fileSafe(in.ID) + "-" + fileSafe(p.Bank) + ext
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			_, w := humago.Unwrap(hctx)
			dw := &deliveryWriter{w: w, start: func() {
				w.Header().Set("Content-Type", media)
				w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
				w.WriteHeader(http.StatusOK)
			}}
			err := b.PAYADelivery(ctx, p.Bank, in.ID, format, dw)
			switch {
			case err != nil && !dw.started:
				e, _ := asError(s.failure(r.id, err))
				_ = huma.WriteErr(s.api, hctx, e.GetStatus(), "", e)
			case err != nil:
				// The status and part of the file are out: cut the connection, so the client cannot take a
				// truncated file for a whole one.
				s.log.Error("api: delivery failed after its first bytes", "operation", r.id, "cycle", in.ID, "bank", p.Bank, "err", err)
				panic(http.ErrAbortHandler)
			case !dw.started:
				dw.start() // an empty file: the headers still say what it is
			}
		}}, nil
	})
}

// deliveryWriter sends the response's headers on the first write, so that an error before any byte can
// still be an error answer.
type deliveryWriter struct {
	w       io.Writer
	start   func()
	started bool
}

func (d *deliveryWriter) Write(p []byte) (int, error) {
	if !d.started {
		d.started = true
		d.start()
	}
	return d.w.Write(p)
}

// fileSafe is s with every character outside [0-9A-Za-z-_] dropped, for a file name (a cycle id's ':').
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return -1
	}, s)
}

// PAYACycleCSV is c as the CSV cycle report (payaCycleCSVColumns): a header row, one "net" record per bank
// net in c's order, then one "excluded" record per bank left out. Bank codes and reasons pass through csvText
// against formula injection.
func PAYACycleCSV(c PAYACycle) ([]byte, error) {
	var buf strings.Builder
	w := csv.NewWriter(&buf)
	w.UseCRLF = true // RFC 4180
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	jalali, cut := c.Jalali, ""
	if !c.CutOff.IsZero() {
		jalali, cut = jalaliMinute(c.CutOff), c.CutOff.In(calendar.Tehran).Format(time.RFC3339)
	}
	head := func(record, bank string) []string {
		return []string{record, csvText(c.ID), csvText(jalali), cut, csvText(c.Status), csvText(bank)}
	}
	_ = w.Write(payaCycleCSVColumns)
	for _, x := range c.Nets {
		_ = w.Write(append(head("net", x.Bank), strconv.Itoa(x.SentEntries), n(x.SentRial), strconv.Itoa(x.RecvEntries),
			n(x.RecvRial), n(x.NetRial), strconv.Itoa(x.Posted), strconv.Itoa(x.Returned), strconv.Itoa(x.Awaiting), ""))
	}
	for _, x := range c.Excluded {
		_ = w.Write(append(head("excluded", x.Bank), "", "", "", "", "", "", "", "", csvText(x.Reason)))
	}
	w.Flush()
	return []byte(buf.String()), w.Error()
}
