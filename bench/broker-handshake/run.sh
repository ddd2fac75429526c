#!/usr/bin/env bash
# broker-handshake: full KBS handshakes per second (auth → attest with real SEV-SNP evidence verified against
# AMD's roots → resource as JWE, decrypted by the client) against a broker pinned to one core, divided by
# `openssl speed -elapsed ecdsap384` verify/s on that core in the same run (goal ≥ 0.60); then p50/p99 latency
# at half the measured rate (goal p99 < 25 ms). The load generator is its own process on another core.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${SECONDS_PER_SIDE:-10}"
broker_core="${BROKER_CORE:-0}"
load_core="${LOAD_CORE:-1}"
concurrency="${CONCURRENCY:-8}"
out=bench/out/broker-handshake
evidence=testdata/vectors/trustee/attestation-service/tests/e2e/evidence.json
dotnet build bench/Veil.Bench.BrokerHandshake -c Release -nologo -v:q -o "$out/bin" >/dev/null

data=$(mktemp -d /tmp/veil-bench-broker.XXXXXX)
fifo="$data/stdin"; mkfifo "$fifo"
# BROKER_ENV: runtime settings for the broker process. Default: DOTNET_TieredCompilation=0 DOTNET_ReadyToRun=0 (the
# second: compile framework code fully optimised instead of keeping its precompiled form), which README recommends
# for a broker on one or two cores (on a busy single core .NET keeps postponing the optimising recompilation and a
# loaded broker runs unoptimised code; measured 3.7 vs 4.7 ms CPU per handshake and p99 21 vs 53 ms).
# BROKER_ENV=" " measures the runtime's defaults.
read -r -a tiering_env <<<"${BROKER_ENV:-DOTNET_TieredCompilation=0 DOTNET_ReadyToRun=0}"
# LOAD_ENV: the same for the load generator, whose every measuring run is a fresh process: with the defaults it runs
# unoptimised code and recompiles during the measured seconds (1.26-1.43 vs 0.85-0.95 ms of CPU per handshake,
# bench/RESULTS.md 2026-12-07), which matters where it shares a core with PostgreSQL. LOAD_ENV=" " for the defaults.
read -r -a load_env <<<"${LOAD_ENV:-DOTNET_TieredCompilation=0 DOTNET_ReadyToRun=0}"
env "${tiering_env[@]}" taskset -c "$broker_core" dotnet "$out/bin/BrokerHandshakeBench.dll" host "$data/broker" "$evidence" <"$fifo" >"$data/host.out" 2>&1 &
host_pid=$!
exec 9>"$fifo"   # holds the host's stdin open; closing it stops the host
trap 'exec 9>&-; wait "$host_pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 300); do grep -q '^url=' "$data/host.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^url=//p' "$data/host.out")
[ -n "$url" ] || { echo "broker did not start:" >&2; cat "$data/host.out" >&2; exit 1; }

ossl=$(taskset -c "$broker_core" openssl speed -elapsed -seconds "$seconds" ecdsap384 2>/dev/null | awk '/nistp384/ {print $NF}' | tail -n 1)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # PID -> user + system clock ticks so far
# A broker is a long-running process: measure after a warm-up, not its first seconds of JIT compilation.
env "${load_env[@]}" taskset -c "$load_core" dotnet "$out/bin/BrokerHandshakeBench.dll" load "$url" "$evidence" "${WARMUP_SECONDS:-8}" "$concurrency" >/dev/null
before=$(cpu_ticks "$host_pid")
load=$(env "${load_env[@]}" taskset -c "$load_core" dotnet "$out/bin/BrokerHandshakeBench.dll" load "$url" "$evidence" "$seconds" "$concurrency")
after=$(cpu_ticks "$host_pid")
hs=$(echo "$load" | sed -n 's/^handshakes_per_s=//p')
count=$(echo "$load" | sed -n 's/^handshakes=\([0-9]*\).*/\1/p')
cpu_ms=$(awk -v a="$after" -v b="$before" -v n="$count" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (a - b) * 1000 / t / n }')
half=$(awk -v h="$hs" 'BEGIN { printf "%.1f", h / 2 }')
lat=$(env "${load_env[@]}" taskset -c "$load_core" dotnet "$out/bin/BrokerHandshakeBench.dll" rate "$url" "$evidence" "$seconds" "$half")

exec 9>&-; wait "$host_pid" 2>/dev/null || true

# Two bounds that tell Veil's own cost from what the runtime and the protocol cost on this machine (FLOOR=0 skips):
# the unavoidable cryptography alone on one thread, and a bare Kestrel server doing only that cryptography behind
# the same three exchanges (no store, audit, policy or claims; bench/Veil.Bench.BrokerHandshake/FloorHost.cs).
if [ "${FLOOR:-1}" != 0 ]; then
  crypto=$(env "${tiering_env[@]}" taskset -c "$broker_core" dotnet "$out/bin/BrokerHandshakeBench.dll" crypto "$evidence" "$seconds")
  fifo2="$data/stdin2"; mkfifo "$fifo2"
  env "${tiering_env[@]}" taskset -c "$broker_core" dotnet "$out/bin/BrokerHandshakeBench.dll" floor-host "$evidence" <"$fifo2" >"$data/floor.out" 2>&1 &
  floor_pid=$!
  exec 8>"$fifo2"
  for _ in $(seq 1 300); do grep -q '^url=' "$data/floor.out" 2>/dev/null && break; sleep 0.1; done
  floor_url=$(sed -n 's/^url=//p' "$data/floor.out")
  env "${load_env[@]}" taskset -c "$load_core" dotnet "$out/bin/BrokerHandshakeBench.dll" load "$floor_url" "$evidence" "${WARMUP_SECONDS:-8}" "$concurrency" >/dev/null
  floor_hs=$(env "${load_env[@]}" taskset -c "$load_core" dotnet "$out/bin/BrokerHandshakeBench.dll" load "$floor_url" "$evidence" "$seconds" "$concurrency" | sed -n 's/^handshakes_per_s=//p')
  exec 8>&-; wait "$floor_pid" 2>/dev/null || true
  # Side by side: this VM's speed drifts by up to 1.6x within minutes (openssl 1 200-1 970 verify/s), so bound 2
  # measured after the broker can be in another phase. Here the broker and bound 2 share the broker's core over the
  # same seconds, each driven by its own load generator, and their CPU time per handshake is compared: 0.579 and 0.600
  # in two runs five minutes apart where the sequential ratio gave 0.620 and 0.794 (bench/RESULTS.md, 2026-12-07).
  side_by_side() { # LEFT RIGHT: the hosts of the arrays left_cmd and right_cmd (BrokerHandshakeBench arguments)
    # -> "LEFT X ms, RIGHT Y ms of CPU per handshake (...): LEFT ÷ RIGHT = R" (R = Y / X: handshakes per CPU second)
    local left=$1 right=$2
    local fifo3="$data/stdin3" fifo4="$data/stdin4"
    rm -rf "$data/broker2" "$data/floor-audit" "$fifo3" "$fifo4"; mkfifo "$fifo3" "$fifo4"; mkdir -p "$data/floor-audit"
    env "${tiering_env[@]}" taskset -c "$broker_core" dotnet "$out/bin/BrokerHandshakeBench.dll" "${left_cmd[@]}" <"$fifo3" >"$data/side-veil.out" 2>&1 &
    local side_veil=$!
    exec 7>"$fifo3"
    env "${tiering_env[@]}" taskset -c "$broker_core" dotnet "$out/bin/BrokerHandshakeBench.dll" "${right_cmd[@]}" <"$fifo4" >"$data/side-floor.out" 2>&1 &
    local side_floor=$!
    exec 6>"$fifo4"
    for _ in $(seq 1 300); do grep -q '^url=' "$data/side-veil.out" 2>/dev/null && grep -q '^url=' "$data/side-floor.out" 2>/dev/null && break; sleep 0.1; done
    veil_url=$(sed -n 's/^url=//p' "$data/side-veil.out"); floor2_url=$(sed -n 's/^url=//p' "$data/side-floor.out")
    side_load "${WARMUP_SECONDS:-8}" >/dev/null
    local v0 f0 v1 f1 side_veil_n side_floor_n
    v0=$(cpu_ticks "$side_veil"); f0=$(cpu_ticks "$side_floor")
    read -r side_veil_n side_floor_n <<<"$(side_load "$seconds")"
    v1=$(cpu_ticks "$side_veil"); f1=$(cpu_ticks "$side_floor")
    exec 7>&- 6>&-; wait "$side_veil" "$side_floor" 2>/dev/null || true
    awk -v v0="$v0" -v v1="$v1" -v f0="$f0" -v f1="$f1" -v vn="$side_veil_n" -v fn="$side_floor_n" -v t="$(getconf CLK_TCK)" -v l="$left" -v r="$right" \
      'BEGIN { cv = (v1 - v0) * 1000 / t / vn; cf = (f1 - f0) * 1000 / t / fn; printf "%s %.2f ms, %s %.2f ms of CPU per handshake (%d and %d handshakes): %s ÷ %s = %.3f", l, cv, r, cf, vn, fn, l, r, cf / cv }'
  }
  side_load() { # seconds -> "<veil handshakes> <bound handshakes>"
    env "${load_env[@]}" taskset -c "$load_core" dotnet "$out/bin/BrokerHandshakeBench.dll" load "$veil_url" "$evidence" "$1" "$concurrency" >"$data/side-veil.load" &
    local w=$!
    env "${load_env[@]}" taskset -c "$load_core" dotnet "$out/bin/BrokerHandshakeBench.dll" load "$floor2_url" "$evidence" "$1" "$concurrency" >"$data/side-floor.load"
    wait "$w"
    echo "$(sed -n 's/^handshakes=\([0-9]*\).*/\1/p' "$data/side-veil.load") $(sed -n 's/^handshakes=\([0-9]*\).*/\1/p' "$data/side-floor.load")"
  }
  left_cmd=(host "$data/broker2" "$evidence"); right_cmd=(floor-host "$evidence")
  side=$(side_by_side Veil "bound 2")
  # Informational, not a goal: bound 2 plus the two things every handshake of a broker with Veil's guarantees must
  # pay for and bound 2 leaves out by construction: the durable audit (the broker's own AuditLog and SQLite store, two
  # rows per handshake, each answered only once on disk) and decoding the posted evidence. What is left between this
  # and Veil is Veil's own overhead: sessions, claims, policy, the EAR payload, middleware (bench/RESULTS.md, 2026-12-07).
  right_cmd=(floor-host "$evidence" --audit "$data/floor-audit" --decode)
  side_required=$(side_by_side Veil "bound 2 + audit + decode")
  # And what the durable audit alone leaves of bound 2: the most any broker that audits as Veil does can reach
  # against bound 2 on this machine, before any other work of its own (bench/RESULTS.md, 2026-12-07 19:10).
  left_cmd=(floor-host "$evidence" --audit "$data/floor-audit"); right_cmd=(floor-host "$evidence")
  side_ceiling=$(side_by_side "bound 2 + audit" "bound 2")
  crypto_hs=$(echo "$crypto" | sed -n 's/.*crypto_per_s=\([0-9.]*\).*/\1/p')
  echo "bound 1, the cryptography alone, one thread, no transport: $crypto"
  awk -v c="$crypto_hs" -v f="$floor_hs" -v o="$ossl" -v h="$hs" 'BEGIN { printf "bound 1 ÷ openssl: %.3f\nbound 2, bare Kestrel + that cryptography: %s handshakes/s ÷ openssl: %.3f; Veil ÷ bound 2 (measured one after the other): %.3f\n", c / o, f, f / o, h / f }'
  echo "side by side on core $broker_core over the same $seconds s: $side"
  echo "side by side, with the work bound 2 leaves out (informational): $side_required"
  echo "side by side, the durable audit's own cost (informational): $side_ceiling"
fi

echo "openssl ecdsap384 verify/s (core $broker_core): $ossl"
echo "broker handshakes/s (broker on core $broker_core, $concurrency concurrent clients on core $load_core): $hs"
echo "broker CPU time per handshake: $cpu_ms ms (machine load average: $(cut -d' ' -f1 /proc/loadavg); runtime env: ${tiering_env[*]:-default}, load generator ${load_env[*]:-default})"
echo "at half rate: $lat"
awk -v v="$hs" -v o="$ossl" 'BEGIN { printf "broker-handshake ratio=%.3f goal=0.60\n", v / o }'
