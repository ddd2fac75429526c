#!/usr/bin/env bash
# broker-soak: the long form of tests/Veil.Broker.Tests/Soak (the bounded form runs in ./scripts/test with 3 s per
# attack). A real `veil broker serve` (default caps and rates, SQLite) takes every attack of issue 16 for
# SECONDS_PER_ATTACK seconds each (default 60; eight attacks, so ~8 minutes) from eight attacker addresses, while
# legitimate sample-TEE handshakes from pod addresses go on. The test asserts, as in the default run: no 500, RSS
# within 64 MiB of idle, database within 8 MiB, every legitimate handshake succeeding.
# The reference measured in the same run: the p99 of the same legitimate handshakes on the same warm broker before
# the attacks (idle phase). ratio = idle p99 ÷ p99 under attack (1.0: the attacks cost legitimate clients nothing);
# goal = idle p99 ÷ 100 ms, so ratio ≥ goal is exactly "p99 under attack < 100 ms" (the issue's bound).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${SECONDS_PER_ATTACK:-60}"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
dotnet build tests/Veil.Broker.Tests -c Release -nologo -v:q >/dev/null
status=0
VEIL_SOAK_SECONDS="$seconds" VEIL_SOAK_REPORT="$report" timeout $((seconds * 8 + 600)) \
  dotnet test tests/Veil.Broker.Tests -c Release --no-build -nologo -v:q --filter "FullyQualifiedName~BrokerSoakTests" || status=$?
if [ ! -s "$report" ]; then
  echo "broker-soak: the soak wrote no report (test exit $status)" >&2
  exit 1
fi
grep -v '=' "$report"
echo "seconds per attack: $seconds; soak test exit: $status (0: every asserted bound held)"
idle=$(sed -n 's/^idle_p99_ms=//p' "$report")
attack=$(sed -n 's/^attack_p99_ms=//p' "$report")
grep '=' "$report"
ratio=$(awk -v i="$idle" -v a="$attack" 'BEGIN { printf "%.3f", i / a }')
goal=$(awk -v i="$idle" 'BEGIN { printf "%.3f", i / 100 }')
echo "broker-soak ratio=$ratio goal=$goal"
exit "$status"
