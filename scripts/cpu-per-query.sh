#!/usr/bin/env bash
# Server CPU time per query at a fixed rate, for the auth scenario: unlike
# the client-bound throughput dnsperf reports, it compares the modes (or two
# builds) by what the server itself spends. Not part of CI.
#
#   scripts/cpu-per-query.sh [RATE] [SECONDS]     (default 80000 q/s, 10 s)
#
# Needs what `scripts/bench.sh auth` leaves in $BENCH_WORK (the corec
# binary, the compiled site-auth, the zone and query files). The server runs
# on CPU 1, dnsperf on CPU 0, both on 127.0.0.1.
set -euo pipefail
work=${BENCH_WORK:-/tmp/dnsbench}
rate=${1:-80000}
secs=${2:-10}
zone=$work/data/bench.test.zone
queries=$work/data/queries.txt
port=25353
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
printf 'bench.test:%s {\n    bind 127.0.0.1\n    file %s\n}\n' "$port" "$zone" > "$conf"
for mode in interpreted compiled; do
    if [ "$mode" = compiled ]; then
        ZONEFILE=$zone taskset -c 1 "$work/site-auth" -quiet -dns.port "$port" >/dev/null &
    else
        taskset -c 1 "$work/corec" run -quiet -conf "$conf" >/dev/null &
    fi
    pid=$!
    sleep 1
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    done=$(taskset -c 0 dnsperf -s 127.0.0.1 -p "$port" -d "$queries" -l "$secs" -Q "$rate" -c 8 -q 200 \
        | awk '/Queries completed/ {print $3}')
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    python3 -c "t = ($after - $before) / $(getconf CLK_TCK); print(f'$mode: {$done} answered, {t:.2f} s CPU, {t / $done * 1e6:.2f} us per query')"
done
