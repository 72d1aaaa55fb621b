#!/bin/sh
# Check cliper's MQTT discovery against a real Home Assistant (by hand, not in CI; needs PyPI
# once to install Home Assistant and the integrations' requirements): mosquitto, a fresh HA
# config, onboarding and the MQTT config entry through HA's REST API, `cliper run` on the face
# fixtures, then every cliper entity from /api/states. docs/home-assistant.md has the results.
#
#   tools/ha-check.sh VENV CLIPER        e.g. tools/ha-check.sh /work/ha/venv313 target/debug/cliper
#
# VENV holds `pip install homeassistant==X` (2024.3.3 on Python 3.11 with 'josepy<2';
# 2025.4.4 on Python 3.13). Ports: mosquitto 18830, HA 18123. Work files in $WORK (default
# /tmp/ha-check). Processes it starts are stopped at exit.
set -eu
VENV=$1
CLIPER=$(realpath "$2")
WORK=${WORK:-/tmp/ha-check}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HA=http://127.0.0.1:18123
rm -rf "$WORK" && mkdir -p "$WORK/config"
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

printf 'listener 18830 127.0.0.1\nallow_anonymous true\n' > "$WORK/mosquitto.conf"
mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
pids="$pids $!"

cat > "$WORK/config/configuration.yaml" <<'EOF'
homeassistant:
  name: cliper-check
  time_zone: UTC
  unit_system: metric
  latitude: 0
  longitude: 0
  elevation: 0
http:
  server_host: 127.0.0.1
  server_port: 18123
api:
onboarding:
logger:
  default: warning
  logs:
    homeassistant.components.mqtt: debug
EOF
"$VENV/bin/hass" -c "$WORK/config" > "$WORK/hass.log" 2>&1 &
pids="$pids $!"
i=0
until curl -sf "$HA/api/onboarding" > /dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 600 ] || { echo "Home Assistant did not answer in 600 s; $WORK/hass.log"; exit 1; }
    sleep 1
done
"$VENV/bin/hass" --version

py() { "$VENV/bin/python" -c "$@"; }
code=$(curl -sf -X POST "$HA/api/onboarding/users" -H 'Content-Type: application/json' \
    -d '{"client_id":"http://127.0.0.1:18123/","name":"check","username":"check","password":"check-pass-1","language":"en"}' |
    py 'import json,sys; print(json.load(sys.stdin)["auth_code"])')
TOKEN=$(curl -sf -X POST "$HA/auth/token" -d "grant_type=authorization_code&code=$code&client_id=http://127.0.0.1:18123/" |
    py 'import json,sys; print(json.load(sys.stdin)["access_token"])')
auth="Authorization: Bearer $TOKEN"
flow=$(curl -sf -X POST "$HA/api/config/config_entries/flow" -H "$auth" -H 'Content-Type: application/json' -d '{"handler":"mqtt"}')
echo "mqtt flow: $flow"
flow_id=$(echo "$flow" | py 'import json,sys; print(json.load(sys.stdin)["flow_id"])')
curl -sf -X POST "$HA/api/config/config_entries/flow/$flow_id" -H "$auth" -H 'Content-Type: application/json' \
    -d '{"broker":"127.0.0.1","port":18830}'
echo

cat > "$WORK/cliper.toml" <<EOF
camera = "hallway"
[source]
type = "images"
path = "$ROOT/tests/fixtures/faces"
fps = 2
repeat = true
[[outputs]]
type = "mqtt"
host = "127.0.0.1"
port = 18830
client_id = "ha-check"
discovery = true
EOF
"$CLIPER" run --config "$WORK/cliper.toml" > "$WORK/cliper.out" 2> "$WORK/cliper.err" &
pids="$pids $!"
# Until cliper's entities appear, then a little longer for states to arrive.
i=0
until curl -sf "$HA/api/states" -H "$auth" | grep -q '"entity_id": *"[a-z_]*\.ha_check_'; do
    i=$((i + 1)); [ $i -lt "${WAIT_S:-900}" ] || { echo "no cliper entity in Home Assistant"; break; }
    sleep 1
done
sleep "${SETTLE_S:-20}"
curl -sf "$HA/api/states" -H "$auth" | py '
import json, sys
for s in sorted(json.load(sys.stdin), key=lambda s: s["entity_id"]):
    if "ha_check" not in s["entity_id"]:
        continue
    a = s["attributes"]
    print(s["entity_id"].split(".")[0], s["entity_id"], "state=" + repr(s["state"]),
          "device_class=" + str(a.get("device_class")), "options=" + str(a.get("options", "")),
          "state_class=" + str(a.get("state_class", "")), "event_types=" + str(a.get("event_types", "")))
'
echo "--- discovery lines in hass.log:"
grep -i "discover\|cliper\|ha-check\|error" "$WORK/hass.log" | grep -v DEBUG | tail -40 || true
