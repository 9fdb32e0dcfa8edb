package inode

import (
	"sync"
	"syscall"
	"testing"
	"time"

	"sockfs/socket"
)

func TestNumbersNeverReused(t *testing.T) {
	sb := New(Config{})
	seen := map[uint64]bool{}
	var last uint64
	for i := 0; i < 100; i++ {
		sock, err := sb.SockAlloc(socket.Cred{Uid: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if seen[sock.Ino] {
			t.Fatalf("ino %d handed out twice", sock.Ino)
		}
		if sock.Ino <= last {
			t.Fatalf("ino %d after %d: not increasing", sock.Ino, last)
		}
		seen[sock.Ino] = true
		last = sock.Ino
		if i%2 == 0 {
			sb.SockFree(sock)
		}
	}
	if got := sb.Len(); got != 50 {
		t.Fatalf("Len = %d, want 50", got)
	}
}

func TestFirstIno(t *testing.T) {
	sb := New(Config{})
	sock, _ := sb.SockAlloc(socket.Cred{})
	if sock.Ino != DefaultFirstIno {
		t.Fatalf("first ino %d, want %d", sock.Ino, DefaultFirstIno)
	}
	sb = New(Config{FirstIno: 100})
	sock, _ = sb.SockAlloc(socket.Cred{})
	if sock.Ino != 100 {
		t.Fatalf("first ino %d, want 100", sock.Ino)
	}
}

func TestOwnerAndLookup(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	sb := New(Config{Now: func() time.Time { return at }})
	sock, err := sb.SockAlloc(socket.Cred{Uid: 1000, Gid: 100, Pid: 7})
	if err != nil {
		t.Fatal(err)
	}
	sa, ok := sb.Lookup(sock.Ino)
	if !ok || &sa.Socket != sock {
		t.Fatalf("Lookup(%d) = %v, %v", sock.Ino, sa, ok)
	}
	want := Inode{Ino: sock.Ino, Uid: 1000, Gid: 100, Mode: DirMode, Ctime: at}
	if sa.Inode != want {
		t.Fatalf("inode %+v, want %+v", sa.Inode, want)
	}
	if got, ok := sb.SocketI(sock); !ok || got != sa {
		t.Fatalf("SocketI = %v, %v", got, ok)
	}
	sb.SockFree(sock)
	if _, ok := sb.Lookup(sock.Ino); ok {
		t.Fatal("Lookup finds a freed socket")
	}
	if _, ok := sb.SocketI(sock); ok {
		t.Fatal("SocketI finds a freed socket")
	}
	// A second free, or a free of a foreign socket, changes nothing.
	other, _ := sb.SockAlloc(socket.Cred{Uid: 1000})
	sb.SockFree(sock)
	sb.SockFree(&socket.Socket{Ino: other.Ino})
	if _, ok := sb.Lookup(other.Ino); !ok {
		t.Fatal("freeing a foreign socket with the same ino dropped the real one")
	}
}

func TestPerUidLimit(t *testing.T) {
	sb := New(Config{MaxPerUid: 3})
	var socks []*socket.Socket
	for i := 0; i < 3; i++ {
		s, err := sb.SockAlloc(socket.Cred{Uid: 1000})
		if err != nil {
			t.Fatal(err)
		}
		socks = append(socks, s)
	}
	if _, err := sb.SockAlloc(socket.Cred{Uid: 1000}); err != syscall.EMFILE {
		t.Fatalf("4th socket of uid 1000: %v, want EMFILE", err)
	}
	if _, err := sb.SockAlloc(socket.Cred{Uid: 1001}); err != nil {
		t.Fatalf("another uid is limited too: %v", err)
	}
	sb.SockFree(socks[0])
	if _, err := sb.SockAlloc(socket.Cred{Uid: 1000}); err != nil {
		t.Fatalf("after a free: %v", err)
	}
}

func TestTotalLimit(t *testing.T) {
	sb := New(Config{MaxTotal: 2})
	a, _ := sb.SockAlloc(socket.Cred{Uid: 1})
	if _, err := sb.SockAlloc(socket.Cred{Uid: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.SockAlloc(socket.Cred{Uid: 3}); err != syscall.ENFILE {
		t.Fatalf("3rd socket: %v, want ENFILE", err)
	}
	sb.SockFree(a)
	if _, err := sb.SockAlloc(socket.Cred{Uid: 3}); err != nil {
		t.Fatal(err)
	}
}

func TestInodesInOrder(t *testing.T) {
	sb := New(Config{})
	var socks []*socket.Socket
	for i := 0; i < 10; i++ {
		s, _ := sb.SockAlloc(socket.Cred{Uid: uint32(i % 3)})
		socks = append(socks, s)
	}
	sb.SockFree(socks[4])
	all := sb.Inodes()
	if len(all) != 9 {
		t.Fatalf("%d inodes, want 9", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Inode.Ino >= all[i].Inode.Ino {
			t.Fatalf("not in ino order: %d then %d", all[i-1].Inode.Ino, all[i].Inode.Ino)
		}
	}
}

func TestConcurrentAlloc(t *testing.T) {
	sb := New(Config{MaxPerUid: 1 << 20, MaxTotal: 1 << 20})
	const workers, each = 8, 200
	inos := make(chan uint64, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				s, err := sb.SockAlloc(socket.Cred{Uid: uint32(w)})
				if err != nil {
					t.Error(err)
					return
				}
				inos <- s.Ino
				if i%3 == 0 {
					sb.SockFree(s)
				}
			}
		}()
	}
	wg.Wait()
	close(inos)
	seen := map[uint64]bool{}
	for ino := range inos {
		if seen[ino] {
			t.Fatalf("ino %d handed out twice", ino)
		}
		seen[ino] = true
	}
	if len(seen) != workers*each {
		t.Fatalf("%d distinct inos, want %d", len(seen), workers*each)
	}
}
