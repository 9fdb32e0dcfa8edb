// Package inet is the IPv4 protocol family: net/ipv4/ of the kernel.
//
// Init (inet_init) registers AF_INET into a socket.Net, fills the inetsw
// table that maps a socket type and protocol to a struct proto and a
// proto_ops from one literal (inetswArray, inetsw_array), registers the
// transport protocols' receive handlers in inet_protos (inetProtos), and
// hooks ip_rcv and arp_rcv into the device layer.
//
// Files follow the kernel's split: af_inet.go (inet_create, inetsw_array,
// inet_protos and the ops tables inet_stream_ops, inet_dgram_ops and
// inet_sockraw_ops, bind/connect/accept/shutdown/getname), inet_sock.go,
// ip_input.go, ip_output.go, skbuff.go (ip_hdr), ip_options.go, route.go
// (fib and routing), route_input.go (ip_route_input_slow's martian
// checks), neighbour.go (net/core/neighbour.c: the family-neutral
// neigh_table core, whose neigh_resolve_output is the one exit to
// dev_queue_xmit; inet6's nd_tbl uses it too), arp.go (arp_tbl on that
// core), icmp.go,
// devinet.go (interface addresses), snmp.go (MIB counters), proc.go (the
// /proc/net tables), and tcp*.go for TCP: tcp.go (tcp_prot, sendmsg,
// recvmsg, close), tcp_input.go, tcp_oow.go (tcp_oow_rate_limited),
// tcp_output.go, tcp_timer.go, tcp_ipv4.go (tcp_v4_rcv, connect),
// tcp_cong.go (Reno, CUBIC), tcp_proc.go (net/tcp),
// inet_connection_sock.go (listen, the SYN and accept queues, accept) and
// inet_hashtables.go (bind, established and listening hashes, ephemeral
// ports). The datagram protocols: udp.go, ping.go, raw.go and datagram.go
// (ip4_datagram_connect, datagram_poll); ip_fragment.go reassembles.
// ratelimit.go is lib/ratelimit.c's net_ratelimit for the log lines that
// packets from the network can cause.
//
// The TCP core (tcp.go, tcp_input.go, tcp_output.go, tcp_timer.go,
// tcp_cong.go, inet_connection_sock.go, inet_timewait_sock.go,
// inet_hashtables.go) names no family, as Linux's does not: what TCP needs
// of the network layer goes through the sock's afOps, the kernel's
// inet_connection_sock_af_ops. tcp_ipv4.go fills it in as ipv4_specific:
// queue_xmit (ip_queue_xmit), send_check (tcp_v4_send_check, the
// pseudo-header checksum), conn_request (tcp_v4_conn_request),
// syn_recv_sock (tcp_v4_syn_recv_sock: the child and its route),
// cookie_init_seq (cookie_v4_init_sequence), mtu_reduced
// (tcp_v4_mtu_reduced), net_header_len (20, which the MSS leaves room
// for), addr2sockaddr, and the answers sent without a full sock
// (tcp_v4_send_reset, tcp_v4_send_ack, which the listener and the
// timewait code reach through the table). tcp_v4_init_sock sets it; a
// listener's children inherit it. Addresses in the core are netip.Addr,
// so the hash keys and the RFC 6528/6056 and SYN cookie hashes take
// either family's. tcp_family_test.go fails on an IPv4-only name in a
// core file.
//
// Locking: each sock's Mu (socket.Sock) is lock_sock and bh_lock_sock in
// one; the device receive loop (softirq) and FUSE requests (process
// context) take it for protocol work and never sleep holding it. Tables of
// the namespace (routes, neighbours, hash tables) have their own locks,
// always taken after a sock's Mu when both are needed, never before.
package inet
