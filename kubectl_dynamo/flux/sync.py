"""The Flux sync state of a graph: one verdict from its Kustomization and source.

``evaluate_sync`` is pure: it reads a DGD, the Kustomization that owns it and
that Kustomization's source (all plain dicts) and returns a ``FluxSync``.
``flux_sync`` and ``flux_sync_many`` fetch those objects through the ``Cluster``
protocol, listing each kind once per namespace however many graphs are asked about.

Verdicts, checked in this order (the first that applies wins):

``NotManaged``
    no Kustomization owns the graph: no Flux labels and in no inventory (of
    the Kustomizations in its namespace and in ``flux-system``), the
    labelled Kustomization is gone, or the graph is missing from its inventory.
``Suspended``
    ``spec.suspend`` on the Kustomization or its source, or the graph opts out
    (``kustomize.toolkit.fluxcd.io/reconcile: disabled``, or
    ``kustomize.toolkit.fluxcd.io/ssa: Ignore|IfNotPresent``): Git changes do not
    reach the graph.
``SourceNotReady``
    the source is missing, has no artifact, or is not Ready (fetch failed,
    stalled), so the artifact may be older than Git.
``Failing``
    the Kustomization is not Ready or Stalled, or its last attempted revision
    differs from the last applied one and it is not reconciling right now.
``Pending``
    the source has a revision the Kustomization has not applied yet, the
    Kustomization spec changed and was not reconciled yet, nothing was ever
    applied, or a dependency is not ready.
``Synced``
    the applied revision is the source's revision and both are Ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterable, List, Optional, Tuple

from kubectl_dynamo.api import kinds
from kubectl_dynamo.api.times import parse_time
from kubectl_dynamo.errors import ClusterError, NotFoundError
from kubectl_dynamo.flux import objects as fx
from kubectl_dynamo.flux.revision import same_revision, short_revision

Object = Dict[str, Any]

SYNCED = "Synced"
PENDING = "Pending"
FAILING = "Failing"
SUSPENDED = "Suspended"
SOURCE_NOT_READY = "SourceNotReady"
NOT_MANAGED = "NotManaged"
VERDICTS = (SYNCED, PENDING, FAILING, SUSPENDED, SOURCE_NOT_READY, NOT_MANAGED)

#: The namespace where ``flux bootstrap`` creates the Kustomizations, searched for every graph without Flux labels.
FLUX_NAMESPACE = "flux-system"

_SOURCE_KINDS = {
    "GitRepository": kinds.FLUX_GIT_REPOSITORY,
    "OCIRepository": kinds.FLUX_OCI_REPOSITORY,
    "Bucket": kinds.FLUX_BUCKET,
}


@dataclass(frozen=True)
class FluxSync:
    """The Flux sync state of one graph.

    ``kustomization`` is ``namespace/name`` and ``source`` is
    ``Kind/namespace/name`` ("" when unknown). Revisions are the full strings
    Flux writes (``main@sha1:<hex>``). ``detail`` is one human sentence that
    explains the verdict; ``ready_reason`` and ``ready_message`` are the
    Kustomization's Ready condition as Flux wrote it.
    """

    verdict: str
    kustomization: str = ""
    source: str = ""
    source_revision: str = ""
    applied_revision: str = ""
    attempted_revision: str = ""
    ready_reason: str = ""
    ready_message: str = ""
    suspended: bool = False
    last_reconcile: Optional[datetime] = None
    interval_seconds: Optional[float] = None
    next_reconcile: Optional[datetime] = None
    reconcile_disabled: bool = False
    ssa_policy: str = ""
    detail: str = ""
    source_ready_message: str = ""
    prune: bool = False
    #: True when the Kustomization itself is suspended, so that drift is not corrected either.
    kustomization_suspended: bool = False

    @property
    def managed(self) -> bool:
        return self.verdict != NOT_MANAGED

    @property
    def opted_out(self) -> bool:
        """True when Flux skips this graph on apply, whatever the Kustomization does."""
        return self.reconcile_disabled or self.ssa_policy in ("Ignore", "IfNotPresent")

    def revision_summary(self) -> str:
        """Return the applied revision in short form, with the source's when they differ."""
        applied = short_revision(self.applied_revision)
        if self.source_revision and not same_revision(self.source_revision, self.applied_revision):
            return f"{applied or '<none>'} -> {short_revision(self.source_revision)}"
        return applied

    def to_dict(self) -> Dict[str, Any]:
        """Return the JSON form (camelCase keys, RFC 3339 times, null when unknown)."""
        return {
            "verdict": self.verdict,
            "kustomization": self.kustomization,
            "source": self.source,
            "sourceRevision": self.source_revision,
            "appliedRevision": self.applied_revision,
            "attemptedRevision": self.attempted_revision,
            "readyReason": self.ready_reason,
            "readyMessage": self.ready_message,
            "suspended": self.suspended,
            "lastReconcile": fx.format_time(self.last_reconcile),
            "intervalSeconds": self.interval_seconds,
            "nextReconcile": fx.format_time(self.next_reconcile),
            "reconcileDisabled": self.reconcile_disabled,
            "ssaPolicy": self.ssa_policy,
            "prune": self.prune,
            "kustomizationSuspended": self.kustomization_suspended,
            "detail": self.detail,
            "sourceReadyMessage": self.source_ready_message,
        }


def _meta(obj: Object) -> Object:
    return obj.get("metadata") or {}


def _key(obj: Object) -> Tuple[str, str]:
    meta = _meta(obj)
    return meta.get("namespace", ""), meta.get("name", "")


def source_ref(kustomization: Object) -> Tuple[str, str, str]:
    """Return (kind, namespace, name) of the Kustomization's ``spec.sourceRef``."""
    ref = (kustomization.get("spec") or {}).get("sourceRef") or {}
    namespace = ref.get("namespace") or _meta(kustomization).get("namespace", "")
    return str(ref.get("kind", "")), str(namespace), str(ref.get("name", ""))


def last_reconcile_time(kustomization: Object) -> Optional[datetime]:
    """Return the newest ``status.history[].lastReconciled``, else the Ready transition time."""
    times = [parse_time(h.get("lastReconciled")) for h in (kustomization.get("status") or {}).get("history") or []]
    times = [t for t in times if t is not None]
    if times:
        return max(times)
    ready = fx.condition(kustomization, "Ready")
    return parse_time(ready.get("lastTransitionTime")) if ready else None


def evaluate_sync(dgd: Object, kustomization: Optional[Object], source: Optional[Object], now: datetime,
                  *, unreadable: Iterable[str] = ()) -> FluxSync:
    """Return the sync state of ``dgd``, owned by ``kustomization`` (None when none was found).

    ``source`` is the object ``spec.sourceRef`` names, or None when it was not
    found. Sources of other kinds than GitRepository, OCIRepository and Bucket
    are not read, so their absence does not count against the graph.
    ``unreadable`` names the namespaces whose Kustomizations could not be
    listed (Forbidden) while searching inventories for an unlabelled graph.
    """
    opt_outs = dict(reconcile_disabled=fx.reconcile_disabled(dgd), ssa_policy=fx.ssa_policy(dgd))
    owner = fx.owner_labels(dgd)
    if kustomization is None:
        if owner is None:
            detail = "no Flux labels and in no Kustomization's inventory"
            hidden = sorted(set(unreadable))
            if hidden:
                detail = (f"no Flux labels and in no inventory of the Kustomizations that could be read; cannot tell "
                          f"whether a Kustomization in {', '.join(hidden)} applies it (listing Kustomizations there "
                          "is forbidden)")
            return FluxSync(NOT_MANAGED, detail=detail, **opt_outs)
        ks_name = f"{owner[0]}/{owner[1]}"
        detail = f"labelled as applied by Kustomization {ks_name}, which does not exist"
        return FluxSync(NOT_MANAGED, kustomization=ks_name, detail=detail, **opt_outs)

    ks_ns, ks_name = _key(kustomization)
    spec = kustomization.get("spec") or {}
    status = kustomization.get("status") or {}
    src_kind, src_ns, src_name = source_ref(kustomization)
    ready = fx.condition(kustomization, "Ready") or {}
    interval = fx.parse_duration(spec.get("interval"))
    last = last_reconcile_time(kustomization)
    source_ready = fx.condition(source, "Ready") or {}
    src_suspended = bool(source and (source.get("spec") or {}).get("suspend"))
    ks_suspended = bool(spec.get("suspend"))

    base = dict(
        kustomization=f"{ks_ns}/{ks_name}",
        source=fx.ref_string(src_kind, src_ns, src_name) if src_kind else "",
        source_revision=str((((source or {}).get("status") or {}).get("artifact") or {}).get("revision") or ""),
        applied_revision=str(status.get("lastAppliedRevision") or ""),
        attempted_revision=str(status.get("lastAttemptedRevision") or ""),
        ready_reason=str(ready.get("reason") or ""),
        ready_message=str(ready.get("message") or ""),
        suspended=ks_suspended or src_suspended,
        kustomization_suspended=ks_suspended,
        last_reconcile=last,
        interval_seconds=interval,
        next_reconcile=_next_reconcile(spec, ready, last, interval, ks_suspended),
        source_ready_message=str(source_ready.get("message") or ""),
        prune=bool(spec.get("prune")),
        **opt_outs,
    )

    def verdict(name: str, detail: str) -> FluxSync:
        return FluxSync(name, detail=detail, **base)

    entries = fx.inventory(kustomization)
    if entries is not None and not fx.in_inventory(entries, dgd):
        return verdict(NOT_MANAGED, f"carries the labels of Kustomization {ks_ns}/{ks_name} but is not in its inventory, "
                                    "so Flux neither updates nor prunes it (removed from Git, or another Kustomization applied it)")

    # Suspension and per-object opt-outs: Git changes stop here.
    if ks_suspended:
        return verdict(SUSPENDED, f"Kustomization {ks_ns}/{ks_name} is suspended: no revision is applied and no drift is corrected")
    if src_suspended:
        return verdict(SUSPENDED, f"{base['source']} is suspended: new commits are not fetched")
    if opt_outs["reconcile_disabled"]:
        return verdict(SUSPENDED, f"the graph opts out with {fx.RECONCILE_KEY}: disabled, so Flux skips it")
    if opt_outs["ssa_policy"] == "Ignore":
        return verdict(SUSPENDED, f"the graph opts out with {fx.SSA_KEY}: Ignore, so Flux skips it")
    if opt_outs["ssa_policy"] == "IfNotPresent":
        return verdict(SUSPENDED, f"the graph has {fx.SSA_KEY}: IfNotPresent, so Flux created it once and never updates it")

    # The source: without a current artifact, Flux applies nothing new.
    problem = _source_problem(src_kind, src_ns, src_name, source)
    if problem:
        return verdict(SOURCE_NOT_READY, problem)
    if ready.get("status") == "False" and ready.get("reason") == "ArtifactFailed":
        return verdict(SOURCE_NOT_READY, f"ArtifactFailed: {base['ready_message']}")

    # The Kustomization itself.
    stalled = fx.condition(kustomization, "Stalled") or {}
    if stalled.get("status") == "True":
        return verdict(FAILING, f"stalled ({stalled.get('reason', '')}): {stalled.get('message', '')}")
    if ready.get("status") == "False" and ready.get("reason") != "DependencyNotReady":
        return verdict(FAILING, f"{ready.get('reason', 'NotReady')}: {base['ready_message']}")
    applied, attempted = base["applied_revision"], base["attempted_revision"]
    reconciling = fx.condition(kustomization, "Reconciling") or {}
    retrying = reconciling.get("status") == "True" and reconciling.get("reason") == "ProgressingWithRetry"
    in_progress = ready.get("status") == "Unknown" and not retrying
    if attempted and applied and not same_revision(attempted, applied) and not in_progress:
        return verdict(FAILING, f"revision {short_revision(attempted)} failed to apply; "
                                f"{short_revision(applied)} is still the applied one")

    if ready.get("status") == "False":
        return verdict(PENDING, f"waiting for a dependency: {base['ready_message']}")
    if not applied:
        return verdict(PENDING, "no revision applied yet")
    src_rev = base["source_revision"]
    if src_rev and not same_revision(src_rev, applied):
        return verdict(PENDING, f"revision {short_revision(src_rev)} is fetched but not applied yet "
                                f"(applied: {short_revision(applied)})")
    generation, observed = _meta(kustomization).get("generation"), status.get("observedGeneration")
    if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        return verdict(PENDING, f"Kustomization spec changed (generation {generation}), not reconciled yet "
                                f"(observed {observed})")
    return verdict(SYNCED, f"revision {short_revision(applied)} applied")


def _next_reconcile(spec: Object, ready: Object, last: Optional[datetime], interval: Optional[float],
                    suspended: bool) -> Optional[datetime]:
    # Flux requeues after retryInterval (default: interval) following a failure.
    if suspended or last is None or interval is None:
        return None
    period = interval
    if ready.get("status") == "False":
        retry = fx.parse_duration(spec.get("retryInterval"))
        if retry is not None:
            period = retry
    return last + timedelta(seconds=period)


def _source_problem(kind: str, namespace: str, name: str, source: Optional[Object]) -> str:
    """Return why the source blocks new revisions, or "" when it does not."""
    if kind not in _SOURCE_KINDS:
        return ""
    ref = fx.ref_string(kind, namespace, name)
    if source is None:
        return f"{ref} not found"
    stalled = fx.condition(source, "Stalled") or {}
    if stalled.get("status") == "True":
        return f"{ref} is stalled ({stalled.get('reason', '')}): {stalled.get('message', '')}"
    for negative in ("FetchFailed", "BuildFailed", "StorageOperationFailed", "IncludeUnavailable"):
        cond = fx.condition(source, negative) or {}
        if cond.get("status") == "True":
            return f"{ref}: {negative} ({cond.get('reason', '')}): {cond.get('message', '')}"
    ready = fx.condition(source, "Ready") or {}
    if ready.get("status") == "False":
        return f"{ref} is not ready ({ready.get('reason', '')}): {ready.get('message', '')}"
    if not ((source.get("status") or {}).get("artifact") or {}).get("revision"):
        return f"{ref} has no artifact yet"
    return ""


# --- fetching through the cluster ------------------------------------------

def _list_or_empty(cluster, kind: kinds.ResourceKind, namespace: str) -> List[Object]:
    # A 404 on a list means the CRD is not installed (no Flux): nothing owns anything.
    try:
        return list(cluster.list(kind, namespace).items)
    except NotFoundError:
        return []


def owning_kustomization(dgd: Object, kustomizations: Iterable[Object]) -> Optional[Object]:
    """Return the Kustomization that owns ``dgd``: by its Flux labels, else by inventory."""
    candidates = list(kustomizations)
    owner = fx.owner_labels(dgd)
    if owner is not None:
        for ks in candidates:
            if _key(ks) == owner:
                return ks
        return None
    for ks in candidates:
        entries = fx.inventory(ks)
        if entries and fx.in_inventory(entries, dgd):
            return ks
    return None


def _with_kind(dgd: Object) -> Object:
    # Lists drop apiVersion/kind from items in some clients; inventory matching needs them.
    if dgd.get("apiVersion") and dgd.get("kind"):
        return dgd
    return {**dgd, "apiVersion": kinds.DGD.api_version, "kind": kinds.DGD.kind}


@dataclass
class FluxObjects:
    """The Kustomization owning each graph (None when none) and the sources they name."""

    owners: Dict[Tuple[str, str], Optional[Object]]
    sources: Dict[Tuple[str, str, str], Object]
    #: Namespaces searched only for inventories whose Kustomizations could not be listed (Forbidden).
    unreadable: Tuple[str, ...] = ()

    def source_of(self, kustomization: Optional[Object]) -> Optional[Object]:
        return self.sources.get(source_ref(kustomization)) if kustomization else None


def gather(cluster, dgds: List[Object]) -> FluxObjects:
    """Fetch the Kustomizations and sources of ``dgds``, one list per kind and namespace.

    Lists Kustomizations in each namespace that a graph's labels name; for
    unlabelled graphs, in the graph's own namespace and in ``flux-system``, to
    search their inventories. Then each referenced source kind once per
    namespace. A missing Flux CRD counts as "nothing is managed". Forbidden on
    ``flux-system`` when only unlabelled graphs need it means "cannot tell"
    (see ``FluxObjects.unreadable``); any other API error raises ``ClusterError``.
    """
    ks_namespaces = set()
    fallback = set()
    for dgd in dgds:
        owner = fx.owner_labels(dgd)
        if owner:
            ks_namespaces.add(owner[0])
        else:
            ks_namespaces.add(_key(dgd)[0])
            fallback.add(FLUX_NAMESPACE)
    kustomizations: List[Object] = []
    unreadable: List[str] = []
    for namespace in sorted(ks_namespaces | fallback):
        try:
            kustomizations.extend(_list_or_empty(cluster, kinds.FLUX_KUSTOMIZATION, namespace))
        except ClusterError as error:
            if error.status != 403 or namespace in ks_namespaces:
                raise
            unreadable.append(namespace)

    owners = {_key(dgd): owning_kustomization(_with_kind(dgd), kustomizations) for dgd in dgds}

    wanted = {(kind, ns) for kind, ns, _ in (source_ref(ks) for ks in owners.values() if ks) if kind in _SOURCE_KINDS}
    sources: Dict[Tuple[str, str, str], Object] = {}
    for kind, namespace in sorted(wanted):
        for src in _list_or_empty(cluster, _SOURCE_KINDS[kind], namespace):
            sources[(kind, namespace, _meta(src).get("name", ""))] = src
    return FluxObjects(owners, sources, tuple(unreadable))


def flux_sync_many(cluster, dgds: List[Object], *, now: Optional[datetime] = None) -> Dict[Tuple[str, str], FluxSync]:
    """Return the sync state of every graph, keyed by (namespace, name).

    Makes one list request per Kustomization namespace (``flux-system``
    included when a graph has no Flux labels) and per source kind and
    namespace, however many graphs there are (see ``gather``). Raises
    ``ClusterError`` when Flux objects cannot be read, except for a missing CRD.
    """
    now = now or datetime.now(timezone.utc)
    found = gather(cluster, dgds)
    result = {}
    for dgd in dgds:
        ks = found.owners[_key(dgd)]
        result[_key(dgd)] = evaluate_sync(_with_kind(dgd), ks, found.source_of(ks), now, unreadable=found.unreadable)
    return result


def flux_sync(cluster, dgd: Object, *, now: Optional[datetime] = None) -> FluxSync:
    """Return the sync state of one graph (see ``flux_sync_many``)."""
    return flux_sync_many(cluster, [dgd], now=now)[_key(dgd)]
