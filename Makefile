# sockfs — build, run and test.
#
#   make run     mount sockfs at /mnt/sock, its TAP inside the network namespace "sockfs"
#   make test    go vet, go test -race, then the bats suite inside a private network namespace
#
# Both first install the system packages they need (only the missing ones).

SHELL      := /bin/bash
GO         ?= go
BIN        := bin/sockfsd
MNT        ?= /mnt/sock
NETNS      ?= sockfs
# extra flags for sockfsd under `make run`, e.g. make run ARGS="--mtu 9000"
ARGS       ?=
# Fuzzing is bounded by executions, not seconds: with a duration, Go 1.26's
# fuzz coordinator can fail a target with a bare "context deadline exceeded"
# at the deadline (golang/go#75804), which would make CI flaky.
FUZZTIME   ?= 200000x
BENCHTIME  ?= 200ms

# Debian packages the run, the tests and the benchmarks call: fusermount3,
# bats, ip/ss, netstat/arp/route (net-tools), nc, curl, socat, tcpdump, ping,
# dig (dnsutils), python3 (kernel-side peers in a few tests) and util-linux
# (unshare, nsenter, setpriv).
PKGS       := fuse3 bats iproute2 net-tools netcat-openbsd curl socat tcpdump iputils-ping dnsutils python3 util-linux
BENCH_PKGS := $(PKGS) iperf3

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: all build deps bench-deps run test vet gotest e2e bench gobench e2e-bench gvisor-peer churn-bench fuzz clean

all: build

# deps installs what is missing and nothing else: dpkg -s answers per package,
# so a machine that already has everything never touches apt.
deps:
	@$(call install_missing,$(PKGS))

bench-deps:
	@$(call install_missing,$(BENCH_PKGS))

define install_missing
missing=(); \
for p in $(1); do dpkg -s "$$p" >/dev/null 2>&1 || missing+=("$$p"); done; \
if (( $${#missing[@]} )); then \
	echo "installing missing packages: $${missing[*]}"; \
	$(SUDO) apt-get update -q && \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$${missing[@]}"; \
fi
endef

build:
	$(GO) build -o $(BIN) ./cmd/sockfsd

vet:
	$(GO) vet ./...

gotest:
	$(GO) test -race -timeout 300s ./...

# The e2e suite sends packets, so tests/run puts it in a network namespace of
# its own (unshare -n) and refuses to run it anywhere else.
e2e: build
	tests/run

# make test also gives every fuzz target a short bounded run (TESTFUZZTIME
# executions each), so a parser that starts panicking on odd input fails the
# suite.
# The bats suite runs last, so its summary line closes the output.
TESTFUZZTIME ?= 30000x
test: deps build vet gotest
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(TESTFUZZTIME)
	@$(MAKE) --no-print-directory e2e

# `ip netns exec` would also give sockfsd a private mount namespace and hide
# the mount from every other shell; nsenter --net enters the network
# namespace alone. exec makes sockfsd make's own child, so Ctrl-C reaches it
# and make waits for its clean shutdown.
run: deps build
	@ip netns list | grep -qx '$(NETNS)\( .*\)\?' || ip netns add $(NETNS)
	@ip -n $(NETNS) link set lo up
	@mkdir -p $(MNT)
	@echo "sockfs: mounting $(MNT); the TAP and the kernel's side of it live in network namespace '$(NETNS)'"
	@echo "in another terminal, a kernel peer to talk to (-N: Ctrl-D sends FIN):"
	@echo "    ip netns exec $(NETNS) nc -N -l 198.18.0.1 8080"
	@echo "and in a third, a socket driven with echo and cat:"
	@echo "    exec 3<>$(MNT)/socket; echo \"AF_INET SOCK_STREAM 6\" >&3; read -r s <&3; exec 3>&-"
	@echo "    echo \"connect 198.18.0.1:8080\" > $(MNT)/\$$s/ctl"
	@echo "    echo hello > $(MNT)/\$$s/data; cat $(MNT)/\$$s/status"
	@echo "    echo close > $(MNT)/\$$s/ctl"
	@echo "ping the stack: ip netns exec $(NETNS) ping -c 3 198.18.0.2"
	@echo "Ctrl-C stops sockfsd and unmounts; the namespace stays (ip netns del $(NETNS) removes it)."
	@exec nsenter --net=/run/netns/$(NETNS) $(BIN) $(ARGS) $(MNT)

gobench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

# gVisor's netstack beside sockfs in the bench: a module of its own under
# tests/bench/gvisor, so the daemon's go.mod stays lean; its first build
# downloads gvisor.dev/gvisor through the Go module proxy. make test never
# builds it.
gvisor-peer:
	cd tests/bench/gvisor && $(GO) build -o ../../../bin/gvisor-peer .

e2e-bench: build gvisor-peer
	tests/bench/e2e.sh

# churn-bench: 10,000 connections accepted and closed, then TIME_WAIT
# expiry; fails unless sockfsd's heap comes back to within 2x its baseline.
churn-bench: build
	tests/bench/churn.sh

bench: bench-deps build gobench e2e-bench churn-bench

# Every Fuzz target of every package, each for a bounded $(FUZZTIME)
# (a count of executions, or a duration if you pass one).
fuzz:
	@set -e; for pkg in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do \
		for f in $$($(GO) test -list '^Fuzz' "$$pkg" | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done

clean:
	rm -rf bin tests/.tmp
	$(GO) clean -testcache
