package netdev

import (
	"encoding/binary"
	"io"
	"log"
	"sync"
	"sync/atomic"
	"time"
)

// The libpcap savefile format (pcap-savefile(5)), written in this machine's
// byte order, which readers detect from the magic.
const (
	pcapMagic        = 0xa1b2c3d4 // microsecond timestamps
	pcapVersionMajor = 2
	pcapVersionMinor = 4
	PcapSnaplen      = 262144
	pcapLinktypeEth  = 1 // LINKTYPE_ETHERNET
	pcapFileHdrLen   = 24
	pcapRecHdrLen    = 16
)

var _ Driver = (*Pcap)(nil)

// Pcap wraps a Driver and writes every frame it sends and receives to a
// libpcap file, as a packet socket tapping the device (dev_queue_xmit_nit
// and the ptype_all taps of net/core/dev.c) would for tcpdump -w. Wrap the
// device driver itself, inside any Netem, so the file shows what crosses
// the wire: sent frames after netem has dropped, delayed or corrupted them,
// received ones as the device delivers them, before netem and protocol
// processing see them.
//
// A sent frame is stamped when it is handed to inner and recorded once
// inner has taken it (a refused frame did not cross); the lock held across
// both keeps a received frame's record, a reply perhaps, from being stamped
// or written before the frame it answers. A failing writer never stops the
// stack: errors are counted, and logged the first time.
type Pcap struct {
	inner Driver
	now   func() time.Time // wall clock; tests fix it

	mu     sync.Mutex
	w      io.Writer           // protected by mu
	rec    [pcapRecHdrLen]byte // protected by mu
	errors atomic.Uint64
	logged atomic.Bool
}

// NewPcap writes the file header to w at once and returns the wrapper. The
// caller owns w; Close flushes it when it has a Flush method (a
// bufio.Writer) but does not close it.
func NewPcap(inner Driver, w io.Writer) (*Pcap, error) {
	var h [pcapFileHdrLen]byte
	ne := binary.NativeEndian
	ne.PutUint32(h[0:], pcapMagic)
	ne.PutUint16(h[4:], pcapVersionMajor)
	ne.PutUint16(h[6:], pcapVersionMinor)
	// thiszone and sigfigs (8..15) stay zero: timestamps are UTC.
	ne.PutUint32(h[16:], PcapSnaplen)
	ne.PutUint32(h[20:], pcapLinktypeEth)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &Pcap{inner: inner, w: w, now: time.Now}, nil
}

// Xmit stamps the frame, sends it through inner and records it if inner
// took it.
func (p *Pcap) Xmit(skb *SkBuff) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ts := p.now()
	if err := p.inner.Xmit(skb); err != nil {
		return err
	}
	p.recordLocked(ts, skb.Data())
	return nil
}

// Receive runs inner's receive loop, recording each frame before rx.
func (p *Pcap) Receive(rx func(*SkBuff)) error {
	return p.inner.Receive(func(skb *SkBuff) {
		p.mu.Lock()
		p.recordLocked(p.now(), skb.Data())
		p.mu.Unlock()
		rx(skb)
	})
}

// Close closes inner and flushes the writer if it buffers.
func (p *Pcap) Close() error {
	err := p.inner.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.w.(interface{ Flush() error }); ok {
		if ferr := f.Flush(); ferr != nil {
			p.failed(ferr)
		}
	}
	return err
}

// Errors is the number of failed writes.
func (p *Pcap) Errors() uint64 { return p.errors.Load() }

// recordLocked writes one frame's record header, stamped ts, and its
// bytes, cut at the snaplen. mu held.
func (p *Pcap) recordLocked(ts time.Time, frame []byte) {
	caplen := min(len(frame), PcapSnaplen)
	ne := binary.NativeEndian
	ne.PutUint32(p.rec[0:], uint32(ts.Unix()))
	ne.PutUint32(p.rec[4:], uint32(ts.Nanosecond()/1000))
	ne.PutUint32(p.rec[8:], uint32(caplen))
	ne.PutUint32(p.rec[12:], uint32(len(frame)))
	if _, err := p.w.Write(p.rec[:]); err != nil {
		p.failed(err)
		return
	}
	if _, err := p.w.Write(frame[:caplen]); err != nil {
		p.failed(err)
	}
}

func (p *Pcap) failed(err error) {
	p.errors.Add(1)
	if p.logged.CompareAndSwap(false, true) {
		log.Printf("netdev: pcap: write: %v (capture continues; later errors only counted)", err)
	}
}
