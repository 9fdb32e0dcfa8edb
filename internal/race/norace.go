//go:build !race

// Package race tells tests whether the binary was built with -race, where
// sync.Pool drops a quarter of what it is given on purpose so pooled paths
// allocate: allocation counts are only asserted without it. The build tag
// is the one the race detector sets, so it costs nothing at run time.
package race

// Enabled reports a -race build.
const Enabled = false
