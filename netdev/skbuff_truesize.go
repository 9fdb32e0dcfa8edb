package netdev

import "unsafe"

// skbStructSize is what the SkBuff itself costs, counted into Truesize as
// SKB_TRUESIZE counts struct sk_buff and skb_shared_info.
const skbStructSize = int(unsafe.Sizeof(SkBuff{}))

// Truesize is skb->truesize: the memory the skb pins, buffer and struct,
// however few bytes of it are data. A socket charges its receive buffer by
// truesize, so a queue of tiny datagrams is bounded by the memory it holds
// rather than by the bytes a reader would get.
func (skb *SkBuff) Truesize() int { return len(skb.buf) + skbStructSize }
