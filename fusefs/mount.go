package fusefs

import "bazil.org/fuse"

// MountOptions are the options sockfs is mounted with: its name in
// /proc/self/mountinfo ("sockfs" as both source and subtype, which is how a
// stale mount is recognised), and allow_other when users other than the
// mounting one may come in. Permission checks stay in the filesystem
// (owner-only socket directories), not the kernel's default_permissions.
func MountOptions(allowOther bool) []fuse.MountOption {
	opts := []fuse.MountOption{fuse.FSName("sockfs"), fuse.Subtype("sockfs")}
	if allowOther {
		opts = append(opts, fuse.AllowOther())
	}
	return opts
}
