package inet

import (
	"testing"

	"sockfs/socket"
)

// LookupProtosw is inet_create's and inet6_create's search: a type without
// rows is ESOCKTNOSUPPORT, rows none of which match EPROTONOSUPPORT,
// protocol 0 the first row, and a row of protocol 0 (raw) any protocol.
func TestLookupProtosw(t *testing.T) {
	rows := []InetProtosw{
		{Type: socket.SOCK_DGRAM, Protocol: IPPROTO_UDP},
		{Type: socket.SOCK_DGRAM, Protocol: IPPROTO_ICMP},
	}
	raw := []InetProtosw{{Type: socket.SOCK_RAW, Protocol: socket.IPPROTO_IP}}
	cases := []struct {
		rows     []InetProtosw
		protocol int
		row      *InetProtosw
		got      int
		err      error
	}{
		{nil, 0, nil, 0, socket.ESOCKTNOSUPPORT},
		{nil, IPPROTO_UDP, nil, IPPROTO_UDP, socket.ESOCKTNOSUPPORT},
		{rows, 0, &rows[0], IPPROTO_UDP, nil},
		{rows, IPPROTO_UDP, &rows[0], IPPROTO_UDP, nil},
		{rows, IPPROTO_ICMP, &rows[1], IPPROTO_ICMP, nil},
		{rows, IPPROTO_TCP, nil, IPPROTO_TCP, socket.EPROTONOSUPPORT},
		{raw, 58, &raw[0], 58, nil},
		{raw, 0, nil, 0, socket.EPROTONOSUPPORT}, // raw needs a protocol
	}
	for i, c := range cases {
		row, got, err := LookupProtosw(c.rows, c.protocol)
		if row != c.row || err != c.err || (err == nil && got != c.got) {
			t.Errorf("case %d: LookupProtosw(%d) = %p, %d, %v; want %p, %d, %v", i, c.protocol, row, got, err, c.row, c.got, c.err)
		}
	}
}
