package inet

// net/tcp (tcp4_seq_show in net/ipv4/tcp_ipv4.c): one line per socket in
// exactly Linux's /proc/net/tcp layout, each padded to 149 columns
// (seq_setwidth(TMPSZ - 1)). Addresses are the raw network-order words
// printed as host-order hex on a little-endian machine, as Linux prints
// them on x86; times are in clock ticks of USER_HZ=100.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"sockfs/socket"
)

const tcpProcWidth = 149

// procHex formats an IPv4 address as /proc/net/tcp does (%08X of the
// __be32 read as a little-endian word).
func procHex(a [4]byte) uint32 { return binary.LittleEndian.Uint32(a[:]) }

func clockT(d time.Duration) int64 { return int64(d / (10 * time.Millisecond)) }

type tcpProcRow struct {
	lport, rport uint16
	raddr        uint32
	line         []byte
}

// tcp4SeqShow writes net/tcp.
func (in *Net) tcp4SeqShow(b *bytes.Buffer) {
	pad := func(start int) {
		for b.Len()-start < tcpProcWidth {
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	start := b.Len()
	b.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")
	pad(start)

	socks := in.tcp.allSocks()
	now := in.clock.Now()
	rows := make([]tcpProcRow, 0, len(socks))
	for _, tp := range socks {
		var lb bytes.Buffer
		tp.Mu.Lock()
		// Linux walks the listening and established hashes: a sock
		// that is only bound, or closed (refused, reset), is in neither.
		// net/tcp is tcp4_seq_show's: AF_INET socks only (net/tcp6 lists
		// the others).
		if tp.destroyed || tp.State == TCP_CLOSE || tp.Family != socket.AF_INET {
			tp.Mu.Unlock()
			continue
		}
		tp.procLine(&lb, now)
		r := tcpProcRow{lport: tp.Num, rport: tp.Dport, raddr: procHex(addrOr0(tp.Daddr).As4()), line: lb.Bytes()}
		tp.Mu.Unlock()
		rows = append(rows, r)
	}
	for _, tw := range in.tcp.timewaitSocks() {
		var lb bytes.Buffer
		tw.mu.Lock()
		if !tw.dead && tw.key.laddr.Is4() {
			tw.procLine(&lb, now)
			rows = append(rows, tcpProcRow{lport: tw.key.lport, rport: tw.key.rport, raddr: procHex(tw.key.raddr.As4()), line: lb.Bytes()})
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
		pad(start)
	}
}

// procLine is get_tcp4_sock and get_openreq4 (Mu held), without the "sl"
// column.
func (tp *tcpSock) procLine(b *bytes.Buffer, now time.Duration) {
	src := procHex(addrOr0(tp.localAddr()).As4())
	dst := procHex(addrOr0(tp.Daddr).As4())
	var ino uint64
	if tp.Socket != nil {
		ino = tp.Socket.Ino
	}
	switch {
	case tp.State == TCP_SYN_RECV && tp.parent != nil:
		delta := max(tp.rtxTimeout-now, 0)
		fmt.Fprintf(b, "%08X:%04X %08X:%04X %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x",
			src, tp.Num, dst, tp.Dport, TCP_SYN_RECV, 0, 0, 1, clockT(delta), tp.retransmits, tp.Uid, 0, 0, 0, 0)
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
	quick := 0
	if tp.quickAcks > 0 {
		quick = 1
	}
	fmt.Fprintf(b, "%08X:%04X %08X:%04X %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x %d %d %d %d %d",
		src, tp.Num, dst, tp.Dport, tp.State, txq, rxq,
		timerActive, clockT(max(expires-now, 0)), tp.retransmits,
		tp.Uid, tp.probesOut, ino, 2, 0,
		clockT(tp.rto), clockT(tp.ato), quick<<1, tp.sndCwnd, ssthresh)
}

// procLine is get_timewait4_sock (tw.mu held): the substate (05 for an
// orphan's FIN_WAIT2, 06 for TIME_WAIT), the timer as "3" with its time
// left, and the refcount Linux shows for an entry in both hashes with its
// timer armed (3).
func (tw *tcpTimewaitSock) procLine(b *bytes.Buffer, now time.Duration) {
	fmt.Fprintf(b, "%08X:%04X %08X:%04X %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x",
		procHex(tw.key.laddr.As4()), tw.key.lport, procHex(tw.key.raddr.As4()), tw.key.rport, tw.substate, 0, 0,
		3, clockT(max(tw.expires-now, 0)), 0, 0, 0, 0, 3, 0)
}
