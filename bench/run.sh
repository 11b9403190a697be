#!/usr/bin/env bash
# The validation benchmark (bench/RESULTS.md): validates a generated set of
# definition files with `flowline validate`, and the same files against
# `flowline schema` with ajv-cli, and prints a table.
#
#   bash bench/run.sh [BUILD_DIR]        (BUILD_DIR defaults to build-bench)
#
# Environment: BENCH_FILES (default 1000), BENCH_SEED (1), BENCH_RUNS (20 runs
# of flowline, a quarter as many of ajv), BENCH_SCALE (larger sets timed with
# 3 runs each to show how both scale, default "2000 5000"; empty skips them),
# BENCH_KEEP=1 keeps the work directory.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$bench_dir")"
build="${1:-build-bench}"
[[ -d "$build" ]] || build="$repo/$build"
flowline="$(cd "$build" && pwd)/flowline"
files="${BENCH_FILES:-1000}"
seed="${BENCH_SEED:-1}"
runs="${BENCH_RUNS:-20}"
ajv_runs=$(( runs / 4 > 3 ? runs / 4 : 3 ))
scale="${BENCH_SCALE-2000 5000}"

die() { echo "bench: $*" >&2; exit 1; }
[[ -x "$flowline" ]] || die "no flowline program in $build; build it first (make bench)"

# ---- Tools: hyperfine, GNU time, Node and ajv-cli --------------------------------
apt_install() {
  [[ $(id -u) -eq 0 ]] || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; }
}
command -v hyperfine >/dev/null || apt_install hyperfine ||
  echo "bench: hyperfine unavailable; timing with a loop instead" >&2
[[ -x /usr/bin/time ]] || apt_install time || die "GNU time (/usr/bin/time) is needed for peak memory"
command -v npm >/dev/null || apt_install nodejs npm || die "npm is needed for the ajv-cli comparison"
ajv="$bench_dir/node_modules/.bin/ajv"
if [[ ! -x "$ajv" ]]; then
  echo "bench: installing ajv-cli (bench/package-lock.json) into bench/node_modules" >&2
  (cd "$bench_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/flowline-bench.XXXXXX")"
if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
  echo "bench: keeping $work" >&2
else
  trap 'rm -rf "$work"' EXIT
fi
defs="$work/definitions"

# ---- The set ---------------------------------------------------------------------------
python3 "$bench_dir/gen_definitions.py" "$defs" --files "$files" --seed "$seed" 2>/dev/null
count=$(find "$defs" -name '*.yaml' | wc -l)
bytes=$(cat "$defs"/*.yaml | wc -c)

# The set must be clean (no error, no warning), or the benchmark would time
# error reporting.
"$flowline" validate --format json "$defs" >"$work/validate.json" 2>&1 || true
if ! python3 -c '
import json, sys
report = json.load(open(sys.argv[1]))
sys.exit(0 if report["errors"] == 0 and report["warnings"] == 0 else 1)' "$work/validate.json" \
    2>/dev/null; then
  "$flowline" validate "$defs" 2>&1 | head -40 >&2
  die "flowline validate reports problems in the generated set (above)"
fi

# ---- Timing ------------------------------------------------------------------------------
# time_command NAME RUNS WARMUP CMD... : writes "median min mean stddev cpu" seconds to
# $work/NAME, cpu being the mean user+system time (0 when only the loop is there).
time_command() {
  local name="$1" n="$2" warmup="$3"
  shift 3
  if command -v hyperfine >/dev/null; then
    hyperfine --style basic -N -i --warmup "$warmup" --runs "$n" \
      --export-json "$work/$name.json" -- "$(printf '%q ' "$@")" >&2
    python3 - "$work/$name.json" >"$work/$name" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["median"], r["min"], r["mean"], r["stddev"] or 0.0, r["user"] + r["system"])
EOF
  else
    local i
    for ((i = 0; i < warmup; i++)); do "$@" >/dev/null 2>&1 || true; done
    for ((i = 0; i < n; i++)); do
      local t0 t1
      t0=$(date +%s.%N)
      "$@" >/dev/null 2>&1 || true
      t1=$(date +%s.%N)
      echo "$t0 $t1"
    done | python3 -c '
import statistics, sys
t = [float(b) - float(a) for a, b in (l.split() for l in sys.stdin)]
print(statistics.median(t), min(t), statistics.mean(t), statistics.pstdev(t), 0)' >"$work/$name"
  fi
}

# peak_rss_kib CMD... : the largest maximum resident set size of three runs.
peak_rss_kib() {
  local i best=0 kib
  for i in 1 2 3; do
    kib=$(/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}')
    (( kib > best )) && best=$kib
  done
  echo "$best"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: flowline validate on $count files, $bytes bytes (load average $load_before)" >&2
time_command flowline "$runs" 3 "$flowline" validate "$defs"
flowline_rss=$(peak_rss_kib "$flowline" validate "$defs")

# ajv-cli against the schema flowline publishes, one process over all files
# (its fastest use). A first run with --all-errors checks that the schema
# accepts every file flowline accepts, and shows where it does not.
"$flowline" schema >"$work/schema.json"
ajv_cmd=("$ajv" validate --spec=draft7 --strict=false -s "$work/schema.json" -d "$defs/*.yaml")
"${ajv_cmd[@]}" --all-errors --errors=text >"$work/ajv.out" 2>"$work/ajv.err" || true
ajv_valid=$(grep -c ' valid$' "$work/ajv.out" || true)
ajv_invalid=$(grep -c ' invalid$' "$work/ajv.err" || true)
if (( ajv_valid != count )); then
  echo "bench: ajv finds $ajv_invalid of $count files invalid against 'flowline schema' although" \
       "flowline validate accepts them: the schema and the validator disagree. First reports:" >&2
  head -20 "$work/ajv.err" >&2
fi
echo "bench: ajv-cli validate on the same files" >&2
time_command ajv "$ajv_runs" 1 "${ajv_cmd[@]}"
ajv_rss=$(peak_rss_kib "${ajv_cmd[@]}")

# Start-up: each tool on one file (an OAuth profile, valid on its own), so the
# fixed cost of a process (Node and the schema compile, for ajv) shows apart.
one="$(find "$defs" -name '*_oauth_profile.yaml' | sort | head -1)"
time_command flowline_one 10 2 "$flowline" validate "$one"
time_command ajv_one 5 1 "$ajv" validate --spec=draft7 --strict=false -s "$work/schema.json" -d "$one"

# The in-process split between loading and the rules, when built.
split=""
if [[ -x "$build/bench/bench_validate" ]]; then
  "$build/bench/bench_validate" --defs "$defs" --benchmark_format=json \
    >"$work/bench_validate.json" 2>/dev/null &&
  split=$(python3 - "$work/bench_validate.json" <<'EOF'
import json, sys
rows = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
def ms(name, key): return rows[name][key]
print(" | ".join(f"{n[3:]} {ms(n, 'real_time'):.1f} ms wall, {ms(n, 'cpu_time'):.1f} ms CPU"
                 for n in ("BM_Load", "BM_Validate", "BM_LoadAndValidate") if n in rows))
EOF
)
fi

# ---- The table -----------------------------------------------------------------------------
read -r f_med f_min f_mean f_sd f_cpu <"$work/flowline"
read -r a_med a_min a_mean a_sd a_cpu <"$work/ajv"
read -r f_one _ <"$work/flowline_one"
read -r a_one _ <"$work/ajv_one"
python3 - "$count" "$bytes" "$f_med" "$f_min" "$f_mean" "$f_sd" "$f_cpu" "$flowline_rss" "$f_one" \
  "$a_med" "$a_min" "$a_mean" "$a_sd" "$a_cpu" "$ajv_rss" "$a_one" "$ajv_valid" "$runs" "$ajv_runs" \
  "$load_before" <<'EOF'
import sys
(count, size, f_med, f_min, f_mean, f_sd, f_cpu, f_rss, f_one, a_med, a_min, a_mean, a_sd, a_cpu,
 a_rss, a_one, a_valid, runs, a_runs, load) = sys.argv[1:]
count, size, a_valid = int(count), int(size), int(a_valid)
f_med, f_min, f_mean, f_sd, f_cpu, f_one, a_med, a_min, a_mean, a_sd, a_cpu, a_one = map(
    float, (f_med, f_min, f_mean, f_sd, f_cpu, f_one, a_med, a_min, a_mean, a_sd, a_cpu, a_one))
def row(name, med, lo, mean, sd, cpu, rss, one, n):
    cpu_text = f"{cpu * 1000:.0f} ms" if cpu else "n/a"
    return (f"| {name} | {med * 1000:.0f} ms | {lo * 1000:.0f} ms | {mean * 1000:.0f} ± {sd * 1000:.0f} ms "
            f"| {cpu_text} | {count / med:,.0f} | {size / 1e6 / med:.2f} | {int(rss) / 1024:.1f} MiB "
            f"| {one * 1000:.0f} ms | {n} |")
print(f"\n{count} files, {size:,} bytes ({size / 1e6:.2f} MB); load average before: {load}\n")
print("| tool | wall median | wall min | wall mean ± σ | CPU (user+sys) | files/s | MB/s "
      "| peak RSS | one file | runs |")
print("|---|---|---|---|---|---|---|---|---|---|")
print(row("flowline validate", f_med, f_min, f_mean, f_sd, f_cpu, f_rss, f_one, runs))
print(row("ajv-cli (schema only)", a_med, a_min, a_mean, a_sd, a_cpu, a_rss, a_one, a_runs))
print("\nfiles/s and MB/s (10^6 bytes) are from the median wall time; "
      "'one file' is the median wall time on a single small file (start-up).")
print(f"\nflowline is {a_med / f_med:.1f}x faster than ajv-cli (median wall time); "
      f"goal < 1 s: {'met' if f_med < 1 else 'MISSED'} ({f_med:.3f} s).")
print(f"ajv-cli accepted {a_valid} of {count} files against `flowline schema`.")
EOF
[[ -n "$split" ]] && echo "In process (bench_validate): $split"

# ---- Scaling: ajv pays a fixed start-up, flowline a cost per file ----------------------------
scale_row() {  # FILES BYTES FLOWLINE_SECONDS AJV_SECONDS
  python3 -c 'import sys
n, size, f, a = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print("| %d | %.2f | %.0f ms | %.0f ms | %.2f |" % (n, size / 1e6, f * 1000, a * 1000, a / f))' "$@"
}
if [[ -n "$scale" ]]; then
  echo
  echo "| files | MB | flowline validate (best of 3) | ajv-cli (best of 3) | ratio ajv/flowline |"
  echo "|---|---|---|---|---|"
  scale_row "$count" "$bytes" "$f_min" "$a_min"
  for n in $scale; do
    set_dir="$work/definitions-$n"
    python3 "$bench_dir/gen_definitions.py" "$set_dir" --files "$n" --seed "$seed" 2>/dev/null
    echo "bench: both tools on $n files" >&2
    time_command "flowline_$n" 3 1 "$flowline" validate "$set_dir"
    time_command "ajv_$n" 3 1 "$ajv" validate --spec=draft7 --strict=false -s "$work/schema.json" \
      -d "$set_dir/*.yaml"
    read -r _ fn _ <"$work/flowline_$n"
    read -r _ an _ <"$work/ajv_$n"
    scale_row "$n" "$(cat "$set_dir"/*.yaml | wc -c)" "$fn" "$an"
  done
fi
echo
