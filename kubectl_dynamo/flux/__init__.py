"""Flux GitOps state of Dynamo graphs: sync verdicts and drift against Git.

``sync`` turns a DGD, its Kustomization and the Kustomization's source into a
``FluxSync`` verdict without any Git access; `get`, `status`, `scale` and
`drift` read it. The other modules serve `drift` alone:

* ``revision`` parses artifact revisions;
* ``source`` reads the Git content from a local clone or the source-controller artifact;
* ``build`` reproduces the Kustomization's build;
* ``fields`` and ``ignore`` compare fields the way server-side apply owns them;
* ``drift`` assembles the report and ``report`` prints it as text.

Only ``flux_sync``, ``flux_sync_many`` and ``detect_drift`` talk to the cluster,
always through the ``Cluster`` protocol.
"""
