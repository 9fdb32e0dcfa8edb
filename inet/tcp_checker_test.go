package inet

import (
	"fmt"
	"strings"
	"testing"
)

// A segment checker in the manner of gVisor's checker.TCP(checker.SrcPort(…),
// checker.TCPFlags(…)): each option checks one field of a segment seen on
// the wire, and checkTCP reports every mismatch at once.
type tcpChecker func(s sentSeg) string

// checkTCP fails the test with every field of s that does not match.
func checkTCP(t testing.TB, what string, s sentSeg, checkers ...tcpChecker) {
	t.Helper()
	var bad []string
	for _, c := range checkers {
		if m := c(s); m != "" {
			bad = append(bad, m)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%s: %s", what, strings.Join(bad, "; "))
	}
}

func mismatch(field string, got, want any) string {
	if got == want {
		return ""
	}
	return fmt.Sprintf("%s %v, want %v", field, got, want)
}

func tcpSrcPort(p uint16) tcpChecker {
	return func(s sentSeg) string { return mismatch("source port", s.sport, p) }
}

func tcpDstPort(p uint16) tcpChecker {
	return func(s sentSeg) string { return mismatch("destination port", s.dport, p) }
}

func tcpFlags(f uint8) tcpChecker {
	return func(s sentSeg) string {
		if s.flags == f {
			return ""
		}
		return fmt.Sprintf("flags %s, want %s", tcpFlagString(s.flags), tcpFlagString(f))
	}
}

func tcpSeqNum(seq uint32) tcpChecker {
	return func(s sentSeg) string { return mismatch("seq", s.seq, seq) }
}

func tcpAckNum(ack uint32) tcpChecker {
	return func(s sentSeg) string { return mismatch("ack", s.ack, ack) }
}

func tcpWindow(w uint16) tcpChecker {
	return func(s sentSeg) string { return mismatch("window", s.win, w) }
}

func tcpPayloadLen(n int) tcpChecker {
	return func(s sentSeg) string { return mismatch("payload length", s.dataLen, n) }
}

func tcpOptMSS(mss uint16) tcpChecker {
	return func(s sentSeg) string { return mismatch("MSS option", s.opts.MSS, mss) }
}

func tcpOptWScale(ws int8) tcpChecker {
	return func(s sentSeg) string { return mismatch("window scale option", s.opts.WScale, ws) }
}

// Each mismatch is reported, and a matching segment passes.
func TestTCPChecker(t *testing.T) {
	s := sentSeg{sport: 80, dport: 5000, seq: 7, ack: 9, flags: tcpFlagSYN | tcpFlagACK, win: 100}
	all := []tcpChecker{tcpSrcPort(80), tcpDstPort(5000), tcpSeqNum(7), tcpAckNum(9), tcpFlags(tcpFlagSYN | tcpFlagACK), tcpWindow(100), tcpPayloadLen(0)}
	for _, c := range all {
		if m := c(s); m != "" {
			t.Errorf("matching segment: %s", m)
		}
	}
	if m := tcpFlags(tcpFlagSYN)(s); !strings.Contains(m, "flags") {
		t.Errorf("flag mismatch reported as %q", m)
	}
	if m := tcpSrcPort(81)(s); m == "" {
		t.Error("port mismatch not reported")
	}
}
