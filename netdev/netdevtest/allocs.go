package netdevtest

import "testing"

// NoAllocsPerRound checks that round, one unit of a data path's steady
// state (a burst sent and read, a super-frame received), allocates
// nothing: it warms the pools with 20 rounds, then counts over 200 with
// testing.AllocsPerRun. round reports false when its I/O failed. what
// names the unit in the messages.
func NoAllocsPerRound(t testing.TB, what string, round func() bool) {
	t.Helper()
	ok := true
	run := func() { ok = round() && ok }
	for range 20 {
		run()
	}
	allocs := testing.AllocsPerRun(200, run)
	if !ok {
		t.Fatalf("a round's I/O failed")
	}
	t.Logf("%.2f allocations per %s", allocs, what)
	if allocs != 0 {
		t.Fatalf("%.2f allocations per %s: allocating per packet", allocs, what)
	}
}
