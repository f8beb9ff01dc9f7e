package main

import (
	"syscall"
	"time"
)

// timing is one measured run: wall clock, and CPU time (user + system) of the
// whole process over the same interval. On a shared machine the wall clock
// also counts time spent waiting for a core; CPU time does not, so the two
// together tell contention from work.
type timing struct{ Wall, CPU time.Duration }

type timer struct {
	wall time.Time
	cpu  time.Duration
}

func startTiming() timer { return timer{wall: time.Now(), cpu: processCPU()} }

func (t timer) stop() timing {
	return timing{Wall: time.Since(t.wall), CPU: processCPU() - t.cpu}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func walls(ts []timing) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Wall
	}
	return out
}

func cpus(ts []timing) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.CPU
	}
	return out
}
