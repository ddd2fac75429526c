#!/usr/bin/env bash
# tdx-fuzz: the TDX/event-log parsers' seeded mutation fuzzer for 2·10^5 inputs (about 7 min on this 2-core machine; FUZZ_INPUTS to change) (the test suite runs it for seconds).
# ratio = crashes per input (anything but a named EvidenceFormatException); goal 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
inputs="${FUZZ_INPUTS:-200000}"
out=bench/out/tdx
dotnet build bench/Veil.Bench.Tdx -c Release -nologo -v:q -o "$out" >/dev/null
line=$(dotnet "$out/Veil.Bench.Tdx.dll" fuzz testdata/vectors "$inputs" | tail -n 1)
echo "$line"
crashes=$(sed -n 's/.*crashes=\([0-9]*\).*/\1/p' <<<"$line")
n=$(sed -n 's/.*fuzz_inputs=\([0-9]*\).*/\1/p' <<<"$line")
awk -v c="$crashes" -v n="$n" 'BEGIN { printf "tdx-fuzz ratio=%g goal=0\n", c / n }'
