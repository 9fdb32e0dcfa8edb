package netdev

import (
	"bytes"
	"slices"
	"testing"

	"sockfs/internal/race"
)

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func TestSkbHeadroomAndTailroom(t *testing.T) {
	skb := AllocSkb(100)
	defer skb.Free()
	if skb.Headroom() != MaxHeader || skb.Len() != 0 || skb.Tailroom() < 100 {
		t.Fatalf("fresh skb: headroom %d len %d tailroom %d", skb.Headroom(), skb.Len(), skb.Tailroom())
	}
	room := skb.Tailroom()
	copy(skb.Put(5), "hello")
	if skb.Len() != 5 || skb.Tailroom() != room-5 || string(skb.Data()) != "hello" {
		t.Fatalf("after Put: %q tailroom %d", skb.Data(), skb.Tailroom())
	}
	payload := skb.Offset()
	copy(skb.Push(3), "abc")
	copy(skb.Push(2), "xy")
	if string(skb.Data()) != "xyabchello" || skb.Headroom() != MaxHeader-5 {
		t.Fatalf("after Push: %q headroom %d", skb.Data(), skb.Headroom())
	}
	if string(skb.At(payload)) != "hello" {
		t.Errorf("At(payload) = %q", skb.At(payload))
	}
	if got := skb.Pull(2); string(got) != "xy" || string(skb.Data()) != "abchello" {
		t.Errorf("Pull(2) = %q, data %q", got, skb.Data())
	}
	if got := skb.Pull(100); got != nil || skb.Len() != 8 {
		t.Errorf("Pull past the end = %q, len %d", got, skb.Len())
	}
	// A retransmission takes the pushed headers off again.
	skb.SetHeadroom(payload)
	if string(skb.Data()) != "hello" {
		t.Errorf("after SetHeadroom: %q", skb.Data())
	}
	skb.Trim(10)
	if skb.Len() != 5 {
		t.Errorf("Trim beyond Len changed it to %d", skb.Len())
	}
	skb.Trim(4)
	if string(skb.Data()) != "hell" {
		t.Errorf("after Trim(4): %q", skb.Data())
	}

	r := AllocSkb(64)
	defer r.Free()
	r.Reserve(20)
	if r.Headroom() != MaxHeader+20 || r.Len() != 0 {
		t.Errorf("after Reserve: headroom %d len %d", r.Headroom(), r.Len())
	}
	mustPanic(t, "Push beyond headroom", func() { r.Push(MaxHeader + 21) })
	mustPanic(t, "Put beyond tailroom", func() { r.Put(r.Tailroom() + 1) })
}

func TestSkbSizeClasses(t *testing.T) {
	for _, size := range []int{0, 1514, smallBuf - MaxHeader, smallBuf - MaxHeader + 1, 65535, 200000} {
		skb := AllocSkb(size)
		if skb.Tailroom() < size || skb.Headroom() != MaxHeader {
			t.Errorf("AllocSkb(%d): tailroom %d headroom %d", size, skb.Tailroom(), skb.Headroom())
		}
		skb.Put(size)
		skb.Free()
	}
}

func TestSkbCopy(t *testing.T) {
	skb := AllocSkb(64)
	defer skb.Free()
	copy(skb.Put(8), "payload!")
	skb.TransportHeader = skb.Offset()
	skb.Push(20)
	skb.NetworkHeader = skb.Offset()
	skb.Push(EthHlen)
	skb.MacHeader = skb.Offset()
	skb.Pull(EthHlen)
	skb.Protocol = ETH_P_IP
	skb.Cb = SkbCb{Seq: 7, EndSeq: 15, TCPFlags: 0x18, When: 42}
	dev := &NetDevice{Name: "x"}
	skb.Dev = dev

	c := skb.Copy()
	defer c.Free()
	if !bytes.Equal(c.Data(), skb.Data()) || c.Headroom() < EthHlen {
		t.Fatalf("copy data %q headroom %d", c.Data(), c.Headroom())
	}
	if c.Dev != dev || c.Protocol != ETH_P_IP || c.Cb != skb.Cb {
		t.Errorf("copy metadata: %+v %v %v", c.Cb, c.Protocol, c.Dev)
	}
	if string(c.At(c.TransportHeader)) != "payload!" || c.NetworkHeader != c.Offset() || c.MacHeader != c.Offset()-EthHlen {
		t.Errorf("copy header offsets mac %d net %d transport %d, data at %d", c.MacHeader, c.NetworkHeader, c.TransportHeader, c.Offset())
	}
	c.Data()[0] = 0xff
	if skb.Data()[0] == 0xff {
		t.Error("copy shares the buffer")
	}
}

func TestSkbFree(t *testing.T) {
	var nilSkb *SkBuff
	nilSkb.Free() // kfree_skb(NULL) is allowed

	skb := AllocSkb(10)
	skb.Put(10)
	skb.Protocol = 1
	skb.Dev = &NetDevice{}
	skb.Free()
	fresh := AllocSkb(10) // perhaps the same one, from the pool
	defer fresh.Free()
	if fresh.Len() != 0 || fresh.Protocol != 0 || fresh.Dev != nil || fresh.Headroom() != MaxHeader {
		t.Errorf("reused skb not reset: len %d proto %d dev %v", fresh.Len(), fresh.Protocol, fresh.Dev)
	}

	var q SkbQueue
	queued := AllocSkb(1)
	q.QueueTail(queued)
	mustPanic(t, "Free of a queued skb", queued.Free)
	q.Purge()
}

// named makes an skb whose one data byte names it, of length n.
func named(name byte, n int) *SkBuff {
	skb := AllocSkb(n)
	b := skb.Put(n)
	b[0] = name
	return skb
}

func queueNames(q *SkbQueue) string {
	var s []byte
	for skb := q.Peek(); skb != nil; skb = q.Next(skb) {
		s = append(s, skb.Data()[0])
	}
	var r []byte
	for skb := q.PeekTail(); skb != nil; skb = q.Prev(skb) {
		r = append(r, skb.Data()[0])
	}
	slices.Reverse(r)
	if !bytes.Equal(s, r) {
		return "forward " + string(s) + " != backward " + string(r)
	}
	return string(s)
}

func TestSkbQueue(t *testing.T) {
	var q SkbQueue
	if !q.Empty() || q.Peek() != nil || q.Dequeue() != nil {
		t.Fatal("zero queue not empty")
	}
	a, b, c := named('a', 10), named('b', 20), named('c', 30)
	q.QueueTail(a)
	q.QueueTail(b)
	q.QueueTail(c)
	if q.Len() != 3 || q.Bytes() != 60 || queueNames(&q) != "abc" {
		t.Fatalf("len %d bytes %d %s", q.Len(), q.Bytes(), queueNames(&q))
	}
	x, y := named('x', 1), named('y', 2)
	q.InsertAfter(a, x)
	q.QueueHead(y)
	if got := queueNames(&q); got != "yaxbc" || q.Bytes() != 63 {
		t.Fatalf("%s, bytes %d", got, q.Bytes())
	}
	mustPanic(t, "queueing an skb twice", func() { q.QueueTail(x) })
	var other SkbQueue
	mustPanic(t, "unlinking from the wrong queue", func() { other.Unlink(x) })

	q.Unlink(x) // middle
	q.Unlink(y) // head
	q.Unlink(c) // tail
	if got := queueNames(&q); got != "ab" || q.Len() != 2 || q.Bytes() != 30 {
		t.Fatalf("after unlinks %s len %d bytes %d", got, q.Len(), q.Bytes())
	}
	x.Free()
	y.Free()
	c.Free()

	// A partial read pulls a queued skb and tells the queue.
	q.Peek().Pull(4)
	q.Adjust(-4)
	if q.Bytes() != 26 {
		t.Errorf("bytes after Adjust = %d", q.Bytes())
	}
	if got := q.Dequeue(); got != a || q.Len() != 1 || q.Peek() != b || q.PeekTail() != b {
		t.Errorf("Dequeue gave %p, want a", got)
	}
	a.Free()
	q.QueueTail(named('d', 5))
	q.Purge()
	if !q.Empty() || q.Bytes() != 0 || q.Peek() != nil || q.PeekTail() != nil {
		t.Errorf("after Purge: len %d bytes %d", q.Len(), q.Bytes())
	}
}

// The pools make alloc_skb + kfree_skb free of heap allocations once warm.
func TestSkbAllocFreeNoAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("sync.Pool drops Puts at random under -race")
	}
	for _, size := range []int{60, 1514, 9000} {
		AllocSkb(size).Free()
		allocs := testing.AllocsPerRun(1000, func() {
			skb := AllocSkb(size)
			skb.Put(size)
			skb.Free()
		})
		if allocs != 0 {
			t.Errorf("AllocSkb(%d)+Free: %.2f allocations", size, allocs)
		}
	}
}

func BenchmarkAllocSkbFree(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		skb := AllocSkb(1514)
		skb.Put(1514)
		skb.Free()
	}
}
