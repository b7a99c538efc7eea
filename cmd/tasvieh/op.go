package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/internal/server"
)

// opTimeout bounds one operator request: the server's own request deadline and a little more.
const opTimeout = api.RequestTimeoutDefault + 5*time.Second

// answerBytesMax bounds an answer the client reads: 64 MiB, room for a day's statement of some 200,000
// movements as JSON (a line is about 330 bytes).
const answerBytesMax = 64 << 20

// opClient talks to a running server as the operator.
type opClient struct {
	base, key string
	http      *http.Client
}

// newOpClient finds the server (--server, else serve.json) and the operator key (keys.json).
func newOpClient(cfg Config, serverURL string) (*opClient, error) {
	if serverURL == "" {
		b, err := os.ReadFile(filepath.Join(cfg.Home, "serve.json"))
		if err != nil {
			return nil, fmt.Errorf("no --server given and no %s: start a server with `tasvieh serve`", filepath.Join(cfg.Home, "serve.json"))
		}
		var sf server.ServeFile
		if err := json.Unmarshal(b, &sf); err != nil {
			return nil, fmt.Errorf("serve.json: %w", err)
		}
		serverURL = sf.URL
	}
	b, err := os.ReadFile(filepath.Join(cfg.Home, "keys.json"))
	if err != nil {
		return nil, fmt.Errorf("no operator key: %w (the server writes keys.json in TASVIEH_HOME)", err)
	}
	var k server.Keys
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("keys.json: %w", err)
	}
	return &opClient{base: strings.TrimRight(serverURL, "/"), key: k.Operator, http: &http.Client{Timeout: opTimeout}}, nil
}

// call sends a request and decodes the answer into out; an API error comes back as *api.Error.
func (c *opClient) call(ctx context.Context, method, path string, in, out any) error {
	b, _, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// send sends a request and returns the answer's body and Content-Type; an API error comes back as *api.Error.
func (c *opClient) send(ctx context.Context, method, path string, in any) ([]byte, string, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, "", err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return nil, "", fmt.Errorf("the server at %s did not answer within %s: the request's outcome is unknown — repeat it with the same --reference, or look with `tasvieh op clock`", c.base, opTimeout)
		}
		if errors.As(err, &ue) {
			return nil, "", fmt.Errorf("no server answers at %s (start one with `tasvieh serve`): %v", c.base, ue.Err)
		}
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, answerBytesMax+1))
	if err != nil {
		return nil, "", err
	}
	if len(b) > answerBytesMax {
		return nil, "", fmt.Errorf("%s %s: the answer is larger than %d MiB", method, path, answerBytesMax>>20)
	}
	if res.StatusCode >= 300 {
		var e api.Error
		if json.Unmarshal(b, &e) == nil && e.Code != "" {
			return nil, "", &e
		}
		return nil, "", fmt.Errorf("%s %s: HTTP %d", method, path, res.StatusCode)
	}
	return b, res.Header.Get("Content-Type"), nil
}

func runOp(ctx context.Context, env Env, args []string) int {
	fs := newFlags(env, "op", "op [--server URL] [--json] clock [advance --by D | --to T] | clock mode real|simulated | liquidity BANK AMOUNT [--reference R] | bank suspend|resume BANK | bank simulate BANK [--mode M] [--online B] [--latency-ms N] [--failure-rate F] | customers BANK [--limit N]")
	srv := fs.String("server", "", "the server's URL (default: serve.json in TASVIEH_HOME)")
	asJSON := fs.Bool("json", false, "print the server's JSON answer")
	by := fs.String("by", "", "clock advance: a duration such as 2h30m")
	to := fs.String("to", "", "clock advance: RFC 3339 or Jalali YYYY/MM/DD HH:MM")
	ref := fs.String("reference", "", "liquidity: the operator's reference (default: a fresh one)")
	mode := fs.String("mode", "simulated", "bank simulate: simulated or external")
	online := fs.Bool("online", true, "bank simulate: online")
	latency := fs.Int("latency-ms", 0, "bank simulate: added latency, ms")
	failure := fs.Float64("failure-rate", 0, "bank simulate: failure rate 0..1")
	limit := fs.Int("limit", 20, "customers: how many")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) == 0 {
		fs.Usage()
		return exitUsage
	}
	cfg := DefaultConfig(env.Getenv)
	c, err := newOpClient(cfg, *srv)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh op:", err)
		return exitInvalid
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var out any
	var show func(w io.Writer)
	switch {
	case pos[0] == "clock" && len(pos) == 1:
		var r api.ClockInfo
		out, show = &r, func(w io.Writer) { printClock(w, r) }
		err = c.call(ctx, http.MethodGet, "/v1/clock", nil, &r)
	case pos[0] == "clock" && len(pos) == 2 && pos[1] == "advance":
		var r api.AdvanceResult
		out = &r
		show = func(w io.Writer) {
			for _, j := range r.Fired {
				fmt.Fprintf(w, "  fired %-14s %s  %s%s\n", j.Job, j.Jalali, j.Outcome, map[bool]string{true: " (catch-up)"}[j.CatchUp])
			}
			printClock(w, r.Clock)
		}
		err = c.call(ctx, http.MethodPost, "/v1/operator/clock/advance", api.AdvanceRequest{By: *by, To: *to}, &r)
	case pos[0] == "clock" && len(pos) == 3 && pos[1] == "mode":
		var r api.ClockInfo
		out, show = &r, func(w io.Writer) { printClock(w, r) }
		err = c.call(ctx, http.MethodPost, "/v1/operator/clock/mode", api.ModeRequest{Mode: pos[2]}, &r)
	case pos[0] == "liquidity" && len(pos) == 3:
		amount, perr := strconv.ParseInt(strings.ReplaceAll(pos[2], ",", ""), 10, 64)
		if perr != nil {
			return usageError(env, "op liquidity: amount %q is not a whole number of rial", pos[2])
		}
		if *ref == "" {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			*ref = "op-" + hex.EncodeToString(b)
		}
		var r api.Liquidity
		out = &r
		show = func(w io.Writer) {
			fmt.Fprintf(w, "liquidity %s: %s %d rial (reference %s) — settlement balance now %d rial %s\n", r.BankCode, r.Status, r.AmountRial, r.Reference, r.BalanceRial, r.Code)
		}
		err = c.call(ctx, http.MethodPost, "/v1/operator/liquidity", api.LiquidityRequest{BankCode: pos[1], AmountRial: amount, Reference: *ref}, &r)
	case pos[0] == "bank" && len(pos) == 3 && (pos[1] == "suspend" || pos[1] == "resume"):
		var r api.Bank
		out, show = &r, func(w io.Writer) { fmt.Fprintf(w, "%s %s: %s\n", r.Code, r.NameEN, r.Status) }
		err = c.call(ctx, http.MethodPost, "/v1/operator/banks/"+url.PathEscape(pos[2])+"/"+pos[1], nil, &r)
	case pos[0] == "bank" && len(pos) == 3 && pos[1] == "simulate":
		var r api.Bank
		out = &r
		show = func(w io.Writer) {
			s := r.Simulation
			fmt.Fprintf(w, "%s %s: %s, online %v, latency %d ms, failure rate %.2f\n", r.Code, r.NameEN, s.Mode, s.Online, s.LatencyMS, s.FailureRate)
		}
		err = c.call(ctx, http.MethodPut, "/v1/operator/banks/"+url.PathEscape(pos[2])+"/simulation",
			api.Simulation{Mode: *mode, Online: *online, LatencyMS: *latency, FailureRate: *failure}, &r)
	case pos[0] == "customers" && len(pos) == 2:
		var r api.CustomerPage
		out = &r
		show = func(w io.Writer) {
			for _, cu := range r.Customers {
				bal := ""
				if cu.BalanceRial != nil {
					bal = strconv.FormatInt(*cu.BalanceRial, 10)
				}
				fmt.Fprintf(w, "  %s  %-8s %18s  %s %s\n", cu.SHEBA, cu.Status, bal, cu.Name, cu.Magic)
				for _, k := range cu.Cards {
					fmt.Fprintf(w, "      card %s exp %s cvv2 %s pin2 %s %s %s\n", k.PAN, k.Expiry, k.CVV2, k.PIN2, k.Status, k.Magic)
				}
			}
		}
		err = c.call(ctx, http.MethodGet, "/v1/directory/customers?bank="+url.QueryEscape(pos[1])+"&limit="+strconv.Itoa(*limit), nil, &r)
	default:
		fs.Usage()
		return exitUsage
	}
	return answer(env, "op", err, *asJSON, out, show)
}

func printClock(w io.Writer, c api.ClockInfo) {
	day := "business day"
	if !c.BusinessDay {
		day = "closed: " + c.DayReason
	}
	fmt.Fprintf(w, "clock %s: %s (%s), %s, rules %s\n", c.Mode, c.Jalali, c.Now.Format(time.RFC3339), day, c.Rules)
	for _, j := range c.NextJobs {
		fmt.Fprintf(w, "  next %-14s %s\n", j.Job, j.At.Format(time.RFC3339))
	}
}

// answer prints a client command's outcome: the error on one line (exit 1), the server's JSON with --json,
// else the human form.
func answer(env Env, command string, err error, asJSON bool, out any, show func(io.Writer)) int {
	if err != nil {
		fmt.Fprintf(env.Stderr, "tasvieh %s: %v\n", command, err)
		return exitInvalid
	}
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return exitOK
	}
	show(env.Stdout)
	return exitOK
}
