package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Error is the one error body of the API. Code is stable snake_case; Message is for people; Field names the
// request field at fault (a JSON name, or a query or path parameter), empty when none.
type Error struct {
	Code    string `json:"code" doc:"stable snake_case code; see the README's table"`
	Message string `json:"message" doc:"what went wrong, for people"`
	Field   string `json:"field,omitempty" doc:"the request field at fault, when one is"`
	// Reason, Position and Row say more where a rail's validation does: PAYA's rejection code of an entry
	// (sheba_invalid, amount_at_or_over_cap, …), the 1-based character in the field, the file's line.
	Reason   string `json:"reason,omitempty" doc:"the rail's own code, e.g. PAYA's entry rejection code"`
	Position int    `json:"position,omitempty" doc:"1-based character position of the fault within the field"`
	Row      int    `json:"row,omitempty" doc:"1-based line of the file at fault (the header is line 1)"`
	// Original names the object a refused duplicate repeats (a PAYA file sent again under its reference).
	Original string `json:"original_id,omitempty" doc:"the original's id, for a refused duplicate"`
	status   int
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Code + ": " + e.Field + ": " + e.Message
	}
	return e.Code + ": " + e.Message
}

// GetStatus implements huma.StatusError: the status comes from the code, through statuses.
func (e *Error) GetStatus() int {
	if e.status != 0 {
		return e.status
	}
	return Status(e.Code)
}

// Codes of the platform; rails add theirs to statuses as they land.
const (
	CodeUnauthorized      = "unauthorized"         // no key, or a key tasvieh does not know
	CodeForbidden         = "forbidden"            // a key whose role may not call this route
	CodeNotFound          = "not_found"            // no such object, or not the caller's
	CodeInvalid           = "invalid_request"      // the request breaks a rule knowable from it alone
	CodeBodyTooLarge      = "body_too_large"       // the body exceeds the route's limit
	CodeConflict          = "conflict"             // the same reference with different fields, or a state that forbids it
	CodeClockBackwards    = "clock_backwards"      // the simulated clock never moves backwards
	CodeClockMode         = "clock_mode"           // the clock is not in the mode the request needs
	CodeOutcomeUnknown    = "outcome_unknown"      // a write whose outcome is unknown: retry with the same reference
	CodeUnavailable       = "unavailable"          // the switch cannot serve the request now (starting, stopping)
	CodeTimeout           = "timeout"              // the request's deadline passed before an answer
	CodeInternal          = "internal"             // a bug or an unexpected failure; details are in the server log
	CodeMethodNotAllowed  = "method_not_allowed"   // the path exists with another method
	CodeBankInactive      = "bank_inactive"        // a merged or dissolved bank, which cannot be suspended or simulated
	CodeBankNotSimulated  = "bank_not_simulated"   // the bank is external (under test) and has no book here
	CodeInsufficientFunds = "insufficient_balance" // a withdrawal beyond the settlement balance
)

// statuses is the one table from codes to HTTP statuses. A code missing here is a bug (Status answers 500).
var statuses = map[string]int{
	CodeUnauthorized:      http.StatusUnauthorized,
	CodeForbidden:         http.StatusForbidden,
	CodeNotFound:          http.StatusNotFound,
	CodeInvalid:           http.StatusUnprocessableEntity,
	CodeBodyTooLarge:      http.StatusRequestEntityTooLarge,
	CodeConflict:          http.StatusConflict,
	CodeClockBackwards:    http.StatusConflict,
	CodeClockMode:         http.StatusConflict,
	CodeOutcomeUnknown:    http.StatusServiceUnavailable,
	CodeUnavailable:       http.StatusServiceUnavailable,
	CodeTimeout:           http.StatusGatewayTimeout,
	CodeInternal:          http.StatusInternalServerError,
	CodeMethodNotAllowed:  http.StatusMethodNotAllowed,
	CodeBankInactive:      http.StatusConflict,
	CodeBankNotSimulated:  http.StatusConflict,
	CodeInsufficientFunds: http.StatusConflict,
}

// Status returns the HTTP status of a code.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Codes returns the table of codes and statuses, for the README and the tests.
func Codes() map[string]int {
	out := make(map[string]int, len(statuses))
	for k, v := range statuses {
		out[k] = v
	}
	return out
}

// Errorf makes an Error with a code from the table.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf makes an invalid_request Error naming its field.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// WithField returns a copy of e naming field.
func (e *Error) WithField(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// asError turns whatever a backend returned into the error body: an *Error as it is; a deadline into
// timeout; anything else into internal, whose detail goes to the log and never to the caller.
func asError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Errorf(CodeTimeout, "the request's deadline passed before an answer"), true
	}
	return nil, false
}

// hugaError is huma's error constructor set to ours: its schema validation errors become invalid_request
// naming the first field at fault; its other statuses map to the matching code.
func humaError(status int, msg string, errs ...error) huma.StatusError {
	for _, err := range errs {
		if e, ok := asError(err); ok {
			return e
		}
	}
	e := &Error{Message: msg, status: status}
	switch status {
	case http.StatusUnauthorized:
		e.Code = CodeUnauthorized
	case http.StatusForbidden:
		e.Code = CodeForbidden
	case http.StatusNotFound:
		e.Code = CodeNotFound
	case http.StatusRequestEntityTooLarge:
		e.Code = CodeBodyTooLarge
	case http.StatusConflict:
		e.Code = CodeConflict
	case http.StatusMethodNotAllowed:
		e.Code = CodeMethodNotAllowed
	case http.StatusServiceUnavailable:
		e.Code = CodeUnavailable
	case http.StatusGatewayTimeout:
		e.Code = CodeTimeout
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		e.Code, e.status = CodeInvalid, http.StatusUnprocessableEntity
	default:
		if status >= 500 {
			e.Code = CodeInternal
		} else {
			e.Code, e.status = CodeInvalid, http.StatusUnprocessableEntity
		}
	}
	for _, err := range errs {
		var d *huma.ErrorDetail
		if errors.As(err, &d) && d != nil {
			e.Field = fieldOf(d.Location)
			if d.Message != "" {
				e.Message = d.Message
				if e.Field != "" {
					e.Message = fmt.Sprintf("%s: %s", e.Field, d.Message)
				}
			}
			break
		}
		if err != nil && e.Code == CodeInvalid {
			e.Message = err.Error()
			break
		}
	}
	if e.Code == CodeInternal {
		e.Message = "internal error; the server log has the details"
	}
	return e
}

// fieldOf turns huma's location ("body.amount_rial", "query.limit", "path.code") into the field name.
func fieldOf(loc string) string {
	for _, p := range []string{"body.", "query.", "path.", "header."} {
		if strings.HasPrefix(loc, p) {
			return loc[len(p):]
		}
	}
	if loc == "body" {
		return ""
	}
	return loc
}

// AddCode registers a rail's code with its status, at init: a rail's validation codes (SATNA's
// below_minimum, payee_sheba_invalid, …) answer 422 with their own names, so a client sees what the rail said.
func AddCode(code string, status int) {
	if old, ok := statuses[code]; ok && old != status {
		panic("api: code " + code + " registered with two statuses")
	}
	statuses[code] = status
}
