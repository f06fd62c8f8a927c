//go:build race

package sandbox

// raceEnabled: the race runtime reserves terabytes of shadow address space,
// so RLIMIT_AS cannot be applied to a race-built child (tests only).
const raceEnabled = true
