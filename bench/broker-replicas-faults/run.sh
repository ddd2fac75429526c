#!/usr/bin/env bash
# broker-replicas-faults: the long form of the replica fault drill (tests/Veil.Broker.Tests/Drills): 3 `veil broker
# serve` processes on one throwaway PostgreSQL, GUESTS guests (default 128) doing HANDSHAKES each (default 10) with
# auth, attest and resource on different replicas, replays and unattested probes, admin writers; ROUNDS fault rounds
# (default 3), each a kill -9 + restart of a replica and an immediate PostgreSQL restart. Ends with the fraction of
# guests done when no invariant broke (0 when one did): goal 1.00.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/out/broker-replicas-faults
dotnet build bench/Veil.Bench.BrokerReplicas -c Release -nologo -v:q -o "$out/bin" >/dev/null
dotnet build src/Veil.Cli -c Release -nologo -v:q -o "$out/cli" >/dev/null
work=$(mktemp -d /tmp/veil-bench-faults.XXXXXX)
pgdir=$(mktemp -d /tmp/veil-bench-pg.XXXXXX)
trap './scripts/postgres stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
pg_url=$(./scripts/postgres start "$pgdir")
mkdir -p "$work/data"
status=0
result=$(dotnet "$out/bin/BrokerReplicasBench.dll" drill "$out/cli/veil.dll" "$work/data" "$pg_url" "$pgdir" \
  "${GUESTS:-128}" "${HANDSHAKES:-10}" "${ROUNDS:-3}" "${MINUTES:-20}") || status=$?
echo "$result" | grep -v '^guests_done_fraction='
fraction=$(echo "$result" | sed -n 's/^guests_done_fraction=//p')
echo "broker-replicas-faults ratio=${fraction:-0} goal=1.00"
exit "$status"
