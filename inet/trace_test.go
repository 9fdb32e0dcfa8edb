package inet

import (
	"context"
	"strings"
	"testing"
	"time"

	"sockfs/socket"
)

// The data line of tcp_v4_rcv names the function that took the segment,
// as tcp_v4_do_rcv chooses: tcp_rcv_established in ESTABLISHED,
// tcp_rcv_state_process in the other states (here FIN_WAIT2, after our
// shutdown of the send side).
func TestTraceTCPDataLineNamesItsPath(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	cs, ss, _ := tcpConnPair(t, a, b, 7000)
	r := a.sn.Trace.Subscribe(4096)
	defer r.Close()
	var seen strings.Builder
	waitLine := func(want string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		buf := make([]byte, 64<<10)
		for !strings.Contains(seen.String(), want) {
			n, err := r.Read(ctx, buf, false)
			if err != nil {
				t.Fatalf("no line with %q: %v; trace:\n%s", want, err, seen.String())
			}
			seen.Write(buf[:n])
		}
	}
	if err := writeAll(t.Context(), ss, []byte("one")); err != nil {
		t.Fatal(err)
	}
	waitLine("len=3 -> tcp_rcv_established -> sk_data_ready\n")
	if err := socket.Shutdown(cs, socket.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	waitState(t, skOf(cs), 10*time.Second, TCP_FIN_WAIT2)
	if err := writeAll(t.Context(), ss, []byte("four")); err != nil {
		t.Fatal(err)
	}
	waitLine("len=4 -> tcp_rcv_state_process -> sk_data_ready\n")
	if strings.Contains(seen.String(), "len=4 -> tcp_rcv_established") {
		t.Errorf("FIN_WAIT2's data traced as tcp_rcv_established:\n%s", seen.String())
	}
}
