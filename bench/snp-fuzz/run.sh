#!/usr/bin/env bash
# snp-fuzz: the SNP parser's seeded mutation fuzzer for 10^6 inputs (the test suite runs it for seconds).
# ratio = crashes per input (untyped exceptions); goal 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
inputs="${FUZZ_INPUTS:-1000000}"
out=bench/out/snp
dotnet build bench/Veil.Bench.Snp -c Release -nologo -v:q -o "$out" >/dev/null
line=$(dotnet "$out/Veil.Bench.Snp.dll" fuzz testdata/vectors "$inputs" | tee /dev/stderr | tail -n 1)
crashes=$(sed -n 's/.*crashes=\([0-9]*\).*/\1/p' <<<"$line")
n=$(sed -n 's/.*fuzz_inputs=\([0-9]*\).*/\1/p' <<<"$line")
awk -v c="$crashes" -v n="$n" 'BEGIN { printf "snp-fuzz ratio=%g goal=0\n", c / n }'
