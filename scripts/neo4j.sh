#!/usr/bin/env bash
# A local Neo4j 5.26 community server for kg's tests, CI and Neo4j Browser, built from Maven
# Central artifacts (no Docker, no tarball download): the org.neo4j:neo4j artifact carries the full
# server entry point (Bolt and HTTP), and org.neo4j.client:neo4j-browser the Browser UI at /browser.
#
#   scripts/neo4j.sh start     fetch jars once, set the initial password, start, wait for Bolt
#   scripts/neo4j.sh stop      stop the server started by this script
#   scripts/neo4j.sh status    say whether it is running and where
#
# Environment:
#   NEO4J_PASSWORD        required by `start` on a fresh data directory (never stored by kg)
#   KG_NEO4J_HOME         cache of jars and the default server directory (~/.cache/kg-neo4j)
#   KG_NEO4J_DATA         server directory: conf, data, logs, pid (default $KG_NEO4J_HOME/server)
#   KG_NEO4J_BOLT_PORT    default 7687;  KG_NEO4J_HTTP_PORT  default 7474
#   KG_NEO4J_VERSION      default 5.26.30;  KG_NEO4J_BROWSER_VERSION  default 5.24.0
#   KG_NEO4J_HEAP         default 1g
# Needs Java 17+ and Maven on PATH, and curl for the readiness check.
set -euo pipefail

VERSION="${KG_NEO4J_VERSION:-5.26.30}"
BROWSER_VERSION="${KG_NEO4J_BROWSER_VERSION:-5.24.0}"
CACHE="${KG_NEO4J_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/kg-neo4j}"
SERVER="${KG_NEO4J_DATA:-$CACHE/server}"
BOLT_PORT="${KG_NEO4J_BOLT_PORT:-7687}"
HTTP_PORT="${KG_NEO4J_HTTP_PORT:-7474}"
HEAP="${KG_NEO4J_HEAP:-1g}"
RUNTIME="$CACHE/runtime-$VERSION-browser-$BROWSER_VERSION"
PIDFILE="$SERVER/run/kg-neo4j.pid"
START_TIMEOUT="${KG_NEO4J_START_TIMEOUT:-180}"

die() { echo "neo4j.sh: $*" >&2; exit 1; }
say() { echo "neo4j.sh: $*" >&2; }

need_tools() {
    command -v java >/dev/null || die "java not found (Java 17+ is needed)"
    command -v mvn >/dev/null || die "mvn not found (Maven fetches the Neo4j jars)"
    command -v curl >/dev/null || die "curl not found (used to check the server is up)"
    local major
    major=$(java -XshowSettings:properties -version 2>&1 \
        | sed -n 's/^ *java.specification.version = //p')
    [[ "${major%%.*}" -ge 17 ]] || die "Java $major found, Neo4j $VERSION needs Java 17+"
}

fetch_runtime() {
    [[ -f "$RUNTIME/.complete" ]] && return 0
    say "fetching Neo4j $VERSION and Browser $BROWSER_VERSION from Maven into $RUNTIME"
    mkdir -p "$RUNTIME"
    cat >"$RUNTIME/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kg.local</groupId>
  <artifactId>kg-neo4j-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.neo4j</groupId><artifactId>neo4j</artifactId><version>$VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.neo4j.client</groupId><artifactId>neo4j-browser</artifactId>
      <version>$BROWSER_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
    rm -rf "$RUNTIME/lib"
    mvn -B -q -Dstyle.color=never -f "$RUNTIME/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$RUNTIME/lib" \
        || die "Maven could not fetch org.neo4j:neo4j:$VERSION (see the output above)"
    touch "$RUNTIME/.complete"
}

write_conf() {
    mkdir -p "$SERVER/conf" "$SERVER/run" "$SERVER/logs" "$SERVER/data"
    ln -sfn "$RUNTIME/lib" "$SERVER/lib"
    cat >"$SERVER/conf/neo4j.conf" <<EOF
# Written by scripts/neo4j.sh on every start; edit the script, not this file.
server.default_listen_address=127.0.0.1
server.bolt.listen_address=127.0.0.1:$BOLT_PORT
server.bolt.advertised_address=127.0.0.1:$BOLT_PORT
server.http.listen_address=127.0.0.1:$HTTP_PORT
server.http.advertised_address=127.0.0.1:$HTTP_PORT
server.http.enabled=true
server.https.enabled=false
server.memory.pagecache.size=512m
dbms.usage_report.enabled=false
db.tx_log.rotation.retention_policy=1 files
EOF
}

server_env() {
    export NEO4J_HOME="$SERVER" NEO4J_CONF="$SERVER/conf"
}

set_initial_password() {
    # The system database keeps the password once the server has run; before that, the admin
    # tool writes it to data/dbms/auth.ini, which the first start consumes.
    if [[ -d "$SERVER/data/databases/system" ]]; then
        return 0
    fi
    [[ -n "${NEO4J_PASSWORD:-}" ]] || die "NEO4J_PASSWORD must be set for the first start"
    [[ ${#NEO4J_PASSWORD} -ge 8 ]] || die "NEO4J_PASSWORD must have at least 8 characters"
    server_env
    java -cp "$SERVER/lib/*" org.neo4j.cli.AdminTool dbms set-initial-password "$NEO4J_PASSWORD" \
        >"$SERVER/logs/initial-password.log" 2>&1 \
        || die "could not set the initial password: $(tail -1 "$SERVER/logs/initial-password.log")"
}

running_pid() {
    [[ -f "$PIDFILE" ]] || return 1
    local pid
    pid=$(cat "$PIDFILE")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_ready() {
    local pid=$1 deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || die "server exited during start; see $SERVER/logs/console.log"
        if port_busy "$BOLT_PORT" && ready_http; then
            return 0
        fi
        sleep 1
    done
    die "Bolt did not answer on 127.0.0.1:$BOLT_PORT within ${START_TIMEOUT}s; see $SERVER/logs"
}

ready_http() {
    # An authenticated query proves the default database is online, not just the socket.
    local body='{"statement": "RETURN 1"}' code
    code=$(curl -s -o /dev/null -w '%{http_code}' -u "neo4j:${NEO4J_PASSWORD:-}" \
        -H 'Content-Type: application/json' -d "$body" \
        "http://127.0.0.1:$HTTP_PORT/db/neo4j/query/v2" || true)
    [[ "$code" == "202" || "$code" == "200" ]] && return 0
    if [[ "$code" == "401" ]]; then
        die "server is up but rejects NEO4J_PASSWORD; it was set on the first start of $SERVER"
    fi
    return 1
}

cmd_start() {
    need_tools
    if pid=$(running_pid); then
        say "already running (pid $pid), bolt://127.0.0.1:$BOLT_PORT"
        return 0
    fi
    for port in "$BOLT_PORT" "$HTTP_PORT"; do
        port_busy "$port" && die "port $port is already in use by another process"
    done
    fetch_runtime
    write_conf
    set_initial_password
    server_env
    say "starting Neo4j $VERSION in $SERVER"
    nohup java -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -Dfile.encoding=UTF-8 \
        -cp "$SERVER/lib/*" org.neo4j.server.CommunityEntryPoint \
        --home-dir="$SERVER" --config-dir="$SERVER/conf" \
        >"$SERVER/logs/console.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    wait_ready "$!"
    say "ready: bolt://127.0.0.1:$BOLT_PORT  browser: http://127.0.0.1:$HTTP_PORT/browser/"
}

cmd_stop() {
    local pid
    if ! pid=$(running_pid); then
        say "not running"
        rm -f "$PIDFILE"
        return 0
    fi
    kill "$pid"
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "server did not stop in 60s; killing pid $pid"
        kill -9 "$pid"
    fi
    rm -f "$PIDFILE"
    say "stopped"
}

cmd_status() {
    local pid
    if pid=$(running_pid); then
        echo "running (pid $pid) bolt://127.0.0.1:$BOLT_PORT http://127.0.0.1:$HTTP_PORT in $SERVER"
    else
        echo "not running ($SERVER)"
        return 3
    fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) die "usage: $0 start|stop|status" ;;
esac
