package inet

import (
	"testing"
	"time"

	"sockfs/netdev/ktime"
)

// Transfers under impairment: 10 MiB each way at once, intact, and a clean
// close, whatever the wire does. rto_min is shortened so tail losses do not
// dominate the run time.

func tcpImpaired(t *testing.T, spec string, seed uint64, setup func(a, b *tcpHost)) (a, b *tcpHost) {
	t.Helper()
	// Recovery here runs on the RTO and delayed-ACK timers while four
	// goroutines stream: the real clock drives them.
	a, b = newTCPPair(t, tcpPairOpts{clock: ktime.NewReal(), netem: spec, seed: seed, rtoMin: 20 * time.Millisecond})
	if setup != nil {
		setup(a, b)
	}
	ctp, stp := tcpBulk(t, a, b, 10<<20)
	waitState(t, ctp, 10*time.Second, TCP_CLOSE)
	waitState(t, stp, 10*time.Second, TCP_CLOSE)
	return a, b
}

func TestTCPLoss5(t *testing.T) {
	a, b := tcpImpaired(t, "loss 5%", 11, nil)
	if a.in.mib.Tcp.RetransSegs.Load() == 0 || b.in.mib.Tcp.RetransSegs.Load() == 0 {
		t.Fatal("no retransmissions under 5% loss")
	}
}

func TestTCPReorder5(t *testing.T) { tcpImpaired(t, "reorder 5%", 12, nil) }

func TestTCPDuplicate1(t *testing.T) { tcpImpaired(t, "duplicate 1%", 13, nil) }

func TestTCPLossReorderDuplicate(t *testing.T) {
	tcpImpaired(t, "loss 5% reorder 5% duplicate 1%", 14, nil)
}

// Without SACK, recovery is NewReno's (RFC 6582).
func TestTCPNewRenoNoSack(t *testing.T) {
	tcpImpaired(t, "loss 5% reorder 5% duplicate 1%", 15, func(a, b *tcpHost) {
		a.in.tcp.sysctlSack = false
		b.in.tcp.sysctlSack = false
	})
}

// Reno selectable, and no timestamps or window scaling (plain RFC 9293).
func TestTCPRenoPlain(t *testing.T) {
	tcpImpaired(t, "loss 2%", 16, func(a, b *tcpHost) {
		for _, h := range []*tcpHost{a, b} {
			if err := h.in.SetTCPCongestionControl("reno"); err != nil {
				t.Fatal(err)
			}
			h.in.tcp.sysctlTimestamps = false
			h.in.tcp.sysctlWindowScaling = false
		}
	})
}
