#!/usr/bin/env bash
# A flood of cache misses at ten times what the upstream answers, beside a
# stream of cache hits: corec's memory must stay bounded and the hits must
# keep being answered. Not part of CI; loopback only; bounded in time.
#
#   scripts/flood.sh [SECONDS]        (default 20)
#
# Upstream: Unbound serving bench.test, limited to 2,000 queries/s from
# corec (ip-ratelimit, the rest dropped). Misses: unique names at 20,000/s.
# Hits: two cached names at 20,000/s. Prints corec's RSS each second and
# both dnsperf summaries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-20}
work=$(mktemp -d)
trap 'kill $corec $unbound 2>/dev/null || true; rm -rf "$work"' EXIT
up=21253 dns=21254
cat > "$work/unbound.conf" <<CONF
server:
    interface: 127.0.0.1@$up
    do-daemonize: no
    username: ""
    chroot: ""
    pidfile: ""
    use-syslog: no
    logfile: "$work/unbound.log"
    do-ip6: no
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    ip-ratelimit: 2000
    ip-ratelimit-factor: 0
    local-zone: "." refuse
    local-zone: "bench.test." static
    local-data: "hit1.bench.test. 3600 IN A 198.18.0.1"
    local-data: "hit2.bench.test. 3600 IN A 198.18.0.2"
remote-control:
    control-enable: no
CONF
unbound -d -c "$work/unbound.conf" & unbound=$!
printf '.:%s {\n    bind 127.0.0.1\n    forward . 127.0.0.1:%s\n    cache 3600\n}\n' $dns $up > "$work/Corefile"
cd "$root" && cargo build -q --release -p corec-runtime --bin corec
target/release/corec run -quiet -conf "$work/Corefile" & corec=$!
sleep 1
printf 'hit1.bench.test A\nhit2.bench.test A\n' > "$work/hits"
dig +short @127.0.0.1 -p $dns hit1.bench.test; dig +short @127.0.0.1 -p $dns hit2.bench.test
python3 -c "
for i in range(2_000_000): print(f'miss{i}.bench.test A')" > "$work/misses"
echo "idle: $(grep VmRSS /proc/$corec/status)"
dnsperf -s 127.0.0.1 -p $dns -d "$work/misses" -c 8 -q 20000 -Q 20000 -t 1 -l "$secs" > "$work/misses.out" 2>&1 &
flood=$!
sleep 2
dnsperf -s 127.0.0.1 -p $dns -d "$work/hits" -c 4 -q 100 -Q 20000 -t 1 -l $((secs - 4)) > "$work/hits.out" 2>&1 &
hits=$!
for _ in $(seq "$secs"); do
    echo "rss: $(awk '/VmRSS/{print $2, $3}' /proc/$corec/status)"
    sleep 1
done
wait $flood $hits
echo "--- misses (unique names, upstream answers ~2,000/s)"
grep -E "Queries (sent|completed|lost)|Response codes|Queries per second" "$work/misses.out"
echo "--- hits (cached names)"
grep -E "Queries (sent|completed|lost)|Response codes|Queries per second|Average Latency" "$work/hits.out"
echo "peak: $(grep VmHWM /proc/$corec/status)"
