// Package header holds the wire formats of the IPv4 family as views over
// byte slices, named after the kernel's structs: Arphdr, Iphdr, Tcphdr,
// Udphdr, Icmphdr (include/uapi/linux/*.h), and the Internet checksum.
//
// Each view is a []byte type with accessors at unexported offsets written
// under the RFC's diagram. A Parse... function checks the length (and what
// else makes the accessors safe); after it returns ok, no accessor panics.
// Encode writes a header from a Fields struct. Views alias the packet: they
// copy nothing and allocate nothing.
package header
