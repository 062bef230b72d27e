"""The benchmark's reference workload for pyinfra: the same work as site.yml.

bench/provisioners/run runs it as `pyinfra INVENTORY.py deploy.py` with
BENCH_ROOT (the tool's root; paths are BENCH_ROOT/<host name>/...) and BENCH_SETS
(0: the 20 tasks under BENCH_ROOT/<host>; N: N copies under .../s01 .. /sNN).
pyinfra has no `creates:` and no handlers: a File fact guards the command as
`creates` does, and the handler is a shell operation run if any notifying
operation changed (`_if=any_changed(...)`), placed at the end as Ansible
flushes handlers at the end of the play.
"""

import os
from io import StringIO

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

ROOT = os.environ["BENCH_ROOT"]
SETS = int(os.environ.get("BENCH_SETS", "0"))
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# Ansible's template module renders with trim_blocks; pyinfra's default is Jinja2's.
JINJA = {"trim_blocks": True}

CLUSTER_NAME = "bench"
NOFILE = 65536
PEERS = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
SERVICES = [
    {"name": "api", "port": 6443, "enabled": True},
    {"name": "metrics", "port": 9100, "enabled": True},
    {"name": "proxy", "port": 8443, "enabled": False},
]

name = host.name
node_id = host.data.node_id
node_role = host.data.node_role
template_vars = dict(
    inventory_hostname=name, node_id=node_id, node_role=node_role, cluster_name=CLUSTER_NAME,
    nofile=NOFILE, cluster_peers=PEERS, node_services=SERVICES)

handlers = []
suffixes = [""] if SETS == 0 else [f"/s{i:02d}" for i in range(1, SETS + 1)]
for suffix in suffixes:
    base = f"{ROOT}/{name}{suffix}"
    files.directory(name="Configuration directory", path=f"{base}/etc/cluster", mode="755")
    files.directory(name="Drop-in directory", path=f"{base}/etc/cluster/conf.d", mode="755")
    files.directory(name="Sysctl directory", path=f"{base}/etc/sysctl.d", mode="755")
    files.directory(name="State directory", path=f"{base}/var/lib/cluster", mode="750")
    files.directory(name="Log directory", path=f"{base}/var/log/cluster", mode="755")
    files.directory(name="Program directory", path=f"{base}/opt/cluster/bin", mode="755")
    env = files.put(
        name="Environment file", dest=f"{base}/etc/cluster/cluster.env", mode="644",
        src=StringIO(f"CLUSTER_NAME={CLUSTER_NAME}\nNODE_NAME={name}\nNODE_ROLE={node_role}\n"))
    files.put(
        name="Logging drop-in", dest=f"{base}/etc/cluster/conf.d/10-logging.conf", mode="644",
        src=StringIO("[logging]\nlevel = info\nformat = json\n"))
    net = files.put(
        name="Network drop-in", dest=f"{base}/etc/cluster/conf.d/20-network.conf", mode="644",
        src=StringIO("[network]\nmtu = 1450\nbackend = vxlan\n"))
    files.put(
        name="Health check script", dest=f"{base}/opt/cluster/bin/healthcheck", mode="755",
        src=StringIO("#!/bin/sh\nexec curl -fsS http://127.0.0.1:6443/healthz\n"))
    conf = files.template(
        name="Node configuration", src=f"{TEMPLATES}/node.conf.j2",
        dest=f"{base}/etc/cluster/node.conf", mode="644", jinja_env_kwargs=JINJA, **template_vars)
    unit = files.template(
        name="Service unit", src=f"{TEMPLATES}/cluster.service.j2",
        dest=f"{base}/etc/cluster/cluster.service", mode="644", jinja_env_kwargs=JINJA,
        **template_vars)
    sysctl = f"{base}/etc/sysctl.d/90-cluster.conf"
    files.line(name="Sysctl max_map_count", path=sysctl, line=r"^vm\.max_map_count=.*$",
               replace="vm.max_map_count=262144")
    files.line(name="Sysctl ip_forward", path=sysctl, line=r"^net\.ipv4\.ip_forward=.*$",
               replace="net.ipv4.ip_forward=1")
    files.line(name="Sysctl inotify watches", path=sysctl,
               line=r"^fs\.inotify\.max_user_watches=.*$", replace="fs.inotify.max_user_watches=524288")
    files.put(name="Peer list", dest=f"{base}/etc/cluster/peers", mode="644",
              src=StringIO("\n".join(PEERS) + "\n"))
    initial = f"{base}/var/lib/cluster/node.conf.initial"
    if not host.get_fact(File, path=initial):  # Ansible's `creates:`
        server.shell(name="Initialize node state once",
                     commands=[f"cp {base}/etc/cluster/node.conf {initial}"])
    files.file(name="Initial state is private", path=initial, mode="600")
    files.link(name="Current release link", path=f"{base}/opt/cluster/current",
               target=f"{base}/opt/cluster/bin")
    files.directory(name="Stale cache of the old release removed",
                    path=f"{base}/var/cache/cluster-old", present=False)
    handlers.append((base, any_changed(env, net, conf, unit)))

for base, changed in handlers:
    server.shell(name="restart cluster", commands=[f"touch {base}/var/lib/cluster/restarted"],
                 _if=changed)
