package main

import (
	"encoding/json"
	"os"
	"sort"
	"time"
)

// jitterResult is what -jitter prints: how late a thread that asks to wake every 500 µs is
// woken on this machine, while whatever else runs (the benchmark's server) keeps running.
// It is the floor under any latency measured here: a server cannot answer sooner than the
// kernel lets it run.
type jitterResult struct {
	Wakeups    int     `json:"wakeups"`
	LateOver1  int     `json:"lateOver1ms"`
	P50Ms      float64 `json:"lateP50Ms"`
	P99Ms      float64 `json:"lateP99Ms"`
	P999Ms     float64 `json:"lateP999Ms"`
	MaxMs      float64 `json:"lateMaxMs"`
	DurationMs float64 `json:"durationMs"`
}

func runJitter(duration time.Duration) {
	defer lockPacer()()
	const period = 500 * time.Microsecond
	var late []float64
	start := time.Now()
	next := start
	for time.Since(start) < duration {
		next = next.Add(period)
		sleepUntil(next)
		l := time.Since(next)
		late = append(late, float64(l.Microseconds())/1000)
		if l > period {
			next = time.Now()
		}
	}
	sort.Float64s(late)
	q := func(p float64) float64 { return late[min(len(late)-1, int(p*float64(len(late))))] }
	over := 0
	for _, l := range late {
		if l > 1 {
			over++
		}
	}
	_ = json.NewEncoder(os.Stdout).Encode(jitterResult{
		Wakeups: len(late), LateOver1: over, P50Ms: q(0.5), P99Ms: q(0.99), P999Ms: q(0.999), MaxMs: late[len(late)-1],
		DurationMs: float64(time.Since(start).Milliseconds()),
	})
}
