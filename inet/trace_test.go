package inet

import (
	"context"
	"regexp"
	"testing"
	"time"
)

// Under loss the sender's trace shows recovery as it happens: each
// congestion state change with its cwnd and ssthresh, and back to Open.
func TestTraceShowsCongestionStateChanges(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{netem: "loss 5%", seed: 21, rtoMin: 20 * time.Millisecond})
	r := a.sn.Trace.Subscribe(1 << 20)
	tcpBulk(t, a, b, 2<<20)
	r.Close()
	var got []byte
	buf := make([]byte, 1<<20)
	for {
		n, err := r.Read(context.Background(), buf, true)
		if err != nil {
			break
		}
		got = append(got, buf[:n]...)
	}
	for _, re := range []string{
		`(?m) ino=\d+ tcp_set_ca_state (Open|Disorder) -> (Recovery|Loss) cwnd=\d+ ssthresh=\d+$`,
		`(?m) ino=\d+ tcp_set_ca_state (Recovery|Loss) -> (Open|Disorder) cwnd=\d+ ssthresh=\d+$`,
	} {
		if !regexp.MustCompile(re).Match(got) {
			t.Errorf("no line matching %s in %d bytes of trace", re, len(got))
		}
	}
}
