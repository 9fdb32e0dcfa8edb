// Command gvisor-peer is the gVisor column of tests/bench/e2e.sh: gVisor's
// user-space TCP/IP stack (gvisor.dev/gvisor/pkg/tcpip, the netstack) on a
// TAP, driven the way the bench drives sockfs, so the two stacks are
// measured by the same kernel-side peers on the same bytes in one run.
//
// It lives in a Go module of its own so that sockfs's go.mod stays lean;
// `make bench` builds it (the module comes through the Go module proxy) and
// `make test` never needs it.
//
//	gvisor-peer -tap NAME -mtu N [-addr 198.18.0.2/24] [-vnet]
//
// opens (creates) the TAP, prints "ready NAME" and then serves one command
// per line on stdin, answering on stdout. The bench configures the kernel's
// side of the TAP (address, MTU, up) after "ready", as sockfsd does for its
// own TAP.
//
//	send HOST PORT FILE   connect, write FILE, close; "ok" when written
//	recv HOST PORT FILE   connect, read to EOF into FILE; "ok" at EOF
//	echo PORT             "listening", then echo one connection; "ok"
//	accept PORT N         "listening", then accept and close N; "ok"
//
// With -vnet the TAP carries virtio-net headers and the kernel may hand
// over TSO super-frames and leave checksums to the receiver (the setup
// sockfsd --offload has), and gVisor's endpoint sends with GSO and
// checksum offload. gVisor's fdbased endpoint turns virtio-net headers on
// only for a socket descriptor, so frames are relayed, unchanged, between
// the TAP and a SOCK_SEQPACKET socketpair whose other end is the endpoint's
// (vnet.go): one more copy per frame, of a 64 KiB super-frame at best.
//
// ICMP echo is answered by the stack itself, so the kernel can ping it.
// Stdin at EOF ends the program; every connection has a deadline.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/tun"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// deadline bounds every connection, as e2e.sh bounds every step.
const deadline = 60 * time.Second

const nicID = 1

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gvisor-peer:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := newFlags()
	if err := fs.parse(os.Args[1:]); err != nil {
		return err
	}
	s, err := newStack(fs)
	if err != nil {
		return err
	}
	fmt.Println("ready", fs.tap)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		if err := command(s, f); err != nil {
			return fmt.Errorf("%s: %w", f[0], err)
		}
		fmt.Println("ok")
	}
	return in.Err()
}

type flags struct {
	tap  string
	mtu  int
	addr netip.Prefix
	vnet bool
}

func newFlags() *flags { return &flags{addr: netip.MustParsePrefix("198.18.0.2/24")} }

func (f *flags) parse(args []string) error {
	for i := 0; i < len(args); i++ {
		if args[i] == "-vnet" {
			f.vnet = true
			continue
		}
		if i+1 >= len(args) {
			return fmt.Errorf("flag %s needs a value", args[i])
		}
		v := args[i+1]
		var err error
		switch args[i] {
		case "-tap":
			f.tap = v
		case "-mtu":
			f.mtu, err = strconv.Atoi(v)
		case "-addr":
			f.addr, err = netip.ParsePrefix(v)
		default:
			return fmt.Errorf("unknown flag %s", args[i])
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", args[i], v, err)
		}
		i++
	}
	if f.tap == "" || f.mtu < 68 {
		return errors.New("usage: gvisor-peer -tap NAME -mtu N [-addr PREFIX]")
	}
	return nil
}

// newStack is gVisor's netstack with IPv4, ARP, TCP (SACK on, as Linux and
// sockfs have it) and ICMP on one NIC over the TAP: fdbased reads and writes
// Ethernet frames on the descriptor with one syscall per frame, as sockfs's
// TAP driver does.
func newStack(f *flags) (*stack.Stack, error) {
	mac, _ := net.ParseMAC("02:00:c6:12:00:02")
	opts := &fdbased.Options{
		MTU:            uint32(f.mtu),
		EthernetHeader: true,
		Address:        tcpip.LinkAddress(mac),
	}
	if f.vnet {
		fd, err := openVnetRelay(f.tap)
		if err != nil {
			return nil, err
		}
		opts.FDs = []int{fd}
		opts.GSOMaxSize = 65536
		// TX checksum offload stays off: fdbased marks NEEDS_CSUM only on
		// GSO frames, so a single segment sent with its checksum left
		// out would reach the kernel with a bad one. GSO frames carry
		// their partial checksum and NEEDS_CSUM all the same.
		opts.RXChecksumOffload = true
	} else {
		fd, err := tun.OpenTAP(f.tap)
		if err != nil {
			return nil, fmt.Errorf("open tap %s: %w", f.tap, err)
		}
		opts.FDs = []int{fd}
	}
	ep, err := fdbased.New(opts)
	if err != nil {
		return nil, fmt.Errorf("fdbased: %w", err)
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, icmp.NewProtocol4},
	})
	sack := tcpip.TCPSACKEnabled(true)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		return nil, fmt.Errorf("sack: %v", err)
	}
	if err := s.CreateNIC(nicID, ep); err != nil {
		return nil, fmt.Errorf("nic: %v", err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddrFromSlice(f.addr.Addr().AsSlice()).WithPrefix(),
	}
	pa.AddressWithPrefix.PrefixLen = f.addr.Bits()
	if err := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("address: %v", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID}})
	return s, nil
}

func command(s *stack.Stack, f []string) error {
	switch {
	case f[0] == "send" && len(f) == 4:
		return send(s, f[1], f[2], f[3])
	case f[0] == "recv" && len(f) == 4:
		return recv(s, f[1], f[2], f[3])
	case f[0] == "echo" && len(f) == 2:
		return echo(s, f[1])
	case f[0] == "accept" && len(f) == 3:
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return err
		}
		return acceptClose(s, f[1], n)
	}
	return fmt.Errorf("bad command %q", strings.Join(f, " "))
}

func fullAddr(host, port string) (tcpip.FullAddress, error) {
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return tcpip.FullAddress{}, err
	}
	a := tcpip.FullAddress{NIC: nicID, Port: uint16(p)}
	if host != "" {
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return tcpip.FullAddress{}, err
		}
		a.Addr = tcpip.AddrFromSlice(ip.AsSlice())
	}
	return a, nil
}

func dial(s *stack.Stack, host, port string) (*gonet.TCPConn, error) {
	a, err := fullAddr(host, port)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, s, a, ipv4.ProtocolNumber)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(deadline))
	return c, nil
}

// send writes FILE in 128 KiB writes, the block size the bench's dd uses
// on sockfs's data file.
func send(s *stack.Stack, host, port, file string) error {
	src, err := os.Open(file)
	if err != nil {
		return err
	}
	defer src.Close()
	c, err := dial(s, host, port)
	if err != nil {
		return err
	}
	buf := make([]byte, 128<<10)
	if _, err := io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{src}, buf); err != nil {
		c.Close()
		return err
	}
	return c.Close()
}

func recv(s *stack.Stack, host, port, file string) error {
	dst, err := os.Create(file)
	if err != nil {
		return err
	}
	c, err := dial(s, host, port)
	if err != nil {
		dst.Close()
		return err
	}
	buf := make([]byte, 128<<10)
	_, err = io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{c}, buf)
	c.Close()
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}

func listen(s *stack.Stack, port string) (*gonet.TCPListener, error) {
	a, err := fullAddr("", port)
	if err != nil {
		return nil, err
	}
	l, err := gonet.ListenTCP(s, a, ipv4.ProtocolNumber)
	if err != nil {
		return nil, err
	}
	fmt.Println("listening")
	return l, nil
}

// accepted waits for one connection, bounded by deadline.
func accepted(l *gonet.TCPListener) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-time.After(deadline):
		l.Close()
		return nil, errors.New("accept: timed out")
	}
}

// echo serves one connection, writing back what it reads, as tcp_peers.py's
// rr-server and rr-sockfs do.
func echo(s *stack.Stack, port string) error {
	l, err := listen(s, port)
	if err != nil {
		return err
	}
	defer l.Close()
	c, err := accepted(l)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(deadline))
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// acceptClose accepts n connections one after another and closes each at
// once, as tcp_peers.py's conn-server and conn-sockfs do.
func acceptClose(s *stack.Stack, port string, n int) error {
	l, err := listen(s, port)
	if err != nil {
		return err
	}
	defer l.Close()
	for i := 0; i < n; i++ {
		c, err := accepted(l)
		if err != nil {
			return err
		}
		c.Close()
	}
	return nil
}
