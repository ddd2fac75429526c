#!/usr/bin/env bash
# snp-verify: SEV-SNP reports verified per second on one core (chain cached) ÷ `openssl speed -elapsed
# ecdsap384` verify/s measured in the same run on the same core. Goal ≥ 0.90.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${SECONDS_PER_SIDE:-10}"
core="${BENCH_CORE:-0}"
out=bench/out/snp
dotnet build bench/Veil.Bench.Snp -c Release -nologo -v:q -o "$out" >/dev/null

ossl=$(taskset -c "$core" openssl speed -elapsed -seconds "$seconds" ecdsap384 2>/dev/null | awk '/nistp384/ {print $NF}' | tail -n 1)
veil=$(taskset -c "$core" dotnet "$out/Veil.Bench.Snp.dll" verify testdata/vectors "$seconds" | sed -n 's/^veil_verify_per_s=//p')
echo "openssl ecdsap384 verify/s: $ossl"
echo "veil snp reports verified/s: $veil"
awk -v v="$veil" -v o="$ossl" 'BEGIN { printf "snp-verify ratio=%.3f goal=0.90\n", v / o }'
