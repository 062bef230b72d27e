# shellcheck shell=bash disable=SC2016 # commands for the hosts are single-quoted on purpose
# `scripts/testbed selftest`, sourced by scripts/testbed: checks with plain ssh everything the
# integration tests rely on, one PASS/FAIL line per check, then tears down and checks that
# nothing is left. Exit status 1 if any check failed.

ST_FAILED=0
ST_LOG=''

st_ssh() { ssh -F "$INVDIR/ssh_config" "$@"; }

# Seconds since $1 (an $EPOCHREALTIME), to one decimal.
st_took() {
  local t0=${1/[.,]/} t1=${EPOCHREALTIME/[.,]/}
  printf '%d.%ds' $(((t1 - t0) / 1000000)) $(((t1 - t0) / 100000 % 10))
}

# st_check NAME CMD...: PASS when CMD succeeds.
st_check() {
  local name=$1 t0=$EPOCHREALTIME
  shift
  printf '\n== %s\n' "$name" >>"$ST_LOG"
  if "$@" >>"$ST_LOG" 2>&1; then
    printf 'PASS %s (%s)\n' "$name" "$(st_took "$t0")"
  else
    printf 'FAIL %s (%s)\n' "$name" "$(st_took "$t0")"
    tail -n 5 "$ST_LOG" | sed 's/^/     | /'
    ST_FAILED=1
  fi
}

# st_expect NAME EXPECTED CMD...: PASS when CMD prints exactly EXPECTED.
st_expect() {
  local name=$1 want=$2 got t0=$EPOCHREALTIME
  shift 2
  printf '\n== %s\n' "$name" >>"$ST_LOG"
  got=$("$@" 2>>"$ST_LOG") || true
  if [ "$got" = "$want" ]; then
    printf 'PASS %s (%s)\n' "$name" "$(st_took "$t0")"
  else
    printf 'FAIL %s: expected %q, got %q\n' "$name" "$want" "$got"
    ST_FAILED=1
  fi
}

st_not() { ! "$@"; }

# From inside host $1: can it open TCP $2:$3?
st_probe() {
  st_ssh "$1" "timeout 2 bash -c 'exec 3<>/dev/tcp/$2/$3'"
}

st_ops_password_login() {
  local askpass
  askpass=$(mktemp)
  printf '#!/bin/sh\ncat %q\n' "$INVDIR/ops_password" >"$askpass"
  chmod 0700 "$askpass"
  local out
  out=$(SSH_ASKPASS=$askpass SSH_ASKPASS_REQUIRE=force DISPLAY=none setsid -w \
    ssh -F "$INVDIR/ssh_config" -o BatchMode=no -o PubkeyAuthentication=no \
    -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 ops@node1 'id -un' \
    </dev/null) || true
  rm -f "$askpass"
  [ "$out" = ops ]
}

st_root_password_refused() {
  ! SSH_ASKPASS=/bin/false SSH_ASKPASS_REQUIRE=force DISPLAY=none setsid -w \
    ssh -F "$INVDIR/ssh_config" -o BatchMode=no -o PubkeyAuthentication=no \
    -o PreferredAuthentications=password,keyboard-interactive -o NumberOfPasswordPrompts=1 \
    root@node1 true </dev/null
}

# Polls (10 s at most) until host $1 runs a rancher-agent container.
st_wait_agent() {
  st_ssh "$1" 'for i in $(seq 50); do
    [ "$(docker inspect -f "{{.State.Running}}" rancher-agent 2>/dev/null)" = true ] && exit 0
    sleep 0.2; done; docker ps -a; exit 1'
}

# Registering again (foreground, no CATTLE_AGENT_IP) replaces rancher-agent, keeps the host's
# identity and uses the address the server saw.
st_agent_rerun() {
  local url=$1 old new uuid
  old=$(st_ssh node4 "docker inspect -f '{{.Id}}' rancher-agent") || return 1
  uuid=$(st_ssh node4 'cat /var/lib/rancher/state/.docker_uuid') || return 1
  st_ssh node4 "docker run --rm --privileged -v /var/run/docker.sock:/var/run/docker.sock rancher/agent:v1.0.2 '$url'" ||
    return 1
  new=$(st_ssh node4 "docker inspect -f '{{.Id}} {{.State.Running}}' rancher-agent") || return 1
  if [ "$new" = "$old true" ] || [ "${new#* }" != true ]; then
    echo "rancher-agent not replaced: $old -> $new"
    return 1
  fi
  [ "$(st_ssh node4 'cat /var/lib/rancher/state/.docker_uuid')" = "$uuid" ] || {
    echo "/var/lib/rancher/state/.docker_uuid changed"
    return 1
  }
  st_ssh node4 "docker inspect -f '{{json .Config.Env}}' rancher-agent" |
    grep -F "\"CATTLE_AGENT_IP=$(node_ip4 4)\""
}

# Polls (10 s at most) until host $1 can open TCP $2:$3.
st_wait_port() {
  local tries=50
  until st_probe "$1" "$2" "$3"; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || return 1
    sleep 0.2
  done
}

st_hostnames() {
  local i names
  names=$(for i in 1 2 3 4 5; do st_ssh "node$i" hostname; done | tr '\n' ' ')
  [ "$names" = "node1 node2 node3 node4 node5 " ]
}

st_rekey_mismatch() {
  local out
  out=$(st_ssh node5 true 2>&1) && return 1
  printf '%s\n' "$out"
  grep -q 'REMOTE HOST IDENTIFICATION HAS CHANGED\|Host key verification failed' <<<"$out"
}

st_loopback() {
  local dir rc=0
  dir=$(mktemp -d)
  "$REPO_ROOT/scripts/loopback-sshd" start "$dir" || rc=1
  if [ "$rc" -eq 0 ]; then
    [ "$(ssh -i "$dir/client_key" -p "$(<"$dir/port")" -o BatchMode=yes \
      -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes \
      "$(<"$dir/user")@127.0.0.1" 'echo loopback')" = loopback ] || rc=1
  fi
  "$REPO_ROOT/scripts/loopback-sshd" stop "$dir" || rc=1
  rm -rf "$dir"
  return "$rc"
}

st_nothing_left() {
  local left=0
  if ip netns list | grep -q '^tbnode'; then echo "namespaces left: $(ip netns list)"; left=1; fi
  if ip link show "$BRIDGE" >/dev/null 2>&1; then echo "bridge $BRIDGE left"; left=1; fi
  if ip -br link | grep -q '^tbv'; then echo "veth links left"; left=1; fi
  if grep -qF "$STATE" /proc/self/mountinfo; then echo "mounts left under $STATE"; left=1; fi
  if nft list tables 2>/dev/null | grep -q "$FAULT_TABLE"; then echo "nft table left"; left=1; fi
  if pgrep -f "$TBD/node-init.sh" >/dev/null; then echo "node-init processes left"; left=1; fi
  local root
  for root in /proc/[0-9]*/root; do
    case $(readlink "$root" 2>/dev/null) in
      "$STATE"/*) echo "process ${root#/proc/} still runs in a host root"; left=1 ;;
    esac
  done
  if command -v iptables >/dev/null && iptables -S FORWARD 2>/dev/null | grep -q -- "-i $BRIDGE"; then
    echo "iptables FORWARD rule left"
    left=1
  fi
  [ ! -e "$INVENTORY" ] || { echo "inventory left"; left=1; }
  return "$left"
}

cmd_selftest() {
  need_root selftest
  exec </dev/null
  local tb=$REPO_ROOT/scripts/testbed start=$SECONDS
  ST_LOG=$(mktemp /tmp/testbed-selftest.XXXXXX)
  # The checks expect fresh hosts (no packages installed, original host keys); it ends with down.
  if [ -n "$(existing_nodes)" ]; then
    echo "selftest: taking down the running test hosts first"
    "$tb" down
  fi

  st_check "up 6 hosts" "$tb" up 6
  st_check "up again keeps running hosts" "$tb" up 6
  st_expect "status: node1..node6 running" 6 bash -c "'$tb' status | grep -cE '^node[1-6] .* running '"
  st_check "inventory and ssh config written" test -s "$INVENTORY" -a -s "$INVDIR/ssh_config" \
    -a -s "$INVDIR/known_hosts" -a -s "$INVDIR/ops_password"
  local url
  url="http://$(node_ip4 1):18080/v1/scripts/TESTTOKEN0000000000:1434085200000:testbed"
  st_expect "inventory: [cluster:vars] for the Rancher playbook" \
    "docker_apt_repo=''
rancher_cluster_size=3
rancher_agent_registration_url=$url
rancher_db_host=$(node_ip4 6)
rancher_db_port=3306" \
    grep -E '^(docker_apt_repo|rancher_cluster_size|rancher_agent_registration_url|rancher_db_(host|port))=' \
    "$INVENTORY"

  st_expect "root logs in by key" root st_ssh node1 'id -un'
  st_expect "deploy logs in by key" deploy st_ssh deploy@node1 'id -un'
  st_expect "ops logs in by key" ops st_ssh ops@node1 'id -un'
  st_check "ops logs in by password" st_ops_password_login
  st_check "root cannot log in by password" st_root_password_refused
  st_expect "IPv6 login (fd31:231::12)" node2 st_ssh root@fd31:231::12 hostname
  st_check "deploy: sudo -n true works" st_ssh deploy@node1 'sudo -n true'
  st_check "ops: sudo -n true fails" st_not st_ssh ops@node1 'sudo -n true'
  st_expect "ops: sudo -S with the password works" root \
    st_ssh ops@node1 "sudo -S -p '' id -un <<<\"\$(cat)\"" <"$INVDIR/ops_password"
  st_check "hostnames node1..node5" st_hostnames
  st_expect "only the local repo in sources" 'deb [trusted=yes] file:/srv/repo ./' \
    st_ssh node1 'cat /etc/apt/sources.list; ls /etc/apt/sources.list.d'

  st_check "apt-get update" st_ssh node1 'apt-get update -qq'
  st_expect "docker-engine: 3 versions in the repo" 3 \
    st_ssh node1 "apt-cache madison docker-engine | wc -l"
  st_check "install docker-engine=1.10.3-0~trusty" st_ssh node1 \
    'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-engine=1.10.3-0~trusty'
  st_check "apt-mark hold docker-engine" st_ssh node1 'apt-mark hold docker-engine'
  st_expect "installed and held on node1" '1.10.3-0~trusty held' \
    st_ssh node1 'echo "$(dpkg-query -W -f="\${Version}" docker-engine) $(apt-mark showhold | grep -qx docker-engine && echo held)"'
  st_check "not installed on node2" st_not st_ssh node2 'dpkg-query -W docker-engine || test -e /usr/bin/docker'
  st_expect "docker server version" 1.10.3 st_ssh node1 "docker version --format '{{.Server.Version}}'"
  st_expect "docker0 has 172.17.0.1/16" 172.17.0.1/16 \
    st_ssh node1 "ip -o -4 addr show docker0 | awk '{ print \$4 }'"

  st_check "rancher-ha.sh runs" st_ssh node1 'bash -s rancher/server:v1.1.4' \
    <"$REPO_ROOT/Tests/Fixtures/rancher/rancher-ha.sh"
  st_expect "18080/ping answers pong" pong st_ssh node1 'curl -s http://127.0.0.1:18080/ping'
  st_expect "inspect rancher-ha image and running" 'rancher/server:v1.1.4 true' \
    st_ssh node1 "docker inspect -f '{{.Config.Image}} {{.State.Running}}' rancher-ha"
  st_expect "docker inspect missing fails" 'rc=1 Error: No such object: missing' \
    st_ssh node1 'docker inspect missing >/dev/null 2>/tmp/err; echo "rc=$? $(cat /tmp/err)"'

  # An agent host registers with node1's rancher/server stand-in, as the playbook does.
  st_check "install docker-engine on node4" st_ssh node4 'apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-engine=1.10.3-0~trusty'
  st_check "agent bootstrap: docker run -d rancher/agent URL" st_ssh node4 \
    "docker run -d --privileged -v /var/run/docker.sock:/var/run/docker.sock \
      -e CATTLE_AGENT_IP=$(node_ip4 4) rancher/agent:v1.0.2 '$url' >/tmp/bootstrap.id"
  st_check "  rancher-agent running within 10 s" st_wait_agent node4
  st_expect "  rancher-agent: image, running, restart, net, pid, privileged" \
    'rancher/agent:v1.0.2 true always host host true' st_ssh node4 \
    "docker inspect -f '{{.Config.Image}} {{.State.Running}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.NetworkMode}} {{.HostConfig.PidMode}} {{.HostConfig.Privileged}}' rancher-agent"
  st_expect "  rancher-agent env (range): CATTLE_AGENT_IP, CATTLE_URL" \
    "CATTLE_AGENT_IP=$(node_ip4 4)
CATTLE_URL=http://$(node_ip4 1):18080/v1" st_ssh node4 \
    "docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' rancher-agent | grep -E '^CATTLE_(AGENT_IP|URL)='"
  st_check "  rancher-agent env (json) has CATTLE_AGENT_IP" st_ssh node4 \
    "docker inspect -f '{{json .Config.Env}}' rancher-agent | grep -F '\"CATTLE_AGENT_IP=$(node_ip4 4)\"'"
  st_expect "  bootstrap exited 0; rancher-agent-state exited" 'exited 0 exited' st_ssh node4 \
    'echo "$(docker inspect -f "{{.State.Status}} {{.State.ExitCode}}" "$(cat /tmp/bootstrap.id)") $(docker inspect -f "{{.State.Status}}" rancher-agent-state)"'
  st_check "  identity in /var/lib/rancher/state" st_ssh node4 \
    'cd /var/lib/rancher/state && test -s .registration_token -a -s .docker_uuid -a -s .physical_host_uuid'
  st_check "  again in the foreground: agent replaced, identity kept, detected IP" st_agent_rerun "$url"
  st_expect "  rancher/agent without a URL (run) is a sleeper" true st_ssh node4 \
    'id=$(docker run -d rancher/agent:v1.0.2 run); sleep 0.3; docker inspect -f "{{.State.Running}}" "$id"; docker rm -f "$id" >/dev/null'
  st_expect "  unreachable URL: the bootstrap keeps waiting" 'true waiting' st_ssh node4 \
    "id=\$(docker run -d --privileged -v /var/run/docker.sock:/var/run/docker.sock rancher/agent:v1.0.2 \
      http://$(node_ip4 2):18080/v1/scripts/X 2>/dev/null); sleep 1
    r=\$(docker inspect -f '{{.State.Running}}' \$id)
    docker logs \$id 2>&1 | grep -q 'is not accessible' && r=\"\$r waiting\"
    docker rm -f \$id >/dev/null; echo \$r"

  # The database host (node6, group db) runs mysql-standin.
  st_expect "mysql-standin installed on node6 (db)" 'install ok installed' \
    st_ssh node6 "dpkg-query -W -f='\${Status}' mysql-standin"
  st_check "  but not on node1" st_not st_ssh node1 'command -v mysql'
  st_expect "  max_connections (default, over the socket)" $'max_connections\t151' \
    st_ssh node6 "mysql -N -B -e \"SHOW VARIABLES LIKE 'max_connections'\""
  st_check "  node1 reaches node6:3306" st_probe node1 "$(node_ip4 6)" 3306
  st_expect "  node6:3306 sends a MySQL greeting" 5.5.62 st_ssh node1 \
    "timeout 2 bash -c 'exec 3<>/dev/tcp/$(node_ip4 6)/3306; head -c 40 <&3' | tr -dc '[:print:]' | grep -o '5\.5\.62'"
  st_expect "  max_connections from /etc/mysql-standin, over TCP with -h -P -u -p" \
    $'max_connections\t300' st_ssh node6 "echo 300 >/etc/mysql-standin/max_connections &&
      mysql -N -B -h $(node_ip4 6) -P 3306 -u cattle -pcattle --connect-timeout=5 \
        -e \"SHOW VARIABLES LIKE 'max_connections'\""
  st_check "  service mysql stop" st_ssh node6 'service mysql stop'
  st_expect "  listener down: mysql fails as mysql does" \
    "ERROR 2003 (HY000): Can't connect to MySQL server on '$(node_ip4 6)' (111)
rc=1" st_ssh node6 "mysql -N -B -h $(node_ip4 6) -e 'SELECT 1' 2>&1; echo rc=\$?"
  st_check "  node1 cannot reach node6:3306" st_not st_probe node1 "$(node_ip4 6)" 3306
  st_check "  service mysql start" st_ssh node6 'service mysql start'
  st_check "  node1 reaches node6:3306 again" st_probe node1 "$(node_ip4 6)" 3306
  st_check "fault kill node6" "$tb" fault kill node6
  st_check "fault revive node6" "$tb" fault revive node6
  st_check "  listener back after the reboot" st_wait_port node1 "$(node_ip4 6)" 3306
  st_expect "  max_connections kept" $'max_connections\t300' \
    st_ssh node6 "mysql -N -B -e \"SHOW VARIABLES LIKE 'max_connections'\""

  st_check "node1 reaches node2:22" st_probe node1 "$(node_ip4 2)" 22
  st_check "fault cut node1 node2" "$tb" fault cut node1 node2
  st_check "  node1 cannot reach node2" st_not st_probe node1 "$(node_ip4 2)" 22
  st_check "  node2 cannot reach node1 (IPv6)" st_not st_probe node2 "$(node_ip6 1)" 22
  st_check "  node1 still reaches node3" st_probe node1 "$(node_ip4 3)" 22
  st_check "  the machine still reaches node2" st_ssh node2 true
  st_check "fault restore node1 node2" "$tb" fault restore node1 node2
  st_check "  node1 reaches node2 again" st_probe node1 "$(node_ip4 2)" 22

  st_check "fault sshd-stop node3" "$tb" fault sshd-stop node3
  st_check "  ssh node3 refused" st_not st_ssh node3 true
  st_check "fault sshd-start node3" "$tb" fault sshd-start node3
  st_check "  ssh node3 works" st_ssh node3 true

  st_check "fault kill node1" "$tb" fault kill node1
  st_check "  ssh node1 fails" st_not st_ssh -o ConnectTimeout=2 node1 true
  st_check "fault revive node1" "$tb" fault revive node1
  st_expect "  package kept after revive" '1.10.3-0~trusty' \
    st_ssh node1 "dpkg-query -W -f='\${Version}' docker-engine"
  st_expect "  restart=always container back after revive" pong \
    st_ssh node1 'curl -s http://127.0.0.1:18080/ping'

  st_check "fault link-down node4" "$tb" fault link-down node4
  st_check "  ssh node4 times out" st_not st_ssh -o ConnectTimeout=2 node4 true
  st_check "fault link-up node4" "$tb" fault link-up node4
  st_check "  ssh node4 works" st_ssh node4 true

  st_check "fault rekey node5" "$tb" fault rekey node5
  st_check "  ssh node5 sees a host key mismatch" st_rekey_mismatch

  st_check "loopback-sshd start, login, stop" st_loopback

  st_check "down" "$tb" down
  st_check "nothing left (netns, links, mounts, processes, nft, inventory)" st_nothing_left

  if [ "$ST_FAILED" -eq 0 ]; then
    printf 'all passed in %ds\n' $((SECONDS - start))
    rm -f "$ST_LOG"
  else
    printf 'FAILED in %ds (log %s)\n' $((SECONDS - start)) "$ST_LOG"
  fi
  return "$ST_FAILED"
}
