#!/bin/sh
# mai-bot benchmarks (docs/bot.md "Benchmarks"): turn latency with the
# embedded engines and the scripted dialogue (an instant brain), barge-in
# delay, and the bot's CPU for N concurrent calls on one engine thread.
# Usage: bench/bot.sh [CALLS...]   (default: 1 10 20)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make --no-print-directory "$BUILD/mai-bot" "$BUILD/dialogue.json" >/dev/null
mkdir -p "$BUILD/bench"
cc -std=gnu11 -O2 -D_GNU_SOURCE -Icommon -Itests $(pkg-config --cflags check) \
  -o "$BUILD/bench/bot_bench" bench/bot_bench.c tests/harness.c \
  $(pkg-config --libs check) -lspeexdsp -lm
export MAI_BUILD="$PWD/$BUILD" MAI_SRC="$PWD"
echo "== turn latency, 1 call, 5 turns (BOT_VAD_SILENCE_MS default 400)"
"$BUILD/bench/bot_bench" 1 5
echo "== turn latency, BOT_VAD_SILENCE_MS=250"
BOT_VAD_SILENCE_MS=250 "$BUILD/bench/bot_bench" 1 5
echo "== barge-in, 1 call, 5 turns"
"$BUILD/bench/bot_bench" 1 5 barge
for n in ${*:-10 20}; do
	echo "== $n concurrent calls, 3 turns each, BOT_ENGINE_THREADS=1"
	"$BUILD/bench/bot_bench" "$n" 3
done
