#!/usr/bin/env bash
# snp-trustee: the cost of verifying Trustee's SNP evidence JSON (what the broker receives for tee "snp": the sev
# crate's JSON report with the VCEK inside; issue 5) in units of one ECDSA P-384 verification. With the chain cached
# that verification is the only asymmetric operation a report needs; the rest is JSON reading, certificate lookup,
# field checks and claims. Both are timed in one process on one pinned core after tiered JIT has settled, alternating
# in batches of a few milliseconds so that other load falls on both alike; the median per-cycle quotient is reported
# (bench/Shared/PairedTiming.cs). The reference is .NET's
# ECDsa.VerifyData(SHA-384) over the report's signed bytes with the VCEK's key; `openssl speed ecdsap384` is printed
# for scale (on a quiet core .NET's P-384 verify and openssl's are within a few per cent of each other). ratio = P-384 verify time ÷ Trustee JSON verification time (higher is better, like the other benchmarks);
# goal ≥ 0.77, i.e. a verification costs at most 1.3 P-384 verifications.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${MEASURE_SECONDS:-30}"
core="${BENCH_CORE:-0}"
out=bench/out/snp
dotnet build bench/Veil.Bench.Snp -c Release -nologo -v:q -o "$out" >/dev/null

ossl=$(taskset -c "$core" openssl speed -seconds 3 ecdsap384 2>/dev/null | awk '/nistp384/ {print $NF}' | tail -n 1)
run=$(taskset -c "$core" dotnet "$out/Veil.Bench.Snp.dll" trustee testdata/vectors "$seconds")
grep -v "^[a-z_0-9]*=" <<<"$run"
multiple=$(sed -n 's/^trustee_multiple=//p' <<<"$run")
# For scale only: openssl counts CPU time, the in-process figures are wall time per batch (the quotient is what counts).
awk -v o="$ossl" 'BEGIN { printf "openssl speed ecdsap384: %.1f verify/s per CPU-second (%.1f us per verify)\n", o, 1e6 / o }'
awk -v m="$multiple" 'BEGIN { printf "snp-trustee ratio=%.3f goal=0.77\n", 1 / m }'
