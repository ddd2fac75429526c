#!/usr/bin/env bash
# topology: scan + plan (replicate, all 8 GPUs, NICs and NVSwitches, SNP) + every artifact, of the HGX H100
# 8-GPU fixture (~300 functions), timed in fresh processes. The figure is the median over RUNS processes of
# the first (cold, JIT included) scan+plan in each; goal ≤ 100 ms, so ratio = cold_ms / 100 (≤ 1.0 meets it).
# Reference in the same run: Debian's lspci -vv reading the same tree (C, same sysfs files), per process.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${RUNS:-7}"
out=bench/out/topology
dotnet build bench/Veil.Bench.Topology -c Release -nologo -v:q -o "$out" >/dev/null
rootfile=$(mktemp)
dotnet "$out/Veil.Bench.Topology.dll" fixture "$rootfile"
root=$(cat "$rootfile")
trap 'rm -rf "$(dirname "$root")" "$rootfile"' EXIT

colds=(); hots=(); cold_cpus=(); hot_cpus=()
for _ in $(seq "$runs"); do
  r=$(dotnet "$out/Veil.Bench.Topology.dll" measure "$root" 20)
  colds+=("$(sed -n 's/^cold_ms=//p' <<<"$r")")
  hots+=("$(sed -n 's/^hot_median_ms=//p' <<<"$r")")
  cold_cpus+=("$(sed -n 's/^cold_cpu_ms=//p' <<<"$r")")
  hot_cpus+=("$(sed -n 's/^hot_cpu_ms=//p' <<<"$r")")
  split=$(sed -n 's/^cold_split_ms //p' <<<"$r")
  functions=$(sed -n 's/^functions=//p' <<<"$r")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cold=$(median "${colds[@]}")
hot=$(median "${hots[@]}")
cold_cpu=$(median "${cold_cpus[@]}")
hot_cpu=$(median "${hot_cpus[@]}")

lspci_ms=()
if command -v lspci >/dev/null 2>&1; then
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N)
    lspci -A linux-sysfs -O sysfs.path="$root/bus/pci" -vv -D >/dev/null 2>&1
    t1=$(date +%s%N)
    lspci_ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')")
  done
fi
ref=$( [ "${#lspci_ms[@]}" -gt 0 ] && median "${lspci_ms[@]}" || echo "n/a")
ref_cpu="n/a"
if [ -x /usr/bin/time ] && command -v lspci >/dev/null 2>&1; then
  tf=$(mktemp)
  /usr/bin/time -o "$tf" -f '%U %S' lspci -A linux-sysfs -O sysfs.path="$root/bus/pci" -vv -D >/dev/null 2>&1
  ref_cpu=$(awk '{ printf "%.0f", ($1 + $2) * 1000 }' "$tf")
  rm -f "$tf"
fi

echo "functions=$functions runs=$runs load=$(cut -d' ' -f1-3 /proc/loadavg) nproc=$(nproc)"
echo "veil cold scan+plan+emit (median of $runs processes): ${cold} ms wall, ${cold_cpu} ms CPU (last split: $split)"
echo "veil hot scan+plan+emit (same processes, after the first): ${hot} ms wall, ${hot_cpu} ms CPU"
echo "reference lspci -vv of the same tree (whole process, median): ${ref} ms wall, ${ref_cpu} ms CPU (one run)"
awk -v c="$cold" 'BEGIN { printf "topology ratio=%.3f goal=1.0\n", c / 100 }'
