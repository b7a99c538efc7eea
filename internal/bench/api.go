package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Limits of the HTTP load generator: it is for loopback measurement, bounded in count and in time.
const (
	LoadRequestsMax    = 10_000_000       // a minute at well beyond what one box serves
	LoadDurationMax    = 10 * time.Minute // a measurement, not a soak test
	LoadConnectionsMax = 1024             // more than the 2 cores here can keep busy
)

// LoadOptions shapes one HTTP load run: Connections closed-loop clients, each sending Method Path with its
// key (round-robin over Keys) as soon as the previous answer arrived, until Requests have been sent or
// Duration has passed, whichever comes first.
type LoadOptions struct {
	URL         string // base URL; its host must be a loopback address
	Method      string // "" is GET
	Path        string
	Keys        []string
	Connections int
	Requests    int
	Duration    time.Duration
	// Body, when set, makes the n-th request's JSON body (n from 0, each once).
	Body func(n int) []byte
	// OK, when set, says whether an answer counts as a success (read whole); nil counts a 200.
	OK func(status int, body []byte) bool
}

// LoadResult is what a run measured: throughput and latency percentiles of successful requests.
type LoadResult struct {
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSec      float64 `json:"requests_per_s"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	Connections int     `json:"connections"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	CPUs        int     `json:"cpus"`
}

// LoadHTTP runs the load and reports it. Only loopback targets are accepted: the generator must never be
// pointed at someone else's server.
func LoadHTTP(ctx context.Context, o LoadOptions) (LoadResult, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return LoadResult{}, err
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return LoadResult{}, fmt.Errorf("bench: %s is not a loopback address", host)
	}
	switch {
	case o.Connections < 1 || o.Connections > LoadConnectionsMax:
		return LoadResult{}, fmt.Errorf("bench: connections %d outside 1..%d", o.Connections, LoadConnectionsMax)
	case o.Requests < 1 || o.Requests > LoadRequestsMax:
		return LoadResult{}, fmt.Errorf("bench: requests %d outside 1..%d", o.Requests, LoadRequestsMax)
	case o.Duration <= 0 || o.Duration > LoadDurationMax:
		return LoadResult{}, fmt.Errorf("bench: duration %s outside (0, %s]", o.Duration, LoadDurationMax)
	case len(o.Keys) == 0:
		return LoadResult{}, errors.New("bench: no keys")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: o.Connections, MaxConnsPerHost: o.Connections, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var (
		mu      sync.Mutex
		lat     = make([]time.Duration, 0, min(o.Requests, 1<<20))
		errs    int
		sent    int
		wg      sync.WaitGroup
		target  = o.URL + o.Path
		started = time.Now()
	)
	method := o.Method
	if method == "" {
		method = http.MethodGet
	}
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if sent >= o.Requests {
			return 0, false
		}
		sent++
		return sent - 1, true
	}
	for i := range o.Connections {
		wg.Add(1)
		go func(key string) {
			defer wg.Done()
			for ctx.Err() == nil {
				n, more := take()
				if !more {
					break
				}
				var body io.Reader
				if o.Body != nil {
					body = bytes.NewReader(o.Body(n))
				}
				req, _ := http.NewRequestWithContext(ctx, method, target, body)
				req.Header.Set("Authorization", "Bearer "+key)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				t0 := time.Now()
				res, err := client.Do(req)
				ok := err == nil && res.StatusCode == http.StatusOK
				if err == nil {
					if o.OK != nil {
						b, rerr := io.ReadAll(res.Body)
						ok = rerr == nil && o.OK(res.StatusCode, b)
					} else {
						_, _ = io.Copy(io.Discard, res.Body)
					}
					res.Body.Close()
				}
				d := time.Since(t0)
				mu.Lock()
				if ok {
					lat = append(lat, d)
				} else if ctx.Err() == nil {
					errs++
				}
				mu.Unlock()
			}
		}(o.Keys[i%len(o.Keys)])
	}
	wg.Wait()
	elapsed := time.Since(started)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := LoadResult{Requests: len(lat), Errors: errs, Seconds: elapsed.Seconds(), Connections: o.Connections,
		GOMAXPROCS: runtime.GOMAXPROCS(0), CPUs: runtime.NumCPU()}
	if len(lat) > 0 {
		r.PerSec = float64(len(lat)) / elapsed.Seconds()
		r.P50Ms = ms(lat[len(lat)/2])
		r.P99Ms = ms(lat[len(lat)*99/100])
		r.MaxMs = ms(lat[len(lat)-1])
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
