package server

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/tasvieh/tasvieh/ach"
	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/outbox"
	"github.com/tasvieh/tasvieh/postgres"
)

// Payroll files (issue 9 item 5). An upload is spooled to a temporary file first (at most
// api.PAYAFileBytesMax bytes), then read twice, streaming: the first pass validates every row and the file as
// a whole (its header, its NACHA control totals, which come at its end) and finds the references the file
// repeats; only a file that reads whole goes on to the second pass, which builds the report — every row
// refused with its reason, a repeated reference on its later rows, a reference already stored — and, unless
// it is a dry run, accepts the valid rows a chunk at a time (payaChunk entries per writer decision), each row
// the originator's book refuses reported with the rest. So a file that cannot be read moves nothing, a dry run
// reports what the upload would (save the book's say: funds, accounts), and memory holds one chunk plus 16
// bytes a valid row to find repeats (16 MiB at the CSV reader's limit of a million rows), whatever the file's
// size in bytes.
//
// A file is idempotent per (bank, reference): its id is derived from them, a second upload of a file stored
// is refused with the original's id, and an upload that stopped half-way (a crash) is completed by repeating
// it — the rows its chunks committed are found by their ids and counted, not accepted twice.

// kindPAYAFileErrors holds a file's row errors, payaErrorsPerRow a row.
const (
	kindPAYAFileErrors = "paya.file.errors"
	payaErrorsPerRow   = 100
)

// fileRecord is a file's row.
type fileRecord struct {
	api.PAYAFile
	Originator ach.Originator `json:"originator"`
	ErrorRows  int            `json:"error_rows"` // rows of kind paya.file.errors
}

// payaRow is one row of a file as the passes see it: read and validated, or rejected.
type payaRow struct {
	line int
	row  ach.Row // for the report: the line, the amount
	dec  ach.Decision
	err  *ach.RowError
}

// readFile reads a spooled file row by row, calling each; a file-level fault is returned as it is.
func readFile(f *os.File, format string, o ach.Originator, env ach.Env, each func(payaRow) error) (blank int, err error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	if format == "nacha" {
		_, err := ach.ReadNACHA(f, ach.NACHAReadOptions{Directory: env.Banks}, func(e ach.NACHAEntry) error {
			r := payaRow{line: e.Line, row: ach.Row{Line: e.Line, SHEBA: e.SHEBA, AmountRial: e.AmountRial, Name: e.Name, Reference: e.Reference}}
			if e.Problem != nil {
				r.err = &ach.RowError{Row: e.Line, Line: e.Line, Field: e.Problem.Field, Code: ach.CodeSHEBAInvalid, Message: e.Problem.Error()}
				if c, ok := nachaProblemCode(e.Problem); ok {
					r.err.Code = c
				}
				return each(r)
			}
			ent := ach.Entry{Core: ach.CoreCredit, OriginatingBank: o.Bank, PayerSHEBA: o.SHEBA, PayerName: o.Name,
				PayeeSHEBA: e.SHEBA, PayeeName: e.Name, AmountRial: e.AmountRial, Reference: e.Reference}
			if e.Debit {
				ent.Core, ent.PayerSHEBA, ent.PayerName, ent.PayeeSHEBA, ent.PayeeName = ach.CoreDebit, e.SHEBA, e.Name, o.SHEBA, o.Name
			}
			if e.OriginBank != "" && e.OriginBank != o.Bank {
				r.err = &ach.RowError{Row: e.Line, Line: e.Line, Field: "odfi", Code: ach.CodeOriginatingBankMismatch,
					Message: fmt.Sprintf("the batch's originating bank is %s, not the caller %s", e.OriginBank, o.Bank)}
				return each(r)
			}
			d, rej, err := ach.Validate(ent, env)
			if err != nil {
				return err
			}
			if rej != nil {
				r.err = &ach.RowError{Row: e.Line, Line: e.Line, Field: rej.Field, Code: rej.Code, Message: rej.Message, Hint: rej.Hint}
			} else {
				r.dec = d
			}
			return each(r)
		})
		return 0, err
	}
	cr, err := ach.NewCSVReader(f, ach.CSVOptions{})
	if err != nil {
		return 0, err
	}
	for {
		row, err := cr.Next()
		var rowErr *ach.RowError
		switch {
		case err == io.EOF:
			return cr.Blank(), nil
		case errors.As(err, &rowErr):
			if err := each(payaRow{line: row.Line, row: row, err: rowErr}); err != nil {
				return cr.Blank(), err
			}
			continue
		case err != nil:
			return cr.Blank(), err
		}
		r := payaRow{line: row.Line, row: row}
		d, rej, err := ach.Validate(row.Entry(o), env)
		if err != nil {
			return cr.Blank(), err
		}
		if rej != nil {
			r.err = cr.Reject(row, rej)
		} else {
			r.dec = d
		}
		if err := each(r); err != nil {
			return cr.Blank(), err
		}
	}
}

// repeat is a row whose reference hashes as an earlier row's: first is the group's first line.
type repeat struct {
	hash  uint64
	first int
}

// repeatedRefs is the first pass: it reads the whole file (a file-level fault is returned) and answers the
// lines of every row whose entry id's hash appears on more than one valid row, with the group's first line.
// It keeps 16 bytes a valid row: the hash and the line.
func repeatedRefs(f *os.File, format, bank string, o ach.Originator, env ach.Env) (map[int]repeat, error) {
	type key struct {
		hash uint64
		line int
	}
	var keys []key
	_, err := readFile(f, format, o, env, func(r payaRow) error {
		if r.err == nil {
			id := ids.Derive("tasvieh.paya.entry", bank, r.dec.Entry.Reference)
			keys = append(keys, key{binary.BigEndian.Uint64(id[:8]), r.line})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(a.line, b.line)
	})
	out := map[int]repeat{}
	for i := 1; i < len(keys); i++ {
		if keys[i].hash != keys[i-1].hash {
			continue
		}
		j := i - 1
		for j > 0 && keys[j-1].hash == keys[i].hash {
			j--
		}
		g := repeat{keys[i].hash, keys[j].line}
		out[keys[j].line], out[keys[i].line] = g, g
	}
	return out, nil
}

// nachaProblemCode maps a NACHA entry's problem to the entry code it is closest to.
func nachaProblemCode(p *ach.NACHAProblem) (ach.Code, bool) {
	switch p.Code {
	case ach.NACHAAmountZero:
		return ach.CodeAmountNotPositive, true
	case ach.NACHAName:
		return ach.CodeNameInvalid, true
	}
	return ach.CodeSHEBAInvalid, true
}

// refused is a file that cannot be read as a whole.
func refused(f api.PAYAFile, err error) (api.PAYAFile, error) {
	f.Status, f.Code, f.Message = "refused", api.CodeFileRefused, err.Error()
	var fe *ach.FileError
	var ne *ach.NACHAError
	e := api.Errorf(api.CodeFileRefused, "%v", err)
	switch {
	case errors.As(err, &fe):
		e.Row = fe.Line
	case errors.As(err, &ne):
		e.Row = ne.Line
	}
	return f, e
}

func (b backend) UploadFile(ctx context.Context, bank string, req api.PAYAFileRequest, body io.Reader) (api.PAYAFile, bool, error) {
	s, p := b.s, b.s.paya
	format := req.Format
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "nacha" {
		return api.PAYAFile{}, false, api.FieldErrorf("format", "format %q: want csv or nacha", req.Format)
	}
	if req.Reference == "" && !req.DryRun {
		return api.PAYAFile{}, false, api.FieldErrorf("reference", "an upload needs the bank's reference for the file")
	}
	now := s.nowTehran()
	env, err := s.payaEnv(now)
	if err != nil {
		return api.PAYAFile{}, false, err
	}
	o := ach.Originator{Bank: bank, SHEBA: req.PayerSHEBA, Name: req.PayerName}
	file := api.PAYAFile{Bank: bank, Reference: req.Reference, Format: format, CreatedAt: now}
	if rej, err := ach.CheckOriginator(ach.CoreCredit, o, env); err != nil {
		return file, false, err
	} else if rej != nil {
		e := rejectionError(rej)
		e.Field = map[string]string{ach.FieldPayerSHEBA: "payer_sheba", ach.FieldPayerName: "payer_name"}[rej.Field]
		return file, false, e
	}
	id := fileID(bank, req.Reference)
	if !req.DryRun {
		release, err := p.files.claim(ctx, id)
		if err != nil {
			return file, false, api.Errorf(api.CodeTimeout, "waiting for an upload of the same reference")
		}
		defer release()
		if old, found, err := p.fileRow(ctx, id); err != nil {
			return file, false, err
		} else if found {
			file.Status, file.Code, file.OriginalID = "refused", api.CodeDuplicateFile, old.ID
			file.Message = fmt.Sprintf("bank %s already sent file %s with reference %q on %s", bank, old.ID, req.Reference, old.CreatedAt.Format("2006-01-02 15:04"))
			return file, false, nil
		}
	}

	// Spool: the body once, to disk, bounded.
	tmp, err := os.CreateTemp(s.cfg.Home, "paya-upload-*")
	if err != nil {
		return file, false, err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	n, err := io.Copy(tmp, io.LimitReader(body, api.PAYAFileBytesMax+1))
	if err != nil {
		return file, false, api.Errorf(api.CodeInvalid, "reading the file: %v", err)
	}
	if n > api.PAYAFileBytesMax {
		return file, false, api.Errorf(api.CodeBodyTooLarge, "the file is larger than %d bytes: split it", api.PAYAFileBytesMax)
	}

	// Pass 1: the whole file read and validated, its repeated references found.
	dups, err := repeatedRefs(tmp, format, bank, o, env)
	if err != nil {
		f, e := refused(file, err)
		return f, false, e
	}

	// Pass 2: the report, and unless a dry run the valid rows accepted, a chunk at a time. A dry run and an
	// upload report the same rows refused, save what only the originator's book can say (its funds).
	if !req.DryRun {
		file.ID = id
	}
	rep2 := ach.NewReport(env.Profile.Name)
	var errs []ach.RowError
	errRows := 0
	flushErrs := func(final bool) error {
		if req.DryRun {
			errs = errs[:0]
			return nil
		}
		var rows []postgres.Row
		for len(errs) >= payaErrorsPerRow || (final && len(errs) > 0) {
			k := min(len(errs), payaErrorsPerRow)
			rows = append(rows, postgres.Row{Kind: kindPAYAFileErrors, ID: id + ":" + fmt.Sprintf("%06d", errRows), Status: "stored", Body: mustJSON(errs[:k])})
			errs = errs[k:]
			errRows++
		}
		for len(rows) > 0 {
			k := min(len(rows), postgres.NoticesMax)
			if err := postgres.Notice(ctx, s.pool, s.clk.Now(), rows[:k], nil); err != nil {
				return err
			}
			rows = rows[k:]
		}
		return nil
	}
	reject := func(row ach.Row, e *ach.RowError) {
		rep2.Reject(row, e)
		errs = append(errs, *e)
	}
	var chunk []*payaIn
	var chunkRows []ach.Row
	var cycle string
	flush := func() error {
		if len(chunk) == 0 {
			return flushErrs(false)
		}
		keys := make([]string, len(chunk))
		for i, in := range chunk {
			keys[i] = in.rec.ID
		}
		release, err := p.intakes.claim(ctx, bank)
		if err != nil {
			return err
		}
		defer release()
		found, err := postgres.PAYAEntriesByID(ctx, s.pool, keys)
		if err != nil {
			return err
		}
		var fresh []*payaIn
		var freshRows []ach.Row
		for i, in := range chunk {
			if old, ok := found[in.rec.ID]; ok {
				r, err := payaFromRow(old)
				if err != nil {
					return err
				}
				if !req.DryRun && r.FileID == id && r.Row == in.rec.Row && sameEntry(r, in.rec) { // committed by an earlier run of this upload
					if err := rep2.Accept(chunkRows[i].Line, decisionOf(r)); err != nil {
						return err
					}
					continue
				}
				reject(chunkRows[i], &ach.RowError{Row: in.rec.Row, Line: in.rec.Row, Field: ach.ColumnReference, Code: ach.CodeReferenceReused,
					Message: fmt.Sprintf("reference %q is entry %s already", in.rec.Reference, in.rec.ID)})
				continue
			}
			fresh = append(fresh, in)
			freshRows = append(freshRows, chunkRows[i])
		}
		chunk, chunkRows = chunk[:0], chunkRows[:0]
		if len(fresh) == 0 {
			return flushErrs(false)
		}
		if !req.DryRun {
			c, err := p.intake(ctx, fresh, nil)
			if err != nil {
				return err
			}
			cycle = c
		}
		for i, in := range fresh {
			if in.rej != nil {
				reject(freshRows[i], &ach.RowError{Row: in.rec.Row, Line: in.rec.Row, Field: columnOf(in.rej.Field), Code: in.rej.Code, Message: in.rej.Message})
				continue
			}
			if err := rep2.Accept(freshRows[i].Line, decisionOf(in.rec)); err != nil {
				return err
			}
		}
		return flushErrs(false)
	}
	firsts := map[uint64]string{} // the references of the first rows of repeated groups, by hash
	blank, err := readFile(tmp, format, o, env, func(r payaRow) error {
		if r.err != nil {
			reject(r.row, r.err)
			return nil
		}
		rec := newRecord(r.dec, payaEntryID(bank, r.dec.Entry.Reference), id, r.line)
		if g, ok := dups[r.line]; ok {
			if g.first == r.line {
				firsts[g.hash] = rec.Reference
			} else if firsts[g.hash] == rec.Reference { // not merely the same hash
				reject(r.row, &ach.RowError{Row: r.line, Line: r.line, Field: ach.ColumnReference, Code: ach.CodeReferenceReused,
					Message: fmt.Sprintf("reference %q is also on line %d", rec.Reference, g.first)})
				return nil
			}
		}
		chunk = append(chunk, &payaIn{rec: rec})
		chunkRows = append(chunkRows, r.row)
		if len(chunk) == payaChunk {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = flushErrs(true)
	}
	if err != nil {
		return file, false, storeErr(err)
	}
	if req.DryRun {
		rep2.BlankRows = blank
		file.Status, file.Report = "validated", rep2
		return file, true, nil
	}
	rep2.BlankRows = blank
	file.Status, file.Report, file.Cycle = "accepted", rep2, cycle
	rec := fileRecord{PAYAFile: file, Originator: o, ErrorRows: errRows}
	stored := rec
	summary := *rep2
	summary.Errors, summary.OverCap = []ach.RowError{}, []ach.OverCapRow{} // in their own rows: a row's body is bounded
	stored.Report = &summary
	row := postgres.Row{Kind: kindPAYAFile, ID: id, Status: file.Status, Body: mustJSON(stored)}
	ev := notification(bank, "paya.file.accepted", now, map[string]any{"file_id": id, "reference": req.Reference,
		"accepted": rep2.Accepted, "rejected": rep2.Rejected, "accepted_rial": rep2.AcceptedRial, "cycle": cycle}, id)
	if err := postgres.Notice(ctx, s.pool, s.clk.Now(), []postgres.Row{row}, []outbox.Event{ev}); err != nil {
		return file, false, err
	}
	return file, true, nil
}

// decisionOf is an accepted entry's decision, for the report.
func decisionOf(r payaRecord) ach.Decision {
	core, _ := ach.ParseCore(r.Core)
	return ach.Decision{Entry: ach.Entry{Core: core, AmountRial: r.AmountRial}, ReceivingBank: r.ReceivingBank, FeeRial: r.FeeRial}
}

// columnOf is the CSV column of an entry field a book check names.
func columnOf(field string) string {
	switch field {
	case ach.FieldAmount:
		return ach.ColumnAmount
	case ach.FieldPayeeSHEBA:
		return ach.ColumnSHEBA
	}
	return field
}

// fileRow reads a file's row.
func (p *paya) fileRow(ctx context.Context, id string) (fileRecord, bool, error) {
	var rec fileRecord
	row, found, err := p.s.store.RailObject(ctx, kindPAYAFile, id)
	if err != nil || !found {
		return rec, found, err
	}
	if err := json.Unmarshal(row.Body, &rec); err != nil {
		return rec, true, fmt.Errorf("server: %s %s: %w", kindPAYAFile, id, err)
	}
	return rec, true, nil
}

func (b backend) PAYAFile(ctx context.Context, bank, id string) (api.PAYAFile, error) {
	rec, found, err := b.s.paya.fileRow(ctx, id)
	if err != nil {
		return api.PAYAFile{}, err
	}
	if !found || rec.Bank != bank {
		return api.PAYAFile{}, api.Errorf(api.CodeNotFound, "no file %s", id)
	}
	// The first errors, as the upload answered them; the rest page through /errors.
	pg, err := b.PAYAFileErrors(ctx, bank, id, "", ach.ReportErrorsMax)
	if err != nil {
		return api.PAYAFile{}, err
	}
	rec.Report.Errors = pg.Errors
	return rec.PAYAFile, nil
}

func (b backend) PAYAFileErrors(ctx context.Context, bank, id, cursor string, limit int) (api.PAYAFileErrors, error) {
	rec, found, err := b.s.paya.fileRow(ctx, id)
	if err != nil {
		return api.PAYAFileErrors{}, err
	}
	if !found || rec.Bank != bank {
		return api.PAYAFileErrors{}, api.Errorf(api.CodeNotFound, "no file %s", id)
	}
	if limit <= 0 || limit > api.PageMax {
		limit = api.PageDefault
	}
	start := 0 // the cursor is the index of the next error
	if cursor != "" {
		if start, err = strconv.Atoi(cursor); err != nil || start < 0 {
			return api.PAYAFileErrors{}, api.FieldErrorf("cursor", "cursor %q is not one this server made", cursor)
		}
	}
	out := api.PAYAFileErrors{Errors: []ach.RowError{}}
	for k := start / payaErrorsPerRow; k < rec.ErrorRows && len(out.Errors) < limit; k++ {
		row, found, err := b.s.store.RailObject(ctx, kindPAYAFileErrors, id+":"+fmt.Sprintf("%06d", k))
		if err != nil {
			return out, err
		}
		if !found {
			return out, fmt.Errorf("server: file %s: its errors row %d is missing", id, k)
		}
		var es []ach.RowError
		if err := json.Unmarshal(row.Body, &es); err != nil {
			return out, err
		}
		for i, e := range es {
			if n := k*payaErrorsPerRow + i; n >= start && len(out.Errors) < limit {
				out.Errors = append(out.Errors, e)
				if len(out.Errors) == limit && (n+1 < rec.Report.Rejected) {
					out.NextCursor = strconv.Itoa(n + 1)
				}
			}
		}
	}
	return out, nil
}
