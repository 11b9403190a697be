#!/usr/bin/env bash
# The batch benchmark (bench/RESULTS.md, "Batch"): jobs/s of `flowline batch`
# against one local keep-alive nginx, side by side with a bare libcurl-multi
# program making the same GETs (bench/curl_multi_baseline.cc), and the peak
# memory of a large batch against a small one.
#
#   bash bench/batch_bench.sh [BUILD_DIR]     (BUILD_DIR defaults to build-bench;
#                                              needs flowline and bench/curl_multi_baseline)
#
# Every job runs a `run_as: session_user` subflow whose action makes one REST
# GET with the user's personal token (imported with `flowline token import`,
# ten users round-robin). nginx answers only requests that carry one of those
# Bearer tokens (401 otherwise), so a job that sent no token fails.
#
# Environment: BATCH_JOBS (jobs per throughput run, default 20000),
# BATCH_CONCURRENCY (default "1 8 64 256"), BATCH_RUNS (runs per point, the
# median is reported, default 3), BATCH_USERS (10), BATCH_MEM_JOBS (default
# "10000 1000000"; empty skips the memory runs), BATCH_MEM_CONCURRENCY (64),
# BATCH_THREADS (flowline's --threads; default: flowline's own, one loop per
# core up to 4), BATCH_KEEP=1 keeps the work directory.
#
# Only loopback traffic: nginx listens on 127.0.0.1 and every run is bounded.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$bench_dir")"
build="${1:-build-bench}"
[[ -d "$build" ]] || build="$repo/$build"
build="$(cd "$build" && pwd)"
flowline="$build/flowline"
baseline="$build/bench/curl_multi_baseline"
jobs="${BATCH_JOBS:-20000}"
concurrencies="${BATCH_CONCURRENCY:-1 8 64 256}"
runs="${BATCH_RUNS:-3}"
users="${BATCH_USERS:-10}"
mem_jobs="${BATCH_MEM_JOBS-10000 1000000}"
mem_concurrency="${BATCH_MEM_CONCURRENCY:-64}"
threads_args=()
[[ -n "${BATCH_THREADS:-}" ]] && threads_args=(--threads "$BATCH_THREADS")

die() { echo "batch-bench: $*" >&2; exit 1; }
[[ -x "$flowline" ]] || die "no flowline program in $build; build it first"
[[ -x "$baseline" ]] || die "no bench/curl_multi_baseline in $build; configure with -DFLOWLINE_BUILD_BENCHMARKS=ON"

# ---- Tools: nginx and GNU time -------------------------------------------------------
apt_install() {
  [[ $(id -u) -eq 0 ]] || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; }
}
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$nginx_bin" ]] || { apt_install nginx && nginx_bin=/usr/sbin/nginx; } ||
  die "nginx is needed (scripts/install-deps.sh installs it)"
[[ -x /usr/bin/time ]] || apt_install time || die "GNU time (/usr/bin/time) is needed"

# ---- Work directory, cleaned up with nginx at exit ----------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/flowline-batch-bench.XXXXXX")"
nginx_pid=""
cleanup() {
  if [[ -n "$nginx_pid" ]] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nginx_pid" 2>/dev/null || true
  fi
  if [[ "${BATCH_KEEP:-0}" == 1 ]]; then
    echo "batch-bench: keeping $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- nginx on a free loopback port ------------------------------------------------------------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
mkdir -p "$work/nginx/html/api/now/table" "$work/nginx/temp"
# nginx's workers drop root for an unprivileged user, who must reach the file:
# the work directory becomes traversable (not listable); FLOWLINE_HOME inside
# it stays 0700.
chmod 0711 "$work"
chmod -R a+rX "$work/nginx/html"
printf '{"result":[{"number":"INC1"}]}' >"$work/nginx/html/api/now/table/incident"
start_nginx() {
  port="$(free_port)"
  cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/temp;
  proxy_temp_path $work/nginx/temp;
  fastcgi_temp_path $work/nginx/temp;
  uwsgi_temp_path $work/nginx/temp;
  scgi_temp_path $work/nginx/temp;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  default_type application/json;
  # Only the benchmark's tokens are let in, so a job that sent none fails.
  map \$http_authorization \$bench_authorized { "~^Bearer bench-token-[0-9]+\$" 1; default 0; }
  server {
    listen 127.0.0.1:$port;
    root $work/nginx/html;
    location = /api/now/table/incident {
      if (\$bench_authorized = 0) { return 401 '{"error":"unauthorized"}'; }
      try_files /api/now/table/incident =404;
    }
  }
}
EOF
  "$nginx_bin" -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" \
    >"$work/nginx/stdout.log" 2>&1 &
  nginx_pid=$!
  local i
  for i in $(seq 50); do
    if curl -fsS -o /dev/null -H "Authorization: Bearer bench-token-0" \
        "http://127.0.0.1:$port/api/now/table/incident" 2>/dev/null; then
      return 0
    fi
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$nginx_pid" 2>/dev/null || true
  nginx_pid=""
  return 1
}
start_nginx || start_nginx ||
  { tail -5 "$work/nginx/error.log" "$work/nginx/stdout.log" >&2; die "nginx did not start"; }
url="http://127.0.0.1:$port/api/now/table/incident?sysparm_limit=5"
curl -fsS -o /dev/null -w '' "http://127.0.0.1:$port/api/now/table/incident" 2>/dev/null &&
  die "nginx answers requests without a token; the check below would prove nothing"

# ---- Definitions, tokens and job files ---------------------------------------------------------
defs="$work/definitions"
mkdir -p "$defs"
cat >"$defs/bench.yaml" <<EOF
kind: OAuthProfile
name: bench_oauth
client_id: bench
client_secret: {env: BENCH_CLIENT_SECRET}
authorization_url: http://127.0.0.1:$port/oauth/authorize
token_url: http://127.0.0.1:$port/oauth/token
redirect_url: http://127.0.0.1/callback
grant_type: authorization_code
scopes: [incidents.read]
---
kind: Credential
name: bench_personal
type: oauth2
oauth_profile: bench_oauth
integration_type: personal
---
kind: ConnectionAlias
name: bench_api
type: connection_and_credential
---
kind: HttpConnection
name: bench_nginx
alias: bench_api
url: http://127.0.0.1:$port
credential: bench_personal
timeout: 10s
---
kind: Action
name: get_incidents
inputs:
  limit: {type: integer, default: 5}
outputs:
  count: {type: integer, value: "{{ length(steps.fetch.body.result) }}"}
steps:
  - id: fetch
    rest:
      connection: bench_api
      method: GET
      path: /api/now/table/incident
      query: {sysparm_limit: "{{ inputs.limit }}"}
      headers: {Accept: application/json}
    on_failure: stop
---
kind: Subflow
name: my_incidents
run_as: session_user
inputs:
  limit: {type: integer, default: 5}
outputs:
  count: {type: integer}
steps:
  - id: get
    action: get_incidents
    inputs: {limit: "{{ inputs.limit }}"}
  - assign_outputs:
      count: "{{ steps.get.count }}"
---
# The memory runs: no network, one set step.
kind: Subflow
name: no_network
inputs:
  n: {type: integer, default: 1}
outputs:
  doubled: {type: integer}
variables:
  x: {type: integer, default: 0}
steps:
  - set: {x: "{{ inputs.n * 2 }}"}
  - assign_outputs:
      doubled: "{{ vars.x }}"
EOF
export BENCH_CLIENT_SECRET=unused-no-login-happens
export FLOWLINE_HOME="$work/home"
unset FLOWLINE_VAULT_KEY
"$flowline" validate "$defs" >/dev/null || die "the benchmark's definitions do not validate"

expires_at=$(( $(date +%s) + 10 * 365 * 86400 ))
for ((u = 0; u < users; u++)); do
  printf '{"access_token":"bench-token-%d","token_type":"Bearer","expires_at":%d}' "$u" "$expires_at" \
    >"$work/token.json"
  "$flowline" token import bench_personal --user "user$u" --file "$work/token.json" -d "$defs" >/dev/null ||
    die "token import failed for user$u"
done
rm -f "$work/token.json"

# make_jobs FILE COUNT RUN INPUTS: COUNT lines, users round-robin.
make_jobs() {
  python3 - "$@" "$users" <<'EOF'
import sys
path, count, run, inputs, users = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
with open(path, "w") as out:
    for i in range(count):
        out.write('{"id":"j%d","run":"%s","user":"user%d","inputs":%s}\n' % (i, run, i % users, inputs))
EOF
}
make_jobs "$work/jobs.jsonl" "$jobs" global.my_incidents '{"limit":5}'

# ---- Timing -----------------------------------------------------------------------------------------
# timed NAME CMD... : runs CMD, appends "wall user sys maxrss_kib" to $work/NAME.
# Wall time from the clock around the process (start-up included), CPU and
# peak RSS from GNU time.
timed() {
  local name="$1" t0 t1 rc=0
  shift
  t0=$(date +%s.%N)
  /usr/bin/time -o "$work/time.out" -f '%U %S %M' "$@" >"$work/cmd.out" 2>"$work/cmd.err" || rc=$?
  t1=$(date +%s.%N)
  if [[ $rc -ne 0 ]]; then
    cat "$work/cmd.out" "$work/cmd.err" >&2
    die "$name failed (exit $rc): $*"
  fi
  echo "$(python3 -c "print(f'{$t1 - $t0:.4f}')") $(tail -1 "$work/time.out")" >>"$work/$name"
}

# check_results FILE COUNT: every job has a completed result line.
check_results() {
  local lines completed
  lines=$(wc -l <"$1")
  completed=$(grep -c '"status":"completed"' "$1" || true)
  [[ "$lines" -eq "$2" && "$completed" -eq "$2" ]] ||
    { head -3 "$1" >&2; die "$1: $completed of $2 jobs completed ($lines lines)"; }
}

# median_field NAME FIELD: the median of one column of $work/NAME.
median_field() {
  python3 -c '
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
print(statistics.median(float(r[int(sys.argv[2])]) for r in rows))' "$work/$1" "$2"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
began=$(date +%s)
echo "batch-bench: nginx on 127.0.0.1:$port, $jobs jobs per run, $runs runs per point (load average $load_before)" >&2

for c in $concurrencies; do
  for ((r = 1; r <= runs; r++)); do
    # Interleaved, so both see the same machine.
    timed "baseline-$c" "$baseline" --url "$url" --requests "$jobs" --concurrency "$c" --token bench-token-0
    grep -q "ok=$jobs " "$work/cmd.out" || { cat "$work/cmd.out" >&2; die "baseline: not every request succeeded"; }
    rm -f "$work/results.jsonl"
    timed "flowline-$c" "$flowline" batch "$work/jobs.jsonl" -d "$defs" --out "$work/results.jsonl" \
      --concurrency "$c" "${threads_args[@]}"
    check_results "$work/results.jsonl" "$jobs"
    # flowline's own rate (from the first job to the last, start-up excluded)
    sed -n 's/.*(\([0-9.]*\) jobs\/s).*/\1/p' "$work/cmd.err" | head -1 >>"$work/self-$c"
    echo "batch-bench: concurrency $c, run $r: baseline $(tail -1 "$work/baseline-$c" | cut -d' ' -f1) s," \
      "flowline $(tail -1 "$work/flowline-$c" | cut -d' ' -f1) s" >&2
  done
done

# ---- Memory -------------------------------------------------------------------------------------------
for n in $mem_jobs; do
  make_jobs "$work/mem-jobs.jsonl" "$n" global.no_network '{"n":21}'
  rm -f "$work/mem-results.jsonl"
  echo "batch-bench: memory run, $n network-free jobs at concurrency $mem_concurrency" >&2
  timed "mem-$n" "$flowline" batch "$work/mem-jobs.jsonl" -d "$defs" --out "$work/mem-results.jsonl" \
    --concurrency "$mem_concurrency"
  check_results "$work/mem-results.jsonl" "$n"
  rm -f "$work/mem-jobs.jsonl" "$work/mem-results.jsonl"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- Report -----------------------------------------------------------------------------------------
echo
echo "load average before $load_before, after $load_after; $(nproc) cores; $jobs jobs, median of $runs runs;" \
  "the whole benchmark took $(( $(date +%s) - began )) s"
echo
echo "| concurrency | baseline jobs/s | flowline batch jobs/s | ratio flowline/baseline | flowline jobs/s (own summary) | baseline CPU/job | flowline CPU/job | flowline peak RSS |"
echo "|---|---|---|---|---|---|---|---|"
for c in $concurrencies; do
  python3 - "$c" "$jobs" \
    "$(median_field "baseline-$c" 0)" "$(median_field "flowline-$c" 0)" \
    "$(median_field "baseline-$c" 1) $(median_field "baseline-$c" 2)" \
    "$(median_field "flowline-$c" 1) $(median_field "flowline-$c" 2)" \
    "$(median_field "flowline-$c" 3)" "$(median_field "self-$c" 0)" <<'EOF'
import sys
c, n, bw, fw, bcpu, fcpu, frss, fself = sys.argv[1:]
n, bw, fw, frss, fself = int(n), float(bw), float(fw), float(frss), float(fself)
bu, bs = map(float, bcpu.split()); fu, fs = map(float, fcpu.split())
# CPU (user + system, start-up included) per job: steadier than wall time on a busy machine.
print(f"| {c} | {n / bw:,.0f} | {n / fw:,.0f} | {bw / fw:.2f} | {fself:,.0f} | "
      f"{(bu + bs) / n * 1e6:.0f} µs | {(fu + fs) / n * 1e6:.0f} µs | {frss / 1024:.1f} MiB |")
EOF
done
if [[ -n "$mem_jobs" ]]; then
  echo
  echo "| network-free jobs (concurrency $mem_concurrency) | wall | jobs/s | CPU | peak RSS |"
  echo "|---|---|---|---|---|"
  first_rss=""
  for n in $mem_jobs; do
    read -r wall user sys rss <"$work/mem-$n"
    python3 -c "
n, wall, cpu, rss = $n, $wall, $user + $sys, $rss
print(f'| {n:,} | {wall:.1f} s | {n / wall:,.0f} | {cpu:.1f} s | {rss / 1024:.1f} MiB |')"
    [[ -z "$first_rss" ]] && first_rss=$rss
    last_rss=$rss
  done
  python3 -c "print(f'\npeak RSS, largest / smallest: {$last_rss / $first_rss:.2f}x (goal <= 1.5x)')"
fi
