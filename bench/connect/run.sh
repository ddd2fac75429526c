#!/usr/bin/env bash
# connect: requests/s of small chat completions over kept-alive connections through veil connect + veil gateway
# (attested TLS, sample evidence in process) ÷ through a plain pair of YARP hosts doing the same forwarding over
# TLS 1.3 without attestation, alternating rounds in one process. Goal ≥ 0.90. The first request's latency through a
# fresh pair (attestation included for veil) is reported separately. The ratio is the median over paired rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${SECONDS_PER_ROUND:-3}"
rounds="${ROUNDS:-5}"
concurrency="${CONCURRENCY:-8}"
out=bench/out/connect
dotnet build bench/Veil.Bench.Connect -c Release -nologo -v:q -o "$out" >/dev/null
result=$(dotnet "$out/Veil.Bench.Connect.dll" "$seconds" "$rounds" "$concurrency")
echo "$result"
ratio=$(sed -n 's/^ratio=//p' <<<"$result")
echo "connect ratio=$ratio goal=0.90"
