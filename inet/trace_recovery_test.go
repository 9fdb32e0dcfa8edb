package inet

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"sockfs/socket"
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

// drainTrace reads what r has queued so far.
func drainTrace(r *socket.TraceReader) string {
	var got []byte
	buf := make([]byte, 1<<16)
	for {
		n, err := r.Read(context.Background(), buf, true)
		if err != nil {
			return string(got)
		}
		got = append(got, buf[:n]...)
	}
}

// A retransmission timeout shows as it fires: tcp_retransmit_timer with
// the window before, the move to Loss with the window after, the segment
// sent again, and back to Open once the peer acks it.
func TestTraceShowsRetransmitTimer(t *testing.T) {
	clk, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	waitState(t, skOf(ss), time.Second, TCP_ESTABLISHED)
	r := a.sn.Trace.Subscribe(1 << 16)
	defer r.Close()
	a.gate.setDrop(true)
	if _, err := socket.SockSendmsg(context.Background(), cs, &socket.Msghdr{}, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	var got string
	for i := 0; i < 20 && !strings.Contains(got, "tcp_retransmit_timer"); i++ {
		clk.Advance(250 * time.Millisecond)
		got += drainTrace(r)
	}
	// The next retransmission gets through (the timer runs on the manual
	// clock, so it has gone out when Advance returns); its ACK comes
	// back through the link's goroutines.
	a.gate.setDrop(false)
	a.arpSettle(b)
	for i, sent := 0, a.gate.count(); a.gate.count() == sent; i++ {
		if i == 200 {
			t.Fatal("no retransmission in 20 s")
		}
		clk.Advance(100 * time.Millisecond)
	}
	tp := skOf(cs)
	tcpWaitFor(t, "the retransmission acked", 5*time.Second, func() bool {
		return withSk(tp, func(tp *tcpSock) bool { return tp.packetsOut == 0 })
	})
	got += drainTrace(r)
	ino := cs.Ino
	re := regexp.MustCompile(fmt.Sprintf(`(?s)ino=%d tcp_retransmit_timer rto=\d+ms retransmits=0 cwnd=10 ssthresh=2147483647 -> tcp_enter_loss\n`+
		`.*ino=%d tcp_set_ca_state Open -> Loss cwnd=1 ssthresh=\d+\n`+
		`.*ino=%d tcp_retransmit_skb seq=\d+ len=3 .*-> tcp_transmit_skb\n`+
		`.*ino=%d tcp_set_ca_state Loss -> Open cwnd=\d+ ssthresh=\d+\n`, ino, ino, ino, ino))
	if !re.MatchString(got) {
		t.Fatalf("trace:\n%s", got)
	}
}
