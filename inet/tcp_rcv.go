package inet

import (
	"net/netip"

	"sockfs/inet/header"
	"sockfs/netdev"
)

// tcpRcvOps is what a family's receive function (tcp_v4_rcv, tcp_v6_rcv)
// hands the half of it both families share: Linux writes that half twice,
// in tcp_ipv4.c and tcp_ipv6.c; here the network header is read by the
// family (addresses, checksum) and the rest runs once.
type tcpRcvOps struct {
	// name is the family's receive function, as the trace prints it.
	name string
	// cookieCheck is cookie_v4_check on a listener (nil where the family
	// has no SYN cookies): the child a valid cookie in an ACK makes, and
	// whether the cookie code took the segment. seg goes by value: a
	// pointer through a func field would move every segment to the heap.
	cookieCheck func(lp *tcpSock, skb *netdev.SkBuff, seg tcpSegment) (*tcpSock, bool)
	// sendReset answers a segment no sock wants (tcp_v4_send_reset,
	// tcp_v6_send_reset); skb still holds the network header.
	sendReset func(in *Net, skb *netdev.SkBuff, seg tcpSegment)
}

// tcpParseSegment reads the TCP header th at skb's data into seg (the
// part of tcp_v4_rcv/tcp_v6_rcv after the checksum that fills
// TCP_SKB_CB) and pulls it, leaving skb's data at the payload.
func tcpParseSegment(skb *netdev.SkBuff, th header.Tcphdr, seg *tcpSegment) {
	seg.sport, seg.dport = th.Source(), th.Dest()
	seg.seq, seg.ack = th.Seq(), th.AckSeq()
	seg.flags = th.Flags()
	seg.window = th.Window()
	seg.dataLen = skb.Len() - th.Doff()
	seg.endSeq = seg.seq + uint32(seg.dataLen)
	if seg.flags&tcpFlagSYN != 0 {
		seg.endSeq++
	}
	if seg.flags&tcpFlagFIN != 0 {
		seg.endSeq++
	}
	if th.Doff() > header.TCPMinLen {
		seg.opts = header.ParseTCPOptions(th.Options(), seg.flags&tcpFlagSYN != 0)
	} else {
		seg.opts.WScale = -1
	}
	skb.Pull(th.Doff())
}

// tcpRcv is the family-neutral half of tcp_v4_rcv and tcp_v6_rcv: find
// the sock by the 4-tuple key, then a timewait entry or a listener, and
// run the state machine under its lock. Segments for no sock get a RST
// (RFC 9293 §3.10.7.1). It owns skb.
func (in *Net) tcpRcv(skb *netdev.SkBuff, key tcpHashKey, seg *tcpSegment, ops *tcpRcvOps) {
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "%s %v -> %v seq=%d ack=%d len=%d flags=%s", ops.name,
			netip.AddrPortFrom(key.raddr, key.rport), netip.AddrPortFrom(key.laddr, key.lport),
			seg.seq, seg.ack, seg.dataLen, tcpFlagString(seg.flags))
	}
	for attempt := 0; attempt < 3; attempt++ {
		tp, tw := in.tcp.lookupTw(key)
		if tw != nil {
			// do_time_wait
			again, isn := tw.timewaitRcv(skb, seg)
			if again {
				seg.twIsn = isn // tcp_tw_isn: a listener may take the SYN
				continue
			}
			skb.Free()
			return
		}
		if tp == nil {
			break
		}
		tp.Mu.Lock()
		if tp.destroyed || tp.State == TCP_CLOSE {
			// It left the tables between lookup and lock: look again.
			tp.Mu.Unlock()
			continue
		}
		var consumed bool
		switch tp.State {
		case TCP_LISTEN:
			var child *tcpSock
			handled := false
			if ops.cookieCheck != nil {
				child, handled = ops.cookieCheck(tp, skb, *seg)
			}
			if !handled {
				tp.listenRcv(skb, seg, ops.sendReset)
			}
			tp.Mu.Unlock()
			if child != nil {
				child.cookieChildRcv(skb, seg)
				return
			}
			skb.Free()
			return
		case TCP_ESTABLISHED:
			// tcp_v4_do_rcv, tcp_v6_do_rcv: ESTABLISHED has its own path.
			consumed = tp.rcvEstablished(skb, seg)
			if consumed && in.traceOn() {
				in.traceSk(tp, "%s seq=%d len=%d -> tcp_rcv_established -> sk_data_ready", ops.name, seg.seq, seg.dataLen)
			}
		default:
			consumed = tp.rcvStateProcess(skb, seg)
			if consumed && in.traceOn() {
				in.traceSk(tp, "%s seq=%d len=%d -> tcp_rcv_state_process -> sk_data_ready", ops.name, seg.seq, seg.dataLen)
			}
		}
		var parent *tcpSock
		if tp.pendingAccept {
			tp.pendingAccept = false
			parent = tp.parent
			tp.leaveSynQueue()
			tp.parent = nil
		}
		tp.Mu.Unlock()
		if !consumed {
			skb.Free()
		}
		if parent != nil {
			parent.acceptQueueAdd(tp)
		}
		return
	}
	// No sock (RFC 9293 §3.10.7.1 CLOSED): answer with a RST.
	ops.sendReset(in, skb, *seg)
	skb.Free()
}
