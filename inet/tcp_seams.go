package inet

// This file holds the seams the TCP files fill; it is replaced by them.

import "sockfs/socket"

type tcpNet struct{}

type tcpSock struct{ InetSock }

func (in *Net) tcpInit()                                {}
func tcpPoll(sock *socket.Socket) uint32                { return 0 }
func tcpSk(s socket.Sk) *tcpSock                        { return s.(*tcpSock) }
func inetCskListenStart(s socket.Sk, backlog int) error { return socket.EOPNOTSUPP }
