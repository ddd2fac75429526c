#!/usr/bin/env bash
# appraise: one appraisal of a full SNP + 8-GPU claim set (real SNP claims from the Genoa vector, GPU claims
# in issue 4's shape) against the shipped strict policy, divided by one SNP report signature verification
# (ECDSA P-384 over 672 bytes, .NET ECDsa) timed in the same process on the same core. Goal ≤ 0.05.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${SECONDS_PER_SIDE:-5}"
core="${BENCH_CORE:-0}"
out=bench/out/appraise
dotnet build bench/Veil.Bench.Appraise -c Release -nologo -v:q -o "$out" >/dev/null
result=$(taskset -c "$core" dotnet "$out/Veil.Bench.Appraise.dll" "testdata/vectors" "$seconds")
echo "$result"
appraise=$(sed -n 's/^appraise_ns=//p' <<<"$result")
verify=$(sed -n 's/^ecdsa_p384_verify_ns=//p' <<<"$result")
awk -v a="$appraise" -v v="$verify" 'BEGIN { printf "appraise ratio=%.4f goal=0.05\n", a / v }'
