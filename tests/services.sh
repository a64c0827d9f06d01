# Throwaway services for the test suite, on loopback ports, without systemd. Source it, then
# `services_start` / `services_stop`. Everything lives in $SERVICES_DIR; only the PIDs recorded
# there are ever signalled.
#
# Ports (SERVICES_BASE, default 27100): +0 AMQP, +1 Erlang distribution, +2 private epmd,
# +3 management HTTP API (for `lmover broker init`), +4 AMQP over TLS (a throwaway CA),
# +10 memcached, +20/+21/+22 carbon-cache line/pickle/cache-query receivers.
# Exports LMOVER_TEST_BROKER (amqp://lmover@127.0.0.1:PORT/lmover), LMOVER_BROKER_PASSWORD,
# LMOVER_TEST_MEMCACHED and LMOVER_TEST_CARBON (127.0.0.1:PORT), LMOVER_TEST_WHISPER (its files).

SERVICES_BASE=${SERVICES_BASE:-27100}
RMQ_PORT=$SERVICES_BASE
RMQ_PASS=${RMQ_PASS:-lmover-test-pass}

# True while PID runs (a zombie counts as gone: `kill -0` would say alive).
svc_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# HOST PORT SECONDS [PID]: waits for a listener; gives up early if PID dies.
svc_wait_for_port() {
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    if [ -n "${4:-}" ] && ! svc_running "$4"; then return 1; fi
    sleep 0.05
  done
  return 1
}

# PIDFILE SECONDS: TERM, wait, then KILL.
svc_stop_pidfile() {
  local pid i
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
  for ((i = 0; i < $2 * 20; i++)); do svc_running "$pid" || break; sleep 0.05; done
  svc_running "$pid" && kill -KILL "$pid" 2>/dev/null
  rm -f "$1"
}

# The broker and every CLI call against it need the same environment.
rabbitmq_env() {
  local d=$SERVICES_DIR/rabbitmq
  env HOME="$d" RABBITMQ_NODENAME="lmover$SERVICES_BASE@localhost" RABBITMQ_NODE_PORT="$RMQ_PORT" \
    RABBITMQ_DIST_PORT=$((SERVICES_BASE + 1)) ERL_EPMD_PORT=$((SERVICES_BASE + 2)) ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" \
    RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" RABBITMQ_PID_FILE="$d/rabbit.pid" \
    ERL_CRASH_DUMP="$d/erl_crash.dump" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" "$@"
}
rabbitmqctl_test() { rabbitmq_env /usr/lib/rabbitmq/bin/rabbitmqctl "$@"; }

# A CA and a server certificate for localhost, made fresh for this run.
make_test_tls() {
  local t=$1
  mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lmover test CA" \
    -keyout "$t/ca.key" -out "$t/ca.pem" >/dev/null 2>&1 || return 1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$t/server.key" -out "$t/server.csr" \
    >/dev/null 2>&1 || return 1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$t/san.ext"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
    -extfile "$t/san.ext" -out "$t/server.pem" >/dev/null 2>&1
}

services_start_rabbitmq() {
  local d=$SERVICES_DIR/rabbitmq
  mkdir -p "$d/mnesia" "$d/log"
  make_test_tls "$d/tls" || { echo "could not make test certificates" >&2; return 1; }
  : >"$d/rabbitmq-env.conf"
  echo '[].' >"$d/advanced.config"
  echo '[rabbitmq_management].' >"$d/enabled_plugins"
  [ -f "$d/.erlang.cookie" ] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/.erlang.cookie"; chmod 400 "$d/.erlang.cookie"; }
  cat >"$d/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$RMQ_PORT
loopback_users = none
disk_free_limit.absolute = 10MB
consumer_timeout = 86400000
management.tcp.ip = 127.0.0.1
management.tcp.port = $((SERVICES_BASE + 3))
listeners.ssl.default = 127.0.0.1:$((SERVICES_BASE + 4))
ssl_options.cacertfile = $d/tls/ca.pem
ssl_options.certfile = $d/tls/server.pem
ssl_options.keyfile = $d/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
log.console = false
log.file.level = info
definitions.import_backend = local_filesystem
definitions.local.path = $d/definitions.json
CONF
  cat >"$d/definitions.json" <<DEFS
{"vhosts": [{"name": "lmover"}],
 "users": [{"name": "lmover", "password": "$RMQ_PASS", "tags": "administrator"}],
 "permissions": [{"user": "lmover", "vhost": "lmover", "configure": ".*", "write": ".*", "read": ".*"}]}
DEFS
  epmd -address 127.0.0.1 -port $((SERVICES_BASE + 2)) >"$d/epmd.log" 2>&1 </dev/null &
  echo $! >"$d/epmd.pid"
  rabbitmq_env /usr/lib/rabbitmq/bin/rabbitmq-server >"$d/stdout.log" 2>&1 </dev/null &
  echo $! >"$d/launcher.pid"
  if ! svc_wait_for_port 127.0.0.1 "$RMQ_PORT" 90 "$(cat "$d/launcher.pid")"; then
    echo "RabbitMQ did not start; $d/stdout.log says:" >&2
    tail -20 "$d/stdout.log" >&2
    return 1
  fi
}

# Stops the broker and starts it again on the same data (for broker-restart tests).
# With "kill", the broker dies by SIGKILL (a power cut, as far as it is concerned) instead of TERM.
# A second argument keeps it down that many seconds more before it starts again.
services_restart_rabbitmq() {
  local d=$SERVICES_DIR/rabbitmq
  if [ "${1:-}" = kill ] && [ -s "$d/rabbit.pid" ]; then kill -KILL "$(cat "$d/rabbit.pid")" 2>/dev/null; fi
  svc_stop_pidfile "$d/rabbit.pid" 30
  svc_stop_pidfile "$d/launcher.pid" 30
  sleep "${2:-0}"
  rabbitmq_env /usr/lib/rabbitmq/bin/rabbitmq-server >>"$d/stdout.log" 2>&1 </dev/null &
  echo $! >"$d/launcher.pid"
  svc_wait_for_port 127.0.0.1 "$RMQ_PORT" 90 "$(cat "$d/launcher.pid")"
}

# memcached for the statistics counters; as root it must be told whom to run as.
services_start_memcached() {
  local d=$SERVICES_DIR/memcached port=$((SERVICES_BASE + 10))
  mkdir -p "$d"
  memcached -u "$(id -un)" -l 127.0.0.1 -p "$port" -U 0 -m 64 -t 2 -c 1024 >"$d/memcached.log" 2>&1 </dev/null &
  echo $! >"$d/memcached.pid"
  svc_wait_for_port 127.0.0.1 "$port" 10 "$(cat "$d/memcached.pid")" ||
    { echo "memcached did not start:" >&2; cat "$d/memcached.log" >&2; return 1; }
}

# carbon-cache (Graphite's plaintext receiver) writing whisper files under $SERVICES_DIR. USER empty:
# it must not switch to _graphite and lose write access; no create limit, no tags database, and
# 1-second points so tests can read single values back.
services_start_carbon() {
  local d=$SERVICES_DIR/carbon
  mkdir -p "$d/storage/whisper" "$d/log"
  cat >"$d/carbon.conf" <<CONF
[cache]
STORAGE_DIR = $d/storage
LOCAL_DATA_DIR = $d/storage/whisper
WHITELISTS_DIR = $d/storage/lists
LOG_DIR = $d/log
PID_DIR = $d
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $((SERVICES_BASE + 20))
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = $((SERVICES_BASE + 21))
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $((SERVICES_BASE + 22))
LOG_UPDATES = False
LOG_CREATES = False
LOG_LISTENER_CONN_SUCCESS = False
CARBON_METRIC_INTERVAL = 0
ENABLE_TAGS = False
CONF
  printf '[default]\npattern = .*\nretentions = 1s:1h,60s:7d\n' >"$d/storage-schemas.conf"
  carbon-cache --config="$d/carbon.conf" --pidfile="$d/carbon-cache.pid" --nodaemon start \
    >"$d/carbon.log" 2>&1 </dev/null &
  echo $! >"$d/carbon.pid"
  svc_wait_for_port 127.0.0.1 $((SERVICES_BASE + 20)) 30 "$(cat "$d/carbon.pid")" ||
    { echo "carbon-cache did not start:" >&2; tail "$d/carbon.log" >&2; return 1; }
}

services_start() {
  SERVICES_DIR=${SERVICES_DIR:-$(mktemp -d /tmp/lmover-services.XXXXXX)}
  export SERVICES_DIR
  services_start_memcached || return 1
  services_start_carbon || return 1
  export LMOVER_TEST_MEMCACHED="127.0.0.1:$((SERVICES_BASE + 10))"
  export LMOVER_TEST_CARBON="127.0.0.1:$((SERVICES_BASE + 20))" LMOVER_TEST_WHISPER="$SERVICES_DIR/carbon/storage/whisper"
  services_start_rabbitmq || return 1
  # The password travels in the environment, as an admin would pass it: never in argv.
  export LMOVER_TEST_BROKER="amqp://lmover@127.0.0.1:$RMQ_PORT/lmover" LMOVER_BROKER_PASSWORD="$RMQ_PASS"
  export LMOVER_TEST_BROKER_API="http://127.0.0.1:$((SERVICES_BASE + 3))"
  export LMOVER_TEST_BROKER_TLS="amqps://lmover@localhost:$((SERVICES_BASE + 4))/lmover"
  export LMOVER_TEST_BROKER_CA="$SERVICES_DIR/rabbitmq/tls/ca.pem"
}

services_stop() {
  [ -n "${SERVICES_DIR:-}" ] || return 0
  local d=$SERVICES_DIR/rabbitmq
  svc_stop_pidfile "$d/rabbit.pid" 30
  svc_stop_pidfile "$d/launcher.pid" 30
  svc_stop_pidfile "$d/epmd.pid" 5
  svc_stop_pidfile "$SERVICES_DIR/memcached/memcached.pid" 10
  svc_stop_pidfile "$SERVICES_DIR/carbon/carbon.pid" 10
}
