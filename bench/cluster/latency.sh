#!/usr/bin/env bash
# Cluster latency benchmark: a private PostgreSQL, N silos (real processes), K jobs of the tiny model submitted one
# after another through silo 1; reports submit->claim latency and claim-transaction time from the silos' /metrics,
# and submit->image wall time per job as a client sees it (HTTP submit, poll, download).
# usage: bench/cluster/latency.sh [SILOS=3] [JOBS=50] [STEPS=1]   (build first: dotnet build -c Release src/LoraGrains.Cli)
set -euo pipefail
SILOS=${1:-3}; JOBS=${2:-50}; STEPS=${3:-1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLI="$ROOT/src/LoraGrains.Cli/bin/Release/net10.0/lora-grains.dll"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d /tmp/lg-bench-XXXX); chmod 755 "$WORK"
AS=(); [ "$(id -u)" = 0 ] && { chown postgres "$WORK"; AS=(runuser -u postgres --); }
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust --no-sync >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
CONN="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=postgres"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
KEY=$(dotnet "$CLI" tenant create --name bench --postgres "$CONN" --data "$WORK/data" 2>/dev/null)
URLS=()
for i in $(seq 1 "$SILOS"); do
  P=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  dotnet "$CLI" serve --postgres "$CONN" --data "$WORK/data" --urls "http://127.0.0.1:$P" --silo-id "b$i" --threads 1 --poll 250ms >"$WORK/silo$i.log" 2>&1 &
  PIDS+=($!); URLS+=("http://127.0.0.1:$P")
done
for u in "${URLS[@]}"; do until curl -sf "$u/readyz" >/dev/null; do sleep 0.2; done; done
python3 - "$KEY" "$JOBS" "$STEPS" "${URLS[@]}" <<'PY'
import json, sys, time, urllib.request, statistics
key, jobs, steps, urls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
def call(method, url, body=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r: return r.read()
walls = []
for i in range(jobs):
    t0 = time.perf_counter()
    job = json.loads(call("POST", f"{urls[0]}/v1/jobs", {"prompt": f"bench {i}", "steps": steps, "width": 64, "height": 64, "seed": i}))["jobId"]
    while json.loads(call("GET", f"{urls[0]}/v1/jobs/{job}"))["status"] not in ("succeeded", "failed", "cancelled"):
        time.sleep(0.005)
    call("GET", f"{urls[0]}/v1/jobs/{job}/image")
    walls.append((time.perf_counter() - t0) * 1000)
count = total = 0; worst = 0.0; qcount = qtotal = 0
for u in urls:
    m = dict(l.rsplit(" ", 1) for l in urllib.request.urlopen(f"{u}/metrics").read().decode().splitlines() if l)
    count += int(m.get("loragrains_claim_latency_ms_count", 0)); total += float(m.get("loragrains_claim_latency_ms_sum", 0))
    worst = max(worst, float(m.get("loragrains_claim_latency_ms_max", 0)))
    qcount += int(m.get("loragrains_claim_query_ms_count", 0)); qtotal += float(m.get("loragrains_claim_query_ms_sum", 0))
walls.sort()
print(f"silos={len(urls)} jobs={jobs} steps={steps} 64x64 tiny model, CPU, 1 libtorch thread per silo, poll 250ms")
print(f"submit->claim latency: mean {total/count:.1f} ms, max {worst:.1f} ms over {count} claims")
print(f"claim transaction (incl. empty polls): mean {qtotal/qcount:.2f} ms over {qcount} claims")
print(f"submit->image (client, HTTP poll 5ms): median {statistics.median(walls):.1f} ms, p90 {walls[int(len(walls)*0.9)-1]:.1f} ms")
PY
