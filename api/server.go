package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// Limits of every request.
const (
	// BodyBytesMax bounds a JSON request body: the largest body of this routes is a webhook URL
	// (2 KiB); 64 KiB leaves room for the rails' single orders. Files (PAYA) get their own, larger limit.
	BodyBytesMax = 64 << 10
	// RequestTimeoutDefault is each request's deadline: twice the store's write deadline (10 s), so a write
	// that hits its own deadline answers outcome_unknown before the request's runs out.
	RequestTimeoutDefault = 30 * time.Second
	// PageMax bounds a page of any list: the store's own page bound (postgres.PageTransfersMax).
	PageMax = 1000
	// PageDefault is a page's size when the caller does not say.
	PageDefault = 100
	// CursorLenMax bounds a cursor: cursors are short opaque strings the server made.
	CursorLenMax = 128
)

// Config is what the API needs from the wiring.
type Config struct {
	// Backend serves every route.
	Backend Backend
	// Keys maps each bearer key to its principal. The map is not kept: the server keeps SHA-256 digests only.
	Keys map[string]Principal
	// URL is the server's own base URL, declared in the OpenAPI document.
	URL string
	// Version is tasvieh's version, in the OpenAPI document.
	Version string
	// RequestTimeout is each request's deadline; default RequestTimeoutDefault.
	RequestTimeout time.Duration
	// Log receives internal errors (never shown to callers).
	Log *slog.Logger
	// Classify may turn an operational error the backend returned (a lost database connection, say) into an
	// API error such as unavailable; nil, or a nil answer, leaves it internal.
	Classify func(error) *Error
}

// Server is the HTTP handler of the API.
type Server struct {
	cfg  Config
	mux  *http.ServeMux
	api  huma.API
	keys map[[32]byte]Principal
	log  *slog.Logger
}

var _ http.Handler = (*Server)(nil)

func init() {
	// huma builds every error it produces (validation, body limits, unknown content types) through this one
	// package variable; ours makes them the API's error body.
	huma.NewError = humaError
}

// New builds the API with every route of the platform.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, fmt.Errorf("api: no backend")
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = RequestTimeoutDefault
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), keys: make(map[[32]byte]Principal, len(cfg.Keys)), log: cfg.Log}
	for k, p := range cfg.Keys {
		if len(k) < 16 {
			return nil, fmt.Errorf("api: a key shorter than 16 characters")
		}
		s.keys[sha256.Sum256([]byte(k))] = p
	}
	hc := huma.DefaultConfig("tasvieh", cfg.Version)
	hc.CreateHooks = nil // no $schema links in bodies: responses are exactly the documented types
	hc.OpenAPIPath = "/openapi"
	hc.Info.Description = "The clearing switch of Iran's payment rails, simulated: SATNA, PAYA, SHAHAB. " +
		"Authenticate with Authorization: Bearer KEY (keys.json)."
	if cfg.URL != "" {
		hc.Servers = []*huma.Server{{URL: cfg.URL}}
	}
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "a member bank's key, or the operator's"},
	}
	s.api = humago.New(s.mux, hc)
	s.api.UseMiddleware(s.authenticate, s.checkBody, s.keepAccept)
	s.mux.HandleFunc("/", s.notFound)
	registerPlatform(s)
	return s, nil
}

// API returns the huma API, for the rails' routes and for tests.
func (s *Server) API() huma.API { return s.api }

// OpenAPI returns the generated document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// ServeHTTP serves a request under its deadline.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	timeout := s.cfg.RequestTimeout
	if r.Method == http.MethodPost && r.URL.Path == payaFilesPath {
		timeout = max(timeout, UploadRequestTimeout) // a file's rows are accepted within its request
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	s.mux.ServeHTTP(w, r.WithContext(ctx))
}

// BodyReadTimeout bounds reading a request's body: huma's own default, kept because the body is read here.
const BodyReadTimeout = 5 * time.Second

// checkBody reads an operation's JSON body, after routing and authentication (so a caller without a key gets
// 401 whatever it sends), under a read deadline and the size limit, and refuses it unless it is valid UTF-8:
// encoding/json would turn each invalid byte into U+FFFD silently, so two different references would become
// one idempotency key.
func (s *Server) checkBody(ctx huma.Context, next func(huma.Context)) {
	r, w := humago.Unwrap(ctx)
	// A route that streams its body (a PAYA file) reads it itself, under its own limit.
	streams, _ := ctx.Operation().Metadata["streamsBody"].(bool)
	if streams || ctx.Operation().RequestBody == nil || r.Body == nil || r.ContentLength == 0 {
		next(ctx)
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(BodyReadTimeout)) // the exchange's own time, not the switch's clock
	b, err := io.ReadAll(io.LimitReader(r.Body, BodyBytesMax+1))
	if err == nil && len(b) <= BodyBytesMax {
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	} else {
		// The body was not read whole: net/http discards what is left before it answers, so the deadline
		// stays (past, now) for that discard to end at once, and the connection closes after the answer. Cleared,
		// a withheld or trickled body would hold the answer and the connection for ever.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		w.Header().Set("Connection", "close")
	}
	switch {
	case err != nil:
		_ = huma.WriteErr(s.api, ctx, http.StatusUnprocessableEntity, "", Errorf(CodeInvalid, "the body could not be read in time"))
		return
	case len(b) > BodyBytesMax:
		_ = huma.WriteErr(s.api, ctx, http.StatusRequestEntityTooLarge, "", Errorf(CodeBodyTooLarge, "the body is larger than %d bytes", BodyBytesMax))
		return
	}
	if at := invalidUTF8(b); at >= 0 {
		_ = huma.WriteErr(s.api, ctx, http.StatusUnprocessableEntity, "", Errorf(CodeInvalid, "the body is not valid UTF-8 at byte %d", at))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	next(ctx)
}

// invalidUTF8 is the offset of the first byte that is not valid UTF-8, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// methods the router knows, to tell "no such route" from "not with this method".
var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// notFound answers a request no route matched: 405 when the path exists with another method, else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, Errorf(CodeMethodNotAllowed, "%s %s: not with this method (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	writeError(w, Errorf(CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
}

// Text checks a free-text field (a reference, a name): at most max bytes, and no control characters and no
// U+FFFD (what an invalid byte became), so that what is stored is what the caller meant.
func Text(field, v string, max int) error {
	if len(v) > max {
		return FieldErrorf(field, "%d bytes, more than %d", len(v), max)
	}
	for i, r := range v {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return FieldErrorf(field, "character %U at byte %d is not allowed", r, i)
		}
	}
	return nil
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.GetStatus())
	_ = json.NewEncoder(w).Encode(e)
}

// access says who may call a route.
type access int

const (
	accessPublic   access = iota // no key
	accessAny                    // any valid key
	accessBank                   // a bank key only (the route is about the caller's own objects)
	accessOperator               // the operator's key only
)

type principalKey struct{}

// PrincipalOf returns the caller of a request, set by authentication.
func PrincipalOf(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// authenticate enforces each operation's access before its handler (and before its body is read).
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	a, _ := ctx.Operation().Metadata["access"].(access)
	if a == accessPublic {
		next(ctx)
		return
	}
	h := ctx.Header("Authorization")
	scheme, key, ok := strings.Cut(strings.TrimSpace(h), " ")
	ok = ok && strings.EqualFold(scheme, "Bearer") // auth schemes are case-insensitive (RFC 9110 §11.1)
	p, known := s.keys[sha256.Sum256([]byte(strings.TrimSpace(key)))]
	if !ok || !known {
		_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "a valid key is required: Authorization: Bearer KEY",
			Errorf(CodeUnauthorized, "a valid key is required: Authorization: Bearer KEY"))
		return
	}
	switch {
	case a == accessOperator && p.Role != RoleOperator:
		_ = huma.WriteErr(s.api, ctx, http.StatusForbidden, "", Errorf(CodeForbidden, "this route is the operator's"))
		return
	case a == accessBank && p.Role != RoleBank:
		_ = huma.WriteErr(s.api, ctx, http.StatusForbidden, "", Errorf(CodeForbidden, "this route is a member bank's: use a bank key"))
		return
	}
	next(huma.WithValue(ctx, principalKey{}, p))
}

// route describes one operation.
type route struct {
	id, method, path, summary, tag string
	access                         access
	errors                         []int // statuses beyond those every route of its access can give
	status                         int   // success status; default 200
	alsoOK                         []int // other success statuses the handler may choose (SetStatus), same body
}

type statusKey struct{}

// SetStatus makes a handler's success answer status instead of its route's default (a repeat of a create
// answers 200 where the create answers 201). The route must list it in alsoOK, so the document declares it.
func SetStatus(ctx context.Context, status int) {
	if p, ok := ctx.Value(statusKey{}).(*int); ok {
		*p = status
	}
}

// Register adds an operation whose handler receives the caller and the input and returns the body.
// Every error the handler returns is turned into the error body; anything not an *Error is logged and
// answered as internal.
func Register[I, O any](s *Server, r route, h func(ctx context.Context, p Principal, in *I) (*O, error)) {
	_, body := reflect.TypeFor[I]().FieldByName("Body")
	op := s.operation(r, body)
	success := op.DefaultStatus
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*struct {
		Status int
		Body   *O
	}, error) {
		p, _ := PrincipalOf(ctx)
		status := success
		ctx = context.WithValue(ctx, statusKey{}, &status)
		out, err := h(ctx, p, in)
		if err != nil {
			return nil, s.failure(r.id, err)
		}
		return &struct {
			Status int
			Body   *O
		}{status, out}, nil
	})
	if len(r.alsoOK) > 0 {
		item := s.api.OpenAPI().Paths[r.path]
		var o *huma.Operation
		switch r.method {
		case http.MethodPost:
			o = item.Post
		case http.MethodPut:
			o = item.Put
		}
		for _, st := range r.alsoOK {
			resp := *o.Responses[strconv.Itoa(success)]
			resp.Description = http.StatusText(st)
			o.Responses[strconv.Itoa(st)] = &resp
		}
	}
}

// operation is r as huma's operation: its access, and the error statuses every route of that access can give
// (and, when the input has a body, those of reading one).
func (s *Server) operation(r route, body bool) huma.Operation {
	errs := append([]int(nil), r.errors...)
	if r.access != accessPublic {
		errs = append(errs, http.StatusUnauthorized, http.StatusServiceUnavailable, http.StatusGatewayTimeout)
	}
	if r.access == accessOperator || r.access == accessBank {
		errs = append(errs, http.StatusForbidden)
	}
	if body {
		errs = append(errs, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
	}
	success := r.status
	if success == 0 {
		success = http.StatusOK
	}
	op := huma.Operation{
		OperationID:   r.id,
		Method:        r.method,
		Path:          r.path,
		Summary:       r.summary,
		Tags:          []string{r.tag},
		DefaultStatus: success,
		Errors:        dedupe(errs),
		MaxBodyBytes:  BodyBytesMax + 1, // huma refuses a body of MaxBodyBytes itself; checkBody enforces BodyBytesMax
		// checkBody has read the body under its own deadline, and cleared it. Huma's default (5 s) would set a
		// read deadline again and leave it: net/http's background read, already waiting for the next request,
		// then fails after 5 s and cancels the CONNECTION's context — this request's and every later one's on
		// the same keep-alive connection ("context canceled"). Found by a SATNA request slower than 5 s.
		BodyReadTimeout: -1,
		Metadata:        map[string]any{"access": r.access},
	}
	if r.access != accessPublic {
		op.Security = []map[string][]string{{"bearer": {}}}
	}
	return op
}

// failure is the error body of a handler's error: an *Error (or a deadline) as it is; an operational error
// the wiring classifies (Config.Classify) as that, logged; anything else logged and answered as internal.
func (s *Server) failure(id string, err error) error {
	if e, ok := asError(err); ok {
		return e
	}
	if s.cfg.Classify != nil {
		if e := s.cfg.Classify(err); e != nil {
			s.log.Warn("api: request failed", "operation", id, "code", e.Code, "err", err)
			return e
		}
	}
	s.log.Error("api: request failed", "operation", id, "err", err)
	return Errorf(CodeInternal, "internal error; the server log has the details")
}

func dedupe(xs []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
