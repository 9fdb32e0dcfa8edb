package inet

// netRatelimit is net_ratelimit: the namespace's limit on messages that
// packets from the network can trigger (martian logs, ARP conflicts). A
// message it allows goes to the daemon's log, preceded by a count of the
// ones it suppressed.
func (in *Net) netRatelimit() bool {
	ok, suppressed := in.netRL.Ratelimit(in.clock.Now())
	if ok && suppressed > 0 {
		in.logf("net_ratelimit: %d callbacks suppressed", suppressed)
	}
	return ok
}

// logf writes one line to the daemon's log (printk); a stack without a
// logger (SetLogf never called) drops it.
func (in *Net) logf(format string, args ...any) {
	if f := in.logFn; f != nil {
		f(format, args...)
	}
}

// SetLogf gives the stack the daemon's logger; call it before traffic.
func (in *Net) SetLogf(f func(format string, args ...any)) { in.logFn = f }
