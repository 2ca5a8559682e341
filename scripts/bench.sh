#!/usr/bin/env bash
# Measures corec with ../shared/bench (dnsperf, one server core, in a network
# namespace) side by side with the harness's peers. Not part of CI.
#
#   scripts/bench.sh            whoami (limit scenario) and the file plugin (auth scenario)
#                               in both modes, beside the echo ceiling, NSD and Knot
#
# whoami needs no zone, so it runs in the harness's `limit` scenario; the
# shared harness only offers `custom` for auth/cache, so a private copy with
# `custom` added to `limit` is used (the copy lives in $BENCH_WORK).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=${BENCH_HARNESS:-$root/../shared/bench}
work=${BENCH_WORK:-/tmp/dnsbench}
mkdir -p "$work"
rm -rf "$work/harness" && cp -r "$harness" "$work/harness"
python3 - "$work/harness/bench.py" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
i = s.index('"limit": {'); j = s.index('"echo": {', i)
open(p, "w").write(s[:j] + '"custom": {"custom": True},\n        ' + s[j:])
PY
cd "$root"
cargo build --release -p corec-runtime --bin corec
printf '. {\n    whoami\n}\n' > "$work/Corefile.whoami"
printf '.:@PORT@ {\n    whoami\n}\n' > "$work/Corefile-whoami.in"
target/release/corec build "$work/Corefile.whoami" -o "$work/site-whoami"
# The compiled auth site takes its zone file from the environment at startup.
printf 'bench.test {\n    bind 127.0.0.1\n    file {$ZONEFILE}\n}\n' > "$work/Corefile.auth"
printf 'bench.test:@PORT@ {\n    bind @ADDR@\n    file @ZONEFILE@\n}\n' > "$work/Corefile-auth.in"
target/release/corec build "$work/Corefile.auth" -o "$work/site-auth"
cp target/release/corec "$work/corec"

export BENCH_RESULTS=$work/results/corec-$(date +%Y%m%d-%H%M%S).jsonl
mkdir -p "$(dirname "$BENCH_RESULTS")"
cd "$work/harness"
./run.sh limit echo-mmsg 3
BENCH_CUSTOM_NAME=corec-interpreted BENCH_CUSTOM_TPL=$work/Corefile-whoami.in BENCH_CUSTOM_THREADS="1 core (taskset)" \
    BENCH_CUSTOM_CMD="$work/corec run -quiet -conf @CONF@" ./run.sh limit custom 3
BENCH_CUSTOM_NAME=corec-compiled BENCH_CUSTOM_TPL=$work/Corefile-whoami.in BENCH_CUSTOM_THREADS="1 core (taskset)" \
    BENCH_CUSTOM_CMD="$work/site-whoami -quiet -dns.port @PORT@" ./run.sh limit custom 3
BENCH_CUSTOM_NAME=corec-interpreted BENCH_CUSTOM_TPL=$work/Corefile-auth.in BENCH_CUSTOM_THREADS="1 core (taskset)" \
    BENCH_CUSTOM_CMD="$work/corec run -quiet -conf @CONF@" ./run.sh auth custom 3
BENCH_CUSTOM_NAME=corec-compiled BENCH_CUSTOM_TPL=$work/Corefile-auth.in BENCH_CUSTOM_THREADS="1 core (taskset)" \
    BENCH_CUSTOM_CMD="env ZONEFILE=@ZONEFILE@ $work/site-auth -quiet -dns.port @PORT@" ./run.sh auth custom 3
./run.sh auth nsd 3
./run.sh auth knot 3
python3 summarize.py "$BENCH_RESULTS"
