#!/usr/bin/env bash
# gpu-fuzz: the NVIDIA evidence parser's seeded mutation fuzzer for 10^6 inputs (plus 1% as many RIM XML
# inputs), where the test suite runs it for seconds. ratio = crashes (untyped exceptions) per input; goal 0.
# With GPU_BITFLIPS=1 it also runs the bit-flip test over all 8 bits of every signed byte (the suite flips one).
set -euo pipefail
cd "$(dirname "$0")/../.."
inputs="${FUZZ_INPUTS:-1000000}"
out=bench/out/gpu
dotnet build bench/Veil.Bench.Gpu -c Release -nologo -v:q -o "$out" >/dev/null
if [ "${GPU_BITFLIPS:-0}" = "1" ]; then
  VEIL_ALL_BITS=1 dotnet test tests/Veil.Attestation.Tests -c Release --artifacts-path /tmp/art-gpu-fuzz --filter "FullyQualifiedName~NvidiaBitFlip" -nologo -v:q
fi
line=$(dotnet "$out/Veil.Bench.Gpu.dll" fuzz testdata/vectors "$inputs" | tee /dev/stderr | tail -n 1)
crashes=$(sed -n 's/.*crashes=\([0-9]*\).*/\1/p' <<<"$line")
n=$(sed -n 's/.*fuzz_inputs=\([0-9]*\).*/\1/p' <<<"$line")
awk -v c="$crashes" -v n="$n" 'BEGIN { printf "gpu-fuzz ratio=%g goal=0\n", c / n }'
