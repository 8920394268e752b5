"""What `cutover sandbox` prints of its world and its load, in words a person reads at a
glance."""

from __future__ import annotations

# A summary is read at a glance: a big world lists its first groups and instances, and says how
# many more there are.
SHOWN_GROUPS = 24
SHOWN_INSTANCES = 40


def describe_world(summary: dict, settled: bool) -> str:
    lines = [
        f"Region {summary['region']}, account {summary['account_id']}, "
        f"clock x{summary['time_scale']:g} (sandbox time {summary['clock'][:19]}Z)"
    ]
    if summary["load_balancers"] or summary["classic_load_balancers"]:
        lines.append("Load balancers:")
    for lb in summary["load_balancers"]:
        for ls in lb["listeners"]:
            forward = ", ".join(
                f"{f['target_group']} (weight {f['weight']})" for f in ls["forward"]
            )
            lines.append(f"  {lb['name']} ({lb['type']})  {ls['url']}  -> {forward}")
    for clb in summary["classic_load_balancers"]:
        for port in clb["ports"]:
            states = _count(clb["instances"].values())
            lines.append(f"  {clb['name']} (classic)  http://{clb['dns_name']}:{port}/  {states}")
    if summary["target_groups"]:
        lines.append("Target groups:")
    for tg in summary["target_groups"]:
        lines.append(
            f"  {tg['name']}  {len(tg['targets'])} targets: {_count(tg['targets'].values())}"
        )
    if summary["auto_scaling_groups"]:
        lines.append("Auto Scaling groups:")
    for asg in summary["auto_scaling_groups"]:
        lines.append(
            f"  {asg['name']}  desired {asg['desired']} (min {asg['min']}, max {asg['max']}): "
            f"{_count(asg['instances'].values())}"
        )
    if summary.get("applications"):
        lines.append("CodeDeploy applications:")
    groups = [
        (app, grp) for app in summary.get("applications", []) for grp in app["deployment_groups"]
    ]
    lines += [_describe_group(app, grp) for app, grp in groups[:SHOWN_GROUPS]]
    if len(groups) > SHOWN_GROUPS:
        lines.append(
            f"  … and {len(groups) - SHOWN_GROUPS} more deployment groups"
            " (`cutover status --all` lists them; `--json` here has them all)"
        )
    if summary["instances"]:
        lines.append("Instances:")
    # Each instance's AWS_EC2_METADATA_SERVICE_ENDPOINT: a column for a few, the pattern for many.
    imds = summary.get("imds_base_url")
    per_instance = bool(imds) and len(summary["instances"]) <= 20
    if imds and summary["instances"]:
        tokens = summary.get("imds_tokens", "optional")
        where = "the last column" if per_instance else f"{imds}<instance-id>/"
        lines.append(f"  (instance metadata: {where}; IMDSv2 tokens {tokens})")
    for inst in summary["instances"][:SHOWN_INSTANCES]:
        fault = f"  FAULT: {inst['fault']}" if inst.get("fault") else ""
        metadata = f"  {inst['metadata_url']}" if per_instance and inst.get("metadata_url") else ""
        lines.append(
            f"  {inst['id']}  {inst['state']:<8} {inst['az']}  {inst['revision']:<6} "
            f"{inst['group'] or '-':<10} {inst['url'] or ''}{metadata}{fault}"
        )
    if len(summary["instances"]) > SHOWN_INSTANCES:
        lines.append(
            f"  … and {len(summary['instances']) - SHOWN_INSTANCES} more instances"
            " (`--json` here has them all)"
        )
    if not settled:
        lines.append("(still settling: some targets are not healthy yet)")
    return "\n".join(lines)


def _describe_group(app: dict, grp: dict) -> str:
    kind = "blue/green" if grp["type"] == "BLUE_GREEN" else "in-place"
    traffic = ""
    if grp["type"] != "BLUE_GREEN":
        traffic = (
            ", traffic control"
            if grp["traffic"] == "WITH_TRAFFIC_CONTROL"
            else ", no load balancer"
        )
    asgs = ", ".join(grp["auto_scaling_groups"]) or "tagged instances"
    last = f", last deployment {grp['last_attempted']}" if grp["last_attempted"] else ""
    return f"  {app['name']} / {grp['name']}  {kind}{traffic}, {grp['config']}, {asgs}{last}"


def _count(states: object) -> str:
    counts: dict[str, int] = {}
    for s in states:  # type: ignore[attr-defined]
        counts[s] = counts.get(s, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"


def describe_load(stats: dict) -> str:
    parts = []
    for label, ls in stats.get("listeners", {}).items():
        lat = ls.get("latency_ms", {})
        kinds = ", ".join(f"{k}: {n}" for k, n in sorted(ls.get("error_kinds", {}).items()))
        parts.append(
            f"{label} sent {ls['sent']}, ok {ls['ok']}, errors {ls['errors']}"
            + (f" ({kinds})" if kinds else "")
            + f", median {lat.get('median') or 0:.1f} ms, p99 {lat.get('p99') or 0:.1f} ms"
        )
    return "load: " + ("; ".join(parts) or "no listeners")


# ----- cutover sandbox fault / info -------------------------------------------------------------
