"""The stdout lines of ``scale``, in kubectl's ``<kind>.<group>/<name> scaled`` style (pure)."""

from __future__ import annotations

import json
from typing import List

from kubectl_dynamo.api.kinds import DGD, DGDSA
from kubectl_dynamo.output.printers import count_noun
from kubectl_dynamo.scale.plan import ADAPTER, resource_name
from kubectl_dynamo.scale.run import ScaleReport


def report_lines(report: ScaleReport) -> List[str]:
    """Return the result lines: the file edit, the commit, one line per service written, the wait."""
    lines: List[str] = []
    request = report.request
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(request.dry_run or "", "")

    edit = report.file_edit
    if edit is not None:
        if request.dry_run and not edit.unchanged:
            lines.extend(edit.diff().rstrip("\n").splitlines())
        for change in edit.changes:
            if change.unchanged:
                lines.append(f"{edit.path} unchanged: service {change.service} already has {count_noun(change.current, 'replica')}")
            else:
                action = "added" if change.inserted else "set"
                lines.append(f"{edit.path} edited{suffix}: service {change.service} {change.current} -> {change.desired} "
                             f"(replicas {action} at line {change.line})")
        if report.commit is not None:
            lines.append(f"[{report.commit.branch} {report.commit.sha}] {report.commit.subject}")

    live = report.live
    if live is not None:
        graph = resource_name(DGD, live.plan.graph)
        if live.dry_run == "client":
            for write in live.written:
                lines.append(f"PATCH {write.path} ({write.content_type})")
                lines.append(json.dumps(write.body, indent=2))
        written = {change.service: write for write in live.written for change in write.changes}
        for change in live.plan.changes:
            write = written.get(change.service)
            if change.unchanged:
                # Name the object that owns the count, as the "scaled" lines do.
                owner = resource_name(DGDSA, change.adapter) if change.owner == ADAPTER and change.adapter else graph
                lines.append(f"{owner} unchanged: service {change.service} already has {count_noun(change.current, 'replica')}")
            elif write is not None:
                where = "scale subresource" if write.subresource else change.field_path
                lines.append(f"{write.resource} scaled{suffix}: service {change.service} "
                             f"{change.current} -> {change.desired} ({where})")
        if report.wait_status is not None:
            counts = ", ".join(f"{c.service} {c.desired}" for c in live.plan.changes)
            lines.append(f"{graph} ready: {counts} replicas updated and ready")
    return lines



def report_names(report: ScaleReport) -> List[str]:
    """Return the written objects as ``<kind>.<group>/<name>``, once each, like `kubectl scale -o name`."""
    names: List[str] = []
    if report.live is not None:
        for write in report.live.written:
            if write.resource not in names:
                names.append(write.resource)
    return names


def report_dict(report: ScaleReport) -> dict:
    """Return the report in JSON form (camelCase keys), for ``-o json`` and ``-o yaml``."""
    result: dict = {
        "apiVersion": "kubectl-dynamo/v1alpha1",  # the product's own report, like get's GraphStatus
        "kind": "ScaleReport",
        "graph": report.request.name,
        "namespace": report.namespace,
        "dryRun": report.request.dry_run or "none",
    }
    live = report.live
    if live is not None:
        written = {change.service: write for write in live.written for change in write.changes}
        services = []
        for change in live.plan.changes:
            write = written.get(change.service)
            written_to = field = None
            if write is not None:
                written_to = write.resource
                field = "scale" if write.subresource else change.field_path
            services.append({
                "service": change.service,
                "from": change.current,
                "to": change.desired,
                "owner": change.owner,
                "scalingAdapter": change.adapter,
                "writtenTo": written_to,
                "field": field,
            })
        result["services"] = services
        result["gpus"] = {"before": live.plan.gpus_before, "after": live.plan.gpus_after}
        if live.dry_run == "client":
            result["requests"] = [
                {"method": "PATCH", "path": w.path, "contentType": w.content_type, "body": w.body} for w in live.written
            ]
        if report.wait_status is not None:
            result["ready"] = True
    edit = report.file_edit
    if edit is not None:
        result["gitFile"] = {
            "path": edit.path,
            "changed": not edit.unchanged and not report.request.dry_run,
            "services": [
                {"service": c.service, "from": c.current, "to": c.desired, "line": c.line, "inserted": c.inserted}
                for c in edit.changes
            ],
        }
        if report.commit is not None:
            result["gitFile"]["commit"] = {"sha": report.commit.sha, "branch": report.commit.branch, "subject": report.commit.subject}
    return result
