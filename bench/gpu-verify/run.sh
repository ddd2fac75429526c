#!/usr/bin/env bash
# gpu-verify: NVIDIA GPU reports verified per second on one core (device chain cached, nonce checked, no RIMs)
# ÷ `openssl speed -elapsed ecdsap384` verify/s measured in the same run on the same core. The issue sets no
# goal; 0.90 is the SNP verifier's (one P-384 verification per report dominates both). Also prints, for
# information, the rate with both RIMs compared on every report (each RIM parsed and its XML signature
# checked once, then version, signing-chain validity and all 33 measurements on every report).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${SECONDS_PER_SIDE:-10}"
core="${BENCH_CORE:-0}"
out=bench/out/gpu
dotnet build bench/Veil.Bench.Gpu -c Release -nologo -v:q -o "$out" >/dev/null

ossl=$(taskset -c "$core" openssl speed -elapsed -seconds "$seconds" ecdsap384 2>/dev/null | awk '/nistp384/ {print $NF}' | tail -n 1)
veil=$(taskset -c "$core" dotnet "$out/Veil.Bench.Gpu.dll" verify ../shared/vectors "$seconds" | sed -n 's/^veil_verify_per_s=//p')
rims=$(taskset -c "$core" dotnet "$out/Veil.Bench.Gpu.dll" rims ../shared/vectors "$seconds" | sed -n 's/^veil_verify_per_s=//p')
echo "openssl ecdsap384 verify/s: $ossl"
echo "veil gpu reports verified/s: $veil"
echo "veil gpu reports verified/s with both RIMs (XML signature checked once per RIM; versions, chain validity, 33 measurements each time): $rims"
awk -v v="$veil" -v o="$ossl" 'BEGIN { printf "gpu-verify ratio=%.3f goal=0.90\n", v / o }'
