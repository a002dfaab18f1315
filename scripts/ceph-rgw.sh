#!/usr/bin/env bash
# A REAL S3 server on this machine for the storage tests: Ceph RADOS Gateway, single node, on 127.0.0.1:7480.
#
#   sudo scripts/ceph-rgw.sh          # installs (apt), brings up mon + one memstore OSD + radosgw; idempotent
#   scripts/ceph-rgw.sh --stop        # stops the three daemons (the memstore OSD forgets every object)
#
# Recipe: ../shared/docs/INFRA.md "Object storage". Test-only: auth none, one in-memory OSD, data dir
# CEPH_RGW_DIR (default /var/lib/deepfake-ceph). The S3 user and keys below are what tests/ops/test_s3_rgw.py
# uses (override with CEPH_RGW_ACCESS_KEY / CEPH_RGW_SECRET_KEY). Loopback only.
set -euo pipefail

DIR="${CEPH_RGW_DIR:-/var/lib/deepfake-ceph}"
PORT="${CEPH_RGW_PORT:-7480}"
ACCESS="${CEPH_RGW_ACCESS_KEY:-deepfaketest}"
SECRET="${CEPH_RGW_SECRET_KEY:-deepfaketestsecret}"
CONF="$DIR/ceph.conf"

answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; }

stop() {
    # the daemons write their own pid files (pid file = $DIR/ceph-<name>.pid)
    for name in client.rgw osd.0 mon.a; do
        local pidfile="$DIR/ceph-$name.pid" pid
        pid="$(cat "$pidfile" 2>/dev/null || true)"
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" && echo "stopped $name"
            for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        fi
        rm -f "$pidfile"
    done
}

if [ "${1:-}" = "--stop" ]; then
    stop
    exit 0
fi

if answers; then
    echo "RADOS Gateway already answers on http://127.0.0.1:$PORT"
    exit 0
fi

if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null; then
    apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd
fi

stop  # leftovers of a previous bring-up (a memstore OSD cannot be resumed anyway)
rm -rf "$DIR"
mkdir -p "$DIR/mon" "$DIR/osd0" "$DIR/rgw" "$DIR/log" "$DIR/run"
FSID="$(cat /proc/sys/kernel/random/uuid)"

cat > "$CONF" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:3300
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
# essential: without these two lines radosgw hangs 300 s at start (INFRA.md)
ms mon client mode = crc secure
ms client mode = crc secure
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
log file = $DIR/log/\$name.log
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/\$cluster-\$name.pid
[mon.a]
mon data = $DIR/mon
[osd.0]
osd data = $DIR/osd0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
rgw dns name = 127.0.0.1
EOF

monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:3300]" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap"
ceph-mon -c "$CONF" -i a

for _ in $(seq 1 30); do ceph -c "$CONF" --connect-timeout 2 -s >/dev/null 2>&1 && break; sleep 1; done
ceph -c "$CONF" osd create >/dev/null
ceph-osd -c "$CONF" -i 0 --mkfs >/dev/null 2>&1
ceph-osd -c "$CONF" -i 0
ceph -c "$CONF" osd crush add osd.0 1.0 host=localhost root=default >/dev/null 2>&1 || true

for _ in $(seq 1 30); do ceph -c "$CONF" osd stat 2>/dev/null | grep -q "1 up" && break; sleep 1; done

radosgw -c "$CONF" -n client.rgw
for _ in $(seq 1 90); do answers && break; sleep 1; done
answers || { echo "radosgw does not answer on 127.0.0.1:$PORT; see $DIR/log" >&2; exit 1; }

radosgw-admin -c "$CONF" user create --uid deepfake-test --display-name "deepfake tests" \
    --access-key "$ACCESS" --secret-key "$SECRET" >/dev/null 2>&1 || true
echo "RADOS Gateway on http://127.0.0.1:$PORT (access key $ACCESS); stop with: $0 --stop"
