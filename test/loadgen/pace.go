package main

import (
	"runtime"
	"syscall"
	"time"
)

// sleepUntil blocks the calling OS thread until `due`. Go's time.Sleep wakes through the
// runtime's poller, which on this kernel rounds short sleeps up to about a millisecond: at
// 2,000 calls/s that put half a millisecond of the load generator's own lateness into every
// latency. nanosleep(2) wakes within the kernel's timer slack (50 µs by default). Callers
// lock their goroutine to its thread (lockPacer) so only the pacing loop's thread sleeps.
func sleepUntil(due time.Time) {
	for {
		d := time.Until(due)
		if d <= 0 {
			return
		}
		ts := syscall.NsecToTimespec(d.Nanoseconds())
		if err := syscall.Nanosleep(&ts, nil); err != nil && err != syscall.EINTR {
			time.Sleep(d)
			return
		}
	}
}

// lockPacer pins the pacing goroutine to its own OS thread for sleepUntil.
func lockPacer() func() {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}
