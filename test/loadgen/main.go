// Command loadgen drives a gRPC unary method at a fixed open-loop rate over HTTP/2 cleartext
// and prints latency percentiles as JSON. It exists so the grpc-check benchmark can measure
// the authz server with a load generator whose own pauses (GC, timers) stay far below the
// 1 ms being measured, as Envoy's C++ client would. Requests are pre-encoded gRPC messages
// (5-byte prefix + protobuf) read from -frames; latency counts from each request's scheduled
// send time, so a stalled server cannot hide its queueing delay (no coordinated omission).
//
// With -raw it writes HTTP/2 frames itself (raw.go) instead of using net/http's client. The
// pacing loop sleeps with nanosleep(2) on its own thread (pace.go).
//
// Usage: loadgen -target 127.0.0.1:PORT -path /pkg.Service/Method -frames FILE
//
//	[-raw] [-rate 2000] [-duration 10s] [-warmup 500] [-conns 1]
//
// or: loadgen -jitter 10s (the machine's wake-up lateness, see jitter.go)
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

type result struct {
	TargetRate        float64 `json:"targetRate"`
	DurationSeconds   float64 `json:"durationSeconds"`
	Completed         int     `json:"completed"`
	Errors            int64   `json:"errors"`
	Allowed           int64   `json:"allowed"`
	Denied            int64   `json:"denied"`
	AchievedPerSecond float64 `json:"achievedPerSecond"`
	P50Ms             float64 `json:"p50Ms"`
	P90Ms             float64 `json:"p90Ms"`
	P99Ms             float64 `json:"p99Ms"`
	P999Ms            float64 `json:"p999Ms"`
	MaxMs             float64 `json:"maxMs"`
	ServiceP50Ms      float64 `json:"serviceP50Ms"`
	ServiceP99Ms      float64 `json:"serviceP99Ms"`
	// Every call made, warm-up included (for CPU-per-call figures).
	TotalCalls int    `json:"totalCalls"`
	FirstError string `json:"firstError,omitempty"`
}

// readFrames splits a file of concatenated gRPC length-prefixed messages.
func readFrames(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var frames [][]byte
	for len(data) > 0 {
		if len(data) < 5 {
			return nil, errors.New("truncated frame prefix")
		}
		n := int(binary.BigEndian.Uint32(data[1:5]))
		if len(data) < 5+n {
			return nil, errors.New("truncated frame")
		}
		frames = append(frames, data[:5+n])
		data = data[5+n:]
	}
	if len(frames) == 0 {
		return nil, errors.New("no frames")
	}
	return frames, nil
}

// statusCode reads CheckResponse.status.code (field 1 → google.rpc.Status field 1) from a
// response frame; 0 when absent, as proto3 omits defaults.
func statusCode(frame []byte) (uint64, error) {
	if len(frame) < 5 {
		return 0, errors.New("short response")
	}
	msg := frame[5:]
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return 0, errors.New("bad tag")
		}
		msg = msg[n:]
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			_, n = binary.Uvarint(msg)
			if n <= 0 {
				return 0, errors.New("bad varint")
			}
			msg = msg[n:]
		case 2:
			l, n := binary.Uvarint(msg)
			if n <= 0 || uint64(len(msg)-n) < l {
				return 0, errors.New("bad length")
			}
			body := msg[n : n+int(l)]
			msg = msg[n+int(l):]
			if field == 1 {
				for len(body) > 0 {
					k, m := binary.Uvarint(body)
					if m <= 0 {
						return 0, errors.New("bad status tag")
					}
					body = body[m:]
					if k == 1<<3 {
						code, m := binary.Uvarint(body)
						if m <= 0 {
							return 0, errors.New("bad status code")
						}
						return code, nil
					}
					// Status.message (2) and details (3) are length-delimited.
					l, m := binary.Uvarint(body)
					if m <= 0 || uint64(len(body)-m) < l {
						return 0, errors.New("bad status field")
					}
					body = body[m+int(l):]
				}
				return 0, nil
			}
		case 1:
			msg = msg[8:]
		case 5:
			msg = msg[4:]
		default:
			return 0, fmt.Errorf("unsupported wire type %d", wire)
		}
	}
	return 0, nil
}

// paced starts send(i, due) in its own goroutine at each scheduled time (open loop: a slow
// answer never delays the next send) and returns when every call has finished.
func paced(rate float64, duration time.Duration, send func(i int, due time.Time)) {
	total := int(rate * duration.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	defer lockPacer()()
	start := time.Now()
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(i) * interval)
		sleepUntil(due)
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(i, due)
		}()
	}
	wg.Wait()
}

func main() {
	target := flag.String("target", "", "host:port of the gRPC server (h2c)")
	path := flag.String("path", "/envoy.service.auth.v3.Authorization/Check", "gRPC method path")
	framesPath := flag.String("frames", "", "file of concatenated length-prefixed request messages")
	rate := flag.Float64("rate", 2000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "measured duration")
	warmup := flag.Int("warmup", 500, "sequential requests before measuring")
	warmupDuration := flag.Duration("warmup-duration", 3*time.Second, "then this long at -rate, not measured (JIT, caches, heap sizing)")
	conns := flag.Int("conns", 1, "HTTP/2 connections (Envoy uses one per worker thread)")
	dump := flag.String("dump", "", "write one line per request: scheduled offset ms, latency ms, service ms")
	jitter := flag.Duration("jitter", 0, "only measure how late this machine wakes a thread every 500 µs, for this long (see jitter.go)")
	raw := flag.Bool("raw", false, "drive HTTP/2 frames directly (see raw.go) instead of net/http's client")
	flag.Parse()
	if *jitter > 0 {
		runJitter(*jitter)
		return
	}
	if *target == "" || *framesPath == "" {
		flag.Usage()
		os.Exit(2)
	}
	frames, err := readFrames(*framesPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %s: %v\n", *framesPath, err)
		os.Exit(2)
	}

	clients := make([]*http.Client, *conns)
	for i := range clients {
		// One Transport per connection: a Transport reuses its single h2c connection.
		clients[i] = &http.Client{Transport: &http2.Transport{
			AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
		}}
	}
	url := "http://" + *target + *path

	var allowed, denied, errs atomic.Int64
	var firstErr atomic.Value
	call := func(i int) error {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(frames[i%len(frames)]))
		req.Header.Set("content-type", "application/grpc")
		req.Header.Set("te", "trailers")
		resp, err := clients[i%len(clients)].Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		status := resp.Trailer.Get("grpc-status")
		if status == "" {
			status = resp.Header.Get("grpc-status")
		}
		if status != "0" {
			return fmt.Errorf("grpc-status %q", status)
		}
		code, err := statusCode(body)
		if err != nil {
			return err
		}
		if code == 0 {
			allowed.Add(1)
		} else {
			denied.Add(1)
		}
		return nil
	}

	total := int(*rate * duration.Seconds())
	interval := time.Duration(float64(time.Second) / *rate)
	latency := make([]float64, total)
	service := make([]float64, total)
	var elapsed float64
	if *raw {
		warm := *warmup + int(*rate*warmupDuration.Seconds())
		var warmErr atomic.Value
		if err := runRaw(*target, *path, frames, *conns, *rate, warm, 0, func(_ int, _, _, _ time.Time, body []byte, status string, err error) {
			if _, err := rawOutcome(body, status, err); err != nil {
				warmErr.CompareAndSwap(nil, err.Error())
			}
		}); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
			os.Exit(1)
		}
		if v, ok := warmErr.Load().(string); ok {
			fmt.Fprintf(os.Stderr, "loadgen: warm-up call failed: %s\n", v)
			os.Exit(1)
		}
		start := time.Now()
		if err := runRaw(*target, *path, frames, *conns, *rate, total, warm, func(i int, due, sent, finished time.Time, body []byte, status string, err error) {
			code, err := rawOutcome(body, status, err)
			switch {
			case err != nil:
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			case code == 0:
				allowed.Add(1)
			default:
				denied.Add(1)
			}
			latency[i] = float64(finished.Sub(due).Microseconds()) / 1000
			service[i] = float64(finished.Sub(sent).Microseconds()) / 1000
		}); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
			os.Exit(1)
		}
		elapsed = time.Since(start).Seconds()
	} else {
		elapsed = runHTTP(call, *warmup, *warmupDuration, *rate, *duration, latency, service, &errs, &firstErr, &allowed, &denied)
	}
	report(*dump, interval, latency, service, total, elapsed, *rate, *warmup, *warmupDuration, errs.Load(), allowed.Load(), denied.Load(), &firstErr)
}

// runHTTP is the net/http path: sequential warm-up calls, a paced warm-up, then the
// measured run; it returns the measured run's length in seconds.
func runHTTP(call func(int) error, warmup int, warmupDuration time.Duration, rate float64, duration time.Duration,
	latency, service []float64, errs *atomic.Int64, firstErr *atomic.Value, allowed, denied *atomic.Int64) float64 {
	for i := 0; i < warmup; i++ {
		if err := call(i); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: warm-up call failed: %v\n", err)
			os.Exit(1)
		}
	}
	if warmupDuration > 0 {
		paced(rate, warmupDuration, func(i int, _ time.Time) { _ = call(i) })
	}
	allowed.Store(0)
	denied.Store(0)
	errs.Store(0)
	start := time.Now()
	paced(rate, duration, func(i int, due time.Time) {
		sent := time.Now()
		if err := call(i); err != nil {
			errs.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
		done := time.Now()
		latency[i] = float64(done.Sub(due).Microseconds()) / 1000
		service[i] = float64(done.Sub(sent).Microseconds()) / 1000
	})
	return time.Since(start).Seconds()
}

func report(dump string, interval time.Duration, latency, service []float64, total int, elapsed, rate float64, warmup int,
	warmupDuration time.Duration, errs, allowed, denied int64, firstErr *atomic.Value) {
	if dump != "" {
		var b bytes.Buffer
		for i := range latency {
			fmt.Fprintf(&b, "%.3f %.3f %.3f\n", float64(time.Duration(i)*interval)/1e6, latency[i], service[i])
		}
		if err := os.WriteFile(dump, b.Bytes(), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		}
	}
	sort.Float64s(latency)
	sort.Float64s(service)
	q := func(s []float64, p float64) float64 {
		if len(s) == 0 {
			return 0
		}
		i := int(p*float64(len(s)) + 0.5)
		if i >= len(s) {
			i = len(s) - 1
		}
		if i > 0 && p < 1 {
			i--
		}
		return s[i]
	}
	out := result{
		TargetRate: rate, DurationSeconds: elapsed, Completed: total,
		Errors: errs, Allowed: allowed, Denied: denied,
		AchievedPerSecond: float64(total) / elapsed,
		P50Ms:             q(latency, 0.5), P90Ms: q(latency, 0.9), P99Ms: q(latency, 0.99), P999Ms: q(latency, 0.999),
		MaxMs: latency[len(latency)-1], ServiceP50Ms: q(service, 0.5), ServiceP99Ms: q(service, 0.99),
		TotalCalls: warmup + int(rate*warmupDuration.Seconds()) + total,
	}
	if v, ok := firstErr.Load().(string); ok {
		out.FirstError = v
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		os.Exit(1)
	}
}
