package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"sockfs/fusefs"
)

var logger = log.New(os.Stderr, "sockfsd: ", 0)

// tree is the mounted tree once it is built: from then on the daemon's
// lines, the stack's among them, go into its log buffer (the mount's log
// file) as well as to stderr, as printk's go to the kernel's.
var tree atomic.Pointer[fusefs.FS]

// logf writes one of the daemon's lines.
func logf(format string, args ...any) {
	if f := tree.Load(); f != nil {
		f.Logf(format, args...)
		return
	}
	stderrf(format, args...)
}

// stderrf writes a line to stderr only; the tree's log buffer uses it.
func stderrf(format string, args ...any) { logger.Printf(format, args...) }

func main() {
	cfg, err := parseArgs(os.Args[1:])
	switch {
	case errors.Is(err, errHelp):
		fmt.Print(usage())
		return
	case errors.Is(err, errVersion):
		fmt.Println("sockfsd", versionString())
		return
	case err != nil:
		fmt.Fprintf(os.Stderr, "sockfsd: %v (see sockfsd --help)\n", err)
		os.Exit(2)
	}

	// The first SIGINT or SIGTERM starts the clean shutdown; a second one
	// exits at once.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		logf("%v: shutting down", s)
		cancel()
		s = <-sigs
		logf("%v again: exiting now", s)
		os.Exit(1)
	}()

	if err := run(ctx, cfg); err != nil {
		logf("%v", err)
		os.Exit(1)
	}
}
