package inet

// net/tcp and net/tcp6 (tcp4_seq_show in net/ipv4/tcp_ipv4.c,
// tcp6_seq_show in net/ipv6/tcp_ipv6.c): one line per socket in exactly
// Linux's /proc/net/tcp and /proc/net/tcp6 layouts. The two differ only in
// the family they list, the header and how an address prints, so one walk
// (tcpSeqShow) and one set of columns serve both, as tcp_seq_afinfo
// selects the family for Linux's one tcp_seq_next. net/tcp's lines are
// padded to 149 columns (seq_setwidth(TMPSZ - 1)), net/tcp6's are not.
// Addresses are the raw network-order words printed as host-order hex on
// a little-endian machine, as Linux prints them on x86; times are in clock
// ticks of USER_HZ=100.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"sockfs/socket"
)

const tcpProcWidth = 149

// procHex formats an IPv4 address as /proc/net/tcp does (%08X of the
// __be32 read as a little-endian word).
func procHex(a [4]byte) uint32 { return binary.LittleEndian.Uint32(a[:]) }

// procAddr4 is an address of net/tcp: inet_rcv_saddr or inet_daddr as
// %08X.
func procAddr4(b *bytes.Buffer, a netip.Addr) {
	fmt.Fprintf(b, "%08X", procHex(addrOr0(a).As4()))
}

// ProcAddr6 is an address of net/tcp6 (and udp6, raw6): the in6_addr's
// four __be32 words s6_addr32[0..3], each as %08X of the word as stored,
// so on a little-endian machine each 4-byte group reads byte-reversed
// (2001:2::2 is 02000120000000000000000002000000). An IPv4 address, as a
// v4-mapped AF_INET6 sock holds, is its 16-byte form ::ffff:a.b.c.d; an
// unset or unspecified one is ::.
func ProcAddr6(b *bytes.Buffer, a netip.Addr) {
	if !a.IsValid() || a.IsUnspecified() {
		a = netip.IPv6Unspecified()
	}
	w := a.As16()
	fmt.Fprintf(b, "%08X%08X%08X%08X",
		binary.LittleEndian.Uint32(w[0:]), binary.LittleEndian.Uint32(w[4:]),
		binary.LittleEndian.Uint32(w[8:]), binary.LittleEndian.Uint32(w[12:]))
}

func clockT(d time.Duration) int64 { return int64(d / (10 * time.Millisecond)) }

// tcpSeqAfinfo is struct tcp_seq_afinfo with what tcp4_seq_show and
// tcp6_seq_show print differently.
type tcpSeqAfinfo struct {
	family int
	header string
	width  int // seq_setwidth; 0: lines end where their text does
	addr   func(b *bytes.Buffer, a netip.Addr)
}

var (
	tcp4SeqAfinfo = tcpSeqAfinfo{
		family: socket.AF_INET,
		header: "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
		width:  tcpProcWidth,
		addr:   procAddr4,
	}
	tcp6SeqAfinfo = tcpSeqAfinfo{
		family: socket.AF_INET6,
		header: "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
		addr:   ProcAddr6,
	}
)

type tcpProcRow struct {
	lport, rport uint16
	raddr        string // as printed, so rows sort as the hex reads
	line         []byte
}

// tcp4SeqShow writes net/tcp: the AF_INET socks (net/tcp6 lists the
// others).
func (in *Net) tcp4SeqShow(b *bytes.Buffer) { in.tcpSeqShow(b, &tcp4SeqAfinfo) }

// TCP6SeqShow writes net/tcp6 (tcp6_seq_show): the AF_INET6 socks,
// v4-mapped ones included, as tcp6_proc_init registers it.
func (in *Net) TCP6SeqShow(b *bytes.Buffer) { in.tcpSeqShow(b, &tcp6SeqAfinfo) }

// tcpSeqShow is tcp_seq_show's walk for one family: listeners, request
// socks and established ones, then timewait entries.
func (in *Net) tcpSeqShow(b *bytes.Buffer, af *tcpSeqAfinfo) {
	end := func(start int) {
		for b.Len()-start < af.width {
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	start := b.Len()
	b.WriteString(af.header)
	end(start)

	socks := in.tcp.allSocks()
	now := in.clock.Now()
	rows := make([]tcpProcRow, 0, len(socks))
	var ab bytes.Buffer
	for _, tp := range socks {
		var lb bytes.Buffer
		tp.Mu.Lock()
		// Linux walks the listening and established hashes: a sock
		// that is only bound, or closed (refused, reset), is in neither.
		if tp.destroyed || tp.State == TCP_CLOSE || tp.Family != af.family {
			tp.Mu.Unlock()
			continue
		}
		tp.procLine(&lb, now, af)
		ab.Reset()
		af.addr(&ab, tp.Daddr)
		r := tcpProcRow{lport: tp.Num, rport: tp.Dport, raddr: ab.String(), line: lb.Bytes()}
		tp.Mu.Unlock()
		rows = append(rows, r)
	}
	for _, tw := range in.tcp.timewaitSocks() {
		var lb bytes.Buffer
		tw.mu.Lock()
		if !tw.dead && tw.family == af.family {
			tw.procLine(&lb, now, af)
			ab.Reset()
			af.addr(&ab, tw.key.raddr)
			rows = append(rows, tcpProcRow{lport: tw.key.lport, rport: tw.key.rport, raddr: ab.String(), line: lb.Bytes()})
		}
		tw.mu.Unlock()
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].lport != rows[j].lport {
			return rows[i].lport < rows[j].lport
		}
		if rows[i].raddr != rows[j].raddr {
			return rows[i].raddr < rows[j].raddr
		}
		return rows[i].rport < rows[j].rport
	})
	for i, r := range rows {
		start := b.Len()
		fmt.Fprintf(b, "%4d: ", i)
		b.Write(r.line)
		end(start)
	}
}

// procAddrs is the two address columns every row begins with:
// local_address and rem_address, each ADDR:PORT.
func procAddrs(b *bytes.Buffer, af *tcpSeqAfinfo, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) {
	af.addr(b, src)
	fmt.Fprintf(b, ":%04X ", sport)
	af.addr(b, dst)
	fmt.Fprintf(b, ":%04X ", dport)
}

// procLine is get_tcp4_sock / get_tcp6_sock and get_openreq4 /
// get_openreq6 (Mu held), without the "sl" column.
func (tp *tcpSock) procLine(b *bytes.Buffer, now time.Duration, af *tcpSeqAfinfo) {
	procAddrs(b, af, tp.localAddr(), tp.Num, tp.Daddr, tp.Dport)
	var ino uint64
	if tp.Socket != nil {
		ino = tp.Socket.Ino
	}
	switch {
	case tp.State == TCP_SYN_RECV && tp.parent != nil:
		delta := max(tp.rtxTimeout-now, 0)
		fmt.Fprintf(b, "%02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x",
			TCP_SYN_RECV, 0, 0, 1, clockT(delta), tp.retransmits, tp.Uid, 0, 0, 0, 0)
		return
	}
	var rxq, txq uint32
	if tp.State == TCP_LISTEN {
		rxq = uint32(len(tp.acceptQ))
	} else {
		rxq = tp.rcvNxt - tp.copiedSeq
		if int32(rxq) < 0 {
			rxq = 0
		}
	}
	txq = tp.writeSeq - tp.sndUna
	timerActive := 0
	var expires time.Duration
	switch {
	case tp.rtxPending == tcpTimeRetrans:
		timerActive, expires = 1, tp.rtxTimeout
	case tp.rtxPending == tcpTimeProbe0:
		timerActive, expires = 4, tp.rtxTimeout
	case tp.skTimerArmed:
		timerActive, expires = 2, tp.skTimeout
	default:
		expires = now
	}
	ssthresh := int64(tp.sndSsthresh)
	if tp.State == TCP_LISTEN {
		ssthresh = 0 // fastopenq.max_qlen
	} else if tp.sndSsthresh >= tcpInfiniteSsthr {
		ssthresh = -1 // tcp_in_initial_slowstart
	}
	// icsk_ack.quick is a count (a u8), printed shifted over the
	// pingpong bit, which this TCP has no mode for.
	quick := min(tp.quickAcks, 255)
	fmt.Fprintf(b, "%02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x %d %d %d %d %d",
		tp.State, txq, rxq,
		timerActive, clockT(max(expires-now, 0)), tp.retransmits,
		tp.Uid, tp.probesOut, ino, 2, 0,
		clockT(tp.rto), clockT(tp.ato), quick<<1, tp.sndCwnd, ssthresh)
}

// procLine is get_timewait4_sock / get_timewait6_sock (tw.mu held): the
// substate (05 for an orphan's FIN_WAIT2, 06 for TIME_WAIT), the timer as
// "3" with its time left, and the refcount Linux shows for an entry in
// both hashes with its timer armed (3).
func (tw *tcpTimewaitSock) procLine(b *bytes.Buffer, now time.Duration, af *tcpSeqAfinfo) {
	procAddrs(b, af, tw.key.laddr, tw.key.lport, tw.key.raddr, tw.key.rport)
	fmt.Fprintf(b, "%02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x",
		tw.substate, 0, 0,
		3, clockT(max(tw.expires-now, 0)), 0, 0, 0, 0, 3, 0)
}
