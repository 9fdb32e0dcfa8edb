package header

import "encoding/binary"

// Tcphdr is struct tcphdr (RFC 9293 §3.1).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|       |       |R|E|G|K|H|T|N|N|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           [Options]                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Tcphdr []byte

const (
	TCPMinLen = 20
	TCPMaxLen = 60

	tcpSource = 0
	tcpDest   = 2
	tcpSeq    = 4
	tcpAckSeq = 8
	tcpDoff   = 12
	tcpFlags  = 13
	tcpWindow = 14
	tcpCheck  = 16
	tcpUrgPtr = 18

	TCP_FIN = 0x01
	TCP_SYN = 0x02
	TCP_RST = 0x04
	TCP_PSH = 0x08
	TCP_ACK = 0x10
	TCP_URG = 0x20
	TCP_ECE = 0x40
	TCP_CWR = 0x80

	// Option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
	TCPOPT_EOL       = 0
	TCPOPT_NOP       = 1
	TCPOPT_MSS       = 2
	TCPOPT_WINDOW    = 3
	TCPOPT_SACK_PERM = 4
	TCPOPT_SACK      = 5
	TCPOPT_TIMESTAMP = 8
)

// ParseTcphdr checks that b holds a whole TCP header with its options
// (doff >= 5 and doff*4 <= len(b)). After ok no accessor panics; Payload is
// the rest of b.
func ParseTcphdr(b []byte) (Tcphdr, bool) {
	if len(b) < TCPMinLen {
		return nil, false
	}
	doff := int(b[tcpDoff]>>4) * 4
	if doff < TCPMinLen || doff > len(b) {
		return nil, false
	}
	return Tcphdr(b), true
}

func (h Tcphdr) Source() uint16  { return binary.BigEndian.Uint16(h[tcpSource:]) }
func (h Tcphdr) Dest() uint16    { return binary.BigEndian.Uint16(h[tcpDest:]) }
func (h Tcphdr) Seq() uint32     { return binary.BigEndian.Uint32(h[tcpSeq:]) }
func (h Tcphdr) AckSeq() uint32  { return binary.BigEndian.Uint32(h[tcpAckSeq:]) }
func (h Tcphdr) Doff() int       { return int(h[tcpDoff]>>4) * 4 }
func (h Tcphdr) Flags() uint8    { return h[tcpFlags] }
func (h Tcphdr) Window() uint16  { return binary.BigEndian.Uint16(h[tcpWindow:]) }
func (h Tcphdr) Check() uint16   { return binary.BigEndian.Uint16(h[tcpCheck:]) }
func (h Tcphdr) UrgPtr() uint16  { return binary.BigEndian.Uint16(h[tcpUrgPtr:]) }
func (h Tcphdr) Options() []byte { return h[TCPMinLen:h.Doff()] }
func (h Tcphdr) Payload() []byte { return h[h.Doff():] }

// SetCheck stores a checksum computed over the segment (header and payload)
// by the caller with the pseudo-header.
func (h Tcphdr) SetCheck(c uint16) { binary.BigEndian.PutUint16(h[tcpCheck:], c) }

// TCPFields is what Encode writes. Options must be padded to a multiple of 4.
type TCPFields struct {
	Source, Dest uint16
	Seq, AckSeq  uint32
	Flags        uint8
	Window       uint16
	UrgPtr       uint16
	Options      []byte
}

// Encode writes f into h (len(h) >= TCPMinLen+len(f.Options)) with a zero
// checksum; the caller computes it over the whole segment.
func (h Tcphdr) Encode(f TCPFields) {
	binary.BigEndian.PutUint16(h[tcpSource:], f.Source)
	binary.BigEndian.PutUint16(h[tcpDest:], f.Dest)
	binary.BigEndian.PutUint32(h[tcpSeq:], f.Seq)
	binary.BigEndian.PutUint32(h[tcpAckSeq:], f.AckSeq)
	h[tcpDoff] = uint8((TCPMinLen+len(f.Options))/4) << 4
	h[tcpFlags] = f.Flags
	binary.BigEndian.PutUint16(h[tcpWindow:], f.Window)
	binary.BigEndian.PutUint16(h[tcpCheck:], 0)
	binary.BigEndian.PutUint16(h[tcpUrgPtr:], f.UrgPtr)
	copy(h[TCPMinLen:], f.Options)
}

// TCPOptions is the parsed form of the options tcp_parse_options reads.
type TCPOptions struct {
	MSS        uint16 // 0 if absent
	WScale     int8   // -1 if absent
	SackPerm   bool
	TSVal      uint32
	TSEcr      uint32
	HasTS      bool
	NumSACK    int
	SACKBlocks [4][2]uint32 // left, right edges
}

// ParseTCPOptions is tcp_parse_options: it walks the option list, ignores
// unknown kinds, and stops at a malformed length instead of reading past the
// end. It never panics.
func ParseTCPOptions(opts []byte, syn bool) TCPOptions {
	o := TCPOptions{WScale: -1}
	for i := 0; i < len(opts); {
		kind := opts[i]
		switch kind {
		case TCPOPT_EOL:
			return o
		case TCPOPT_NOP:
			i++
			continue
		}
		if i+1 >= len(opts) {
			return o
		}
		l := int(opts[i+1])
		if l < 2 || i+l > len(opts) {
			return o
		}
		v := opts[i+2 : i+l]
		switch kind {
		case TCPOPT_MSS:
			if l == 4 && syn {
				o.MSS = binary.BigEndian.Uint16(v)
			}
		case TCPOPT_WINDOW:
			if l == 3 && syn {
				o.WScale = int8(min(v[0], 14)) // RFC 7323 §2.3: cap at 14
			}
		case TCPOPT_SACK_PERM:
			if l == 2 && syn {
				o.SackPerm = true
			}
		case TCPOPT_TIMESTAMP:
			if l == 10 {
				o.HasTS = true
				o.TSVal = binary.BigEndian.Uint32(v)
				o.TSEcr = binary.BigEndian.Uint32(v[4:])
			}
		case TCPOPT_SACK:
			if (l-2)%8 == 0 && !syn {
				n := min((l-2)/8, len(o.SACKBlocks))
				for k := 0; k < n; k++ {
					o.SACKBlocks[k][0] = binary.BigEndian.Uint32(v[k*8:])
					o.SACKBlocks[k][1] = binary.BigEndian.Uint32(v[k*8+4:])
				}
				o.NumSACK = n
			}
		}
		i += l
	}
	return o
}
