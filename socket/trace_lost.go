package socket

// Lost is how many lines this reader missed because its backlog was full
// when they were emitted: the trace file reports them in its stream, so a
// reader knows where its view has a gap.
func (r *TraceReader) Lost() uint64 { return r.dropped.Load() }
