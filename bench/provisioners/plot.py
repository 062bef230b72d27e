"""Plots time per task per host against hosts from results/latest.json (run by ./run with
the benchmark's venv python, which has matplotlib)."""

import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

data = json.load(open(sys.argv[1]))
runs = [r for r in data["runs"] if not r.get("error")]
style = {
    "provision": ("provision run", "tab:green"),
    "ansible-default": ("ansible-playbook (defaults)", "tab:red"),
    "ansible-best": ("ansible-playbook (best settings)", "tab:orange"),
    "pyinfra": ("pyinfra", "tab:blue"),
}

fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
for tool, (label, color) in style.items():
    for tasks, marker in ((20, "o"), (200, "s")):
        for phase, line in (("warm", "-"), ("cold", "--")):
            pts = {}
            for r in runs:
                if r["tool"] == tool and r["tasks"] == tasks and r["phase"] == phase:
                    pts.setdefault(r["hosts"], []).append(r["wall"] / (r["hosts"] * r["tasks"]) * 1000)
            if not pts:
                continue
            xs = sorted(pts)
            ys = [statistics.median(pts[x]) for x in xs]
            ax.plot(xs, ys, line, marker=marker, color=color, alpha=1.0 if phase == "warm" else 0.55,
                    label=f"{label}, {tasks} tasks, {phase}")
probe = data.get("probe")
if probe:
    ax.axhline(probe["libssh2_ms"], color="gray", linestyle=":", label=f"provision raw exec round trip ({probe['libssh2_ms']:.2f} ms)")
    ax.axhline(probe["openssh_cm_ms"], color="black", linestyle=":",
               label=f"OpenSSH exec over ControlMaster ({probe['openssh_cm_ms']:.2f} ms)")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("hosts")
ax.set_ylabel("wall time per task per host (ms) = wall ÷ (tasks × hosts)")
ax.set_title("Reference workload: provision vs ansible-playbook vs pyinfra (lower is better)")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=7, loc="best")
fig.tight_layout()
fig.savefig(sys.argv[2])
