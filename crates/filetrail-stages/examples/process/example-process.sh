#!/usr/bin/env bash
# example-process.sh: a tiny, deterministic stand-in for a mission's calibration code, used by
# the tests and the demo as FILETRAIL_PROCESS_COMMAND.
#
# Usage: example-process.sh <input file> <output directory>
#
# Takes a level-0 file named {mission}_{instrument}_l0_{YYYYDDD-HHMMSS}_v{NN}.{ext} and writes
# two products into the output directory, named after the input's science name:
#   {mission}_{instrument}_l1_{YYYYMMDD}T{HHMMSS}_v{N}.0.0.cdf
#   {mission}_{instrument}_ql_{YYYYMMDD}T{HHMMSS}_v{N}.0.0.cdf
# Their content depends only on the input (its name, size and SHA-256), so a re-run writes the
# same bytes. Exits 2 with a message on stderr for an input it cannot process: a name that is
# not a level-0 file name, or an empty file.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 <input file> <output directory>" >&2
  exit 64
fi
input=$1
out=$2
name=$(basename -- "$input")

re='^([a-z0-9-]+)_([A-Za-z0-9]+)_[lL]0_([0-9]{4})([0-9]{3})-([0-9]{6})_v([0-9]+)\.[A-Za-z0-9]+$'
if [[ ! $name =~ $re ]]; then
  echo "example-process: $name is not a level-0 file name ({mission}_{instrument}_l0_{YYYYDDD-HHMMSS}_v{NN}.{ext})" >&2
  exit 2
fi
mission=${BASH_REMATCH[1],,}
instrument=${BASH_REMATCH[2],,}
year=${BASH_REMATCH[3]}
doy=$((10#${BASH_REMATCH[4]}))
hms=${BASH_REMATCH[5]}
version=$((10#${BASH_REMATCH[6]}))

if [ ! -s "$input" ]; then
  echo "example-process: $name is empty: no packets to calibrate" >&2
  exit 2
fi
ymd=$(date -u -d "${year}-01-01 +$((doy - 1)) days" +%Y%m%d)
if [ "$doy" -lt 1 ] || [ "${ymd:0:4}" != "$year" ]; then
  echo "example-process: $name: day $doy is not a day of $year" >&2
  exit 2
fi

digest=$(sha256sum -- "$input" | cut -d' ' -f1)
bytes=$(wc -c <"$input" | tr -d ' ')
for level in l1 ql; do
  product="${mission}_${instrument}_${level}_${ymd}T${hms}_v${version}.0.0.cdf"
  printf 'filetrail example product\nlevel: %s\ninput: %s\ninput_bytes: %s\ninput_sha256: %s\n' \
    "$level" "$name" "$bytes" "$digest" >"$out/$product"
  echo "wrote $product"
done
