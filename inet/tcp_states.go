package inet

// TCP states in include/net/tcp_states.h order; sk_state of every inet sock
// uses them (UDP uses ESTABLISHED and CLOSE).
const (
	TCP_ESTABLISHED uint8 = iota + 1
	TCP_SYN_SENT
	TCP_SYN_RECV
	TCP_FIN_WAIT1
	TCP_FIN_WAIT2
	TCP_TIME_WAIT
	TCP_CLOSE
	TCP_CLOSE_WAIT
	TCP_LAST_ACK
	TCP_LISTEN
	TCP_CLOSING
	TCP_NEW_SYN_RECV
	TCP_MAX_STATES
)

// TCPF_* are the state bits, for tests like (1<<state)&(TCPF_A|TCPF_B).
const (
	TCPF_ESTABLISHED  = 1 << TCP_ESTABLISHED
	TCPF_SYN_SENT     = 1 << TCP_SYN_SENT
	TCPF_SYN_RECV     = 1 << TCP_SYN_RECV
	TCPF_FIN_WAIT1    = 1 << TCP_FIN_WAIT1
	TCPF_FIN_WAIT2    = 1 << TCP_FIN_WAIT2
	TCPF_TIME_WAIT    = 1 << TCP_TIME_WAIT
	TCPF_CLOSE        = 1 << TCP_CLOSE
	TCPF_CLOSE_WAIT   = 1 << TCP_CLOSE_WAIT
	TCPF_LAST_ACK     = 1 << TCP_LAST_ACK
	TCPF_LISTEN       = 1 << TCP_LISTEN
	TCPF_CLOSING      = 1 << TCP_CLOSING
	TCPF_NEW_SYN_RECV = 1 << TCP_NEW_SYN_RECV
)

// tcpStateNames are the names Linux's tcp_states table and ss use.
var tcpStateNames = [...]string{
	0:                "UNKNOWN",
	TCP_ESTABLISHED:  "ESTABLISHED",
	TCP_SYN_SENT:     "SYN_SENT",
	TCP_SYN_RECV:     "SYN_RECV",
	TCP_FIN_WAIT1:    "FIN_WAIT1",
	TCP_FIN_WAIT2:    "FIN_WAIT2",
	TCP_TIME_WAIT:    "TIME_WAIT",
	TCP_CLOSE:        "CLOSE",
	TCP_CLOSE_WAIT:   "CLOSE_WAIT",
	TCP_LAST_ACK:     "LAST_ACK",
	TCP_LISTEN:       "LISTEN",
	TCP_CLOSING:      "CLOSING",
	TCP_NEW_SYN_RECV: "NEW_SYN_RECV",
}

// tcpStateName returns the state's name as the status file shows it.
func tcpStateName(s uint8) string {
	if int(s) < len(tcpStateNames) {
		return tcpStateNames[s]
	}
	return "UNKNOWN"
}
