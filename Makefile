# mai — build, test and sanitizer targets.
#
# One executable per process; each links only the libraries its job needs.
# `make deps` installs Debian's -dev packages when they are missing, so a
# fresh bookworm machine needs nothing else (the README commands call it).

VERSION  ?= 0.1.0
CC       ?= cc
BUILD    ?= build
SAN      ?=
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
            -Wmissing-prototypes -Wstrict-prototypes -D_GNU_SOURCE \
            -DMAI_VERSION='"$(VERSION)"' -Icommon $(SAN)
LDFLAGS  += $(SAN)

ifneq ($(SAN),)
CFLAGS   += -DMAI_SANITIZED=1 -fno-omit-frame-pointer
endif

PKG       = pkg-config
EVENT     = $(shell $(PKG) --cflags --libs libevent 2>/dev/null)
LWS       = $(shell $(PKG) --cflags --libs libwebsockets 2>/dev/null)
JSONC     = $(shell $(PKG) --cflags --libs json-c 2>/dev/null)
CURL      = $(shell $(PKG) --cflags --libs libcurl 2>/dev/null)
SECCOMP   = $(shell $(PKG) --cflags --libs libseccomp 2>/dev/null)
CHECK     = $(shell $(PKG) --cflags --libs check 2>/dev/null)

COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIBMAI     = $(BUILD)/libmai.a

BINS = $(BUILD)/mai-supervisor $(BUILD)/mai-ws-worker \
       $(BUILD)/mai-flow-worker $(BUILD)/mai-health-worker \
       $(BUILD)/mai-bot $(BUILD)/dialogue.json

.PHONY: all deps check asan test run bench bench-burst clean sim e2e \
        compose-test fuzz fuzz-smoke scale-e2e scale-test deploy-test chaos
all: $(BINS) $(BUILD)/flows.json sim

# The default call flows sit next to the binaries (FLOWS_FILE's default).
$(BUILD)/flows.json: flows/default.json
	@mkdir -p $(BUILD)
	cp $< $@

$(BUILD)/%.o: %.c $(wildcard common/*.h) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell $(PKG) --cflags libevent libwebsockets json-c libcurl libseccomp check 2>/dev/null) -c $< -o $@

$(BUILD)/mai-supervisor: $(patsubst %.c,$(BUILD)/%.o,$(wildcard supervisor/*.c)) $(LIBMAI)
	$(CC) $(LDFLAGS) -o $@ $^ $(EVENT)

$(BUILD)/mai-ws-worker: $(patsubst %.c,$(BUILD)/%.o,$(wildcard ws-worker/*.c)) $(LIBMAI)
	$(CC) $(LDFLAGS) -o $@ $^ $(LWS) $(CURL) $(JSONC) $(SECCOMP)

$(BUILD)/mai-flow-worker: $(patsubst %.c,$(BUILD)/%.o,$(wildcard flow-worker/*.c)) $(LIBMAI)
	$(CC) $(LDFLAGS) -o $@ $^ $(EVENT) $(CURL) $(JSONC) $(SECCOMP)

$(BUILD)/mai-health-worker: $(patsubst %.c,$(BUILD)/%.o,$(wildcard health-worker/*.c)) $(LIBMAI)
	$(CC) $(LDFLAGS) -o $@ $^ $(EVENT) $(CURL) $(JSONC) $(SECCOMP)

# The voice bot: its own process, outside the supervisor (docs/bot.md).
BOTLIBS = $(shell $(PKG) --libs pocketsphinx espeak-ng speexdsp 2>/dev/null)
$(BUILD)/bot/%.o: CFLAGS += $(shell $(PKG) --cflags pocketsphinx espeak-ng \
	speexdsp 2>/dev/null)
$(BUILD)/mai-bot: $(patsubst %.c,$(BUILD)/%.o,$(wildcard bot/*.c)) $(LIBMAI)
	$(CC) $(LDFLAGS) -o $@ $^ $(EVENT) $(LWS) $(CURL) $(JSONC) \
	  $(SECCOMP) $(BOTLIBS) -lpthread -lm

$(BUILD)/dialogue.json: bot/dialogue.json
	@mkdir -p $(BUILD)
	cp $< $@

# An archive, so each binary links only the common parts it calls.
$(LIBMAI): $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $^

# The simulator is a test peer, built once without sanitizers.
sim:
	@if [ -f tests/ari-sim/Makefile ]; then $(MAKE) --no-print-directory -C tests/ari-sim; fi

deps:
	@scripts/deps.sh

# Tests start the real binaries; MAI_BUILD tells them where those are.
check: all
	@$(MAKE) --no-print-directory -C tests BUILD=$(abspath $(BUILD)) SAN="$(SAN)" run

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" check

# The README's two commands.
run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

test: deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory compose-test

bench: all
	@bench/readyz.sh
	@bench/events.sh
	@bench/flows.sh
	@bench/flows.sh -r 250
	@bench/hang.sh

# libFuzzer harnesses (tests/fuzz/, clang): fuzz-smoke runs each over the
# corpus kept in the repository, fuzz runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz-smoke:
	@$(MAKE) --no-print-directory -C tests/fuzz BUILD=$(abspath build-fuzz) smoke

fuzz:
	@$(MAKE) --no-print-directory -C tests/fuzz BUILD=$(abspath build-fuzz) \
	  FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz

# Real Asterisk (root, the e2e chroot and lock): not part of `bench`.
bench-burst: all
	@bench/burst.sh

# End-to-end against a real Asterisk 22 (Debian sid root, cached outside the
# clone in /var/cache/mai-e2e; MAI_E2E_CACHE moves it).  Needs root.
# Calls at 10/s on a real Asterisk while the workers are killed (-9) in
# turn; prints the figures (tests/chaos/chaos.py).  Not in `make test`.
chaos:
	@tests/chaos/run.sh

e2e:
	@tests/e2e/run.sh

# compose.yaml end to end in Docker (engine, Compose v2 and base images made
# locally when missing; see tests/compose/run.sh).  Needs root.
compose-test:
	@tests/compose/run.sh

# Scaling out (docs/scaling.md).  scale-e2e: two mai instances on one real
# Asterisk 22 with StasisBroadcast(), in a network namespace of its own
# (needs root and the e2e root: tests/e2e/asterisk.sh provision).
# scale-test: compose.scale.yaml (Kamailio, two edges, two orchestrators
# each) in Docker.  deploy-test: deploy/kubernetes/ checked offline.
scale-e2e: all
	@tests/e2e/asterisk.sh provision >/dev/null && tests/scale/e2e.sh

scale-test:
	@tests/compose/scale.sh

deploy-test:
	@tests/deploy/run.sh

clean:
	rm -rf build build-asan build-fuzz
	@$(MAKE) -C tests clean >/dev/null 2>&1 || true
	@$(MAKE) -C tests/ari-sim clean >/dev/null 2>&1 || true
