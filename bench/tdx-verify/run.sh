#!/usr/bin/env bash
# tdx-verify: Intel TDX quotes fully verified per second on one core (collateral and PCK chain cached; each quote
# still needs two ECDSA P-256 verifications, QE report and quote) ÷ (`openssl speed -elapsed ecdsap256` verify/s ÷ 2),
# both measured in this run on the same core. Goal ≥ 0.80.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${SECONDS_PER_SIDE:-10}"
core="${BENCH_CORE:-0}"
out=bench/out/tdx
dotnet build bench/Veil.Bench.Tdx -c Release -nologo -v:q -o "$out" >/dev/null

ossl=$(taskset -c "$core" openssl speed -elapsed -seconds "$seconds" ecdsap256 2>/dev/null | awk '/nistp256/ {print $NF}' | tail -n 1)
veil=$(taskset -c "$core" dotnet "$out/Veil.Bench.Tdx.dll" verify ../shared/vectors "$seconds" | sed -n 's/^veil_verify_per_s=//p')
echo "openssl ecdsap256 verify/s: $ossl (reference: half of it, two verifications per quote)"
echo "veil tdx quotes verified/s: $veil"
awk -v v="$veil" -v o="$ossl" 'BEGIN { printf "tdx-verify ratio=%.3f goal=0.80\n", v / (o / 2) }'
