#!/usr/bin/env bash
# Measures corec with ../shared/bench (dnsperf, one server core, in a network
# namespace) side by side with the harness's peers. Not part of CI.
#
#   scripts/bench.sh [limit] [auth] [cache]     (default: all three)
#
#   limit   whoami in both modes beside the echo ceiling
#   auth    the file plugin in both modes beside NSD and Knot
#   cache   forward + cache (hits) in both modes beside Unbound and dnsmasq
#   metrics auth, interpreted, with and without prometheus (its cost per query)
#
# ROUNDS (default 3) sets the rounds per server.
#
# whoami needs no zone, so it runs in the harness's `limit` scenario; the
# shared harness only offers `custom` for auth/cache, so a private copy with
# `custom` added to `limit` is used (the copy lives in $BENCH_WORK).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=${BENCH_HARNESS:-$root/../shared/bench}
work=${BENCH_WORK:-/tmp/dnsbench}
rounds=${ROUNDS:-3}
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(limit auth cache)
wants() { [[ " ${scenarios[*]} " == *" $1 "* ]]; }

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
cp target/release/corec "$work/corec"
# Compiled sites read what the harness decides at run time from the environment.
if wants limit; then
    printf '. {\n    whoami\n}\n' > "$work/Corefile.whoami"
    printf '.:@PORT@ {\n    whoami\n}\n' > "$work/Corefile-whoami.in"
    target/release/corec build "$work/Corefile.whoami" -o "$work/site-whoami"
fi
if wants auth; then
    printf 'bench.test {\n    bind 127.0.0.1\n    file {$ZONEFILE}\n}\n' > "$work/Corefile.auth"
    printf 'bench.test:@PORT@ {\n    bind @ADDR@\n    file @ZONEFILE@\n}\n' > "$work/Corefile-auth.in"
    target/release/corec build "$work/Corefile.auth" -o "$work/site-auth"
fi
if wants metrics; then
    printf 'bench.test:@PORT@ {\n    bind @ADDR@\n    prometheus 127.0.0.1:0\n    file @ZONEFILE@\n}\n' > "$work/Corefile-authm.in"
    printf 'bench.test:@PORT@ {\n    bind @ADDR@\n    file @ZONEFILE@\n}\n' > "$work/Corefile-auth.in"
fi
if wants cache; then
    # Room for the whole query set (about 12k answers and 10k denials), as
    # the peers' caches have: the scenario times hits. CoreDNS's default
    # capacity (10,000 per cache) would send a share of queries upstream.
    cache='    cache 3600 {\n        success 65536\n        denial 65536\n    }\n'
    printf ". {\n    bind 127.0.0.1\n    forward . {\$UPSTREAM}\n$cache}\n" > "$work/Corefile.cache"
    printf ".:@PORT@ {\n    bind @ADDR@\n    forward . @ADDR@:@UPSTREAM_PORT@\n$cache}\n" > "$work/Corefile-cache.in"
    # Validated at build time with a stand-in; the binary reads the real one at startup.
    UPSTREAM=127.0.0.1:53 target/release/corec build "$work/Corefile.cache" -o "$work/site-cache"
fi

export BENCH_RESULTS=$work/results/corec-$(date +%Y%m%d-%H%M%S).jsonl
mkdir -p "$(dirname "$BENCH_RESULTS")"
cd "$work/harness"
one_core="1 core (taskset)"
if wants limit; then
    ./run.sh limit echo-mmsg "$rounds"
    BENCH_CUSTOM_NAME=corec-interpreted BENCH_CUSTOM_TPL=$work/Corefile-whoami.in BENCH_CUSTOM_THREADS="$one_core" \
        BENCH_CUSTOM_CMD="$work/corec run -quiet -conf @CONF@" ./run.sh limit custom "$rounds"
    BENCH_CUSTOM_NAME=corec-compiled BENCH_CUSTOM_TPL=$work/Corefile-whoami.in BENCH_CUSTOM_THREADS="$one_core" \
        BENCH_CUSTOM_CMD="$work/site-whoami -quiet -dns.port @PORT@" ./run.sh limit custom "$rounds"
fi
if wants auth; then
    BENCH_CUSTOM_NAME=corec-interpreted BENCH_CUSTOM_TPL=$work/Corefile-auth.in BENCH_CUSTOM_THREADS="$one_core" \
        BENCH_CUSTOM_CMD="$work/corec run -quiet -conf @CONF@" ./run.sh auth custom "$rounds"
    BENCH_CUSTOM_NAME=corec-compiled BENCH_CUSTOM_TPL=$work/Corefile-auth.in BENCH_CUSTOM_THREADS="$one_core" \
        BENCH_CUSTOM_CMD="env ZONEFILE=@ZONEFILE@ $work/site-auth -quiet -dns.port @PORT@" ./run.sh auth custom "$rounds"
    ./run.sh auth nsd "$rounds"
    ./run.sh auth knot "$rounds"
fi
if wants metrics; then
    BENCH_CUSTOM_NAME=corec-no-metrics BENCH_CUSTOM_TPL=$work/Corefile-auth.in BENCH_CUSTOM_THREADS="$one_core" \
        BENCH_CUSTOM_CMD="$work/corec run -quiet -conf @CONF@" ./run.sh auth custom "$rounds"
    BENCH_CUSTOM_NAME=corec-prometheus BENCH_CUSTOM_TPL=$work/Corefile-authm.in BENCH_CUSTOM_THREADS="$one_core" \
        BENCH_CUSTOM_CMD="$work/corec run -quiet -conf @CONF@" ./run.sh auth custom "$rounds"
fi
if wants cache; then
    BENCH_CUSTOM_NAME=corec-interpreted BENCH_CUSTOM_TPL=$work/Corefile-cache.in BENCH_CUSTOM_THREADS="$one_core" \
        BENCH_CUSTOM_CMD="$work/corec run -quiet -conf @CONF@" ./run.sh cache custom "$rounds"
    BENCH_CUSTOM_NAME=corec-compiled BENCH_CUSTOM_TPL=$work/Corefile-cache.in BENCH_CUSTOM_THREADS="$one_core" \
        BENCH_CUSTOM_CMD="env UPSTREAM=@ADDR@:@UPSTREAM_PORT@ $work/site-cache -quiet -dns.port @PORT@" ./run.sh cache custom "$rounds"
    ./run.sh cache unbound "$rounds"
    ./run.sh cache dnsmasq "$rounds"
fi
python3 summarize.py "$BENCH_RESULTS"
