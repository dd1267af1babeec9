"""`kubectl dynamo diff`: compare graph files or a live graph with the cluster, down to pods.

``engine`` builds a ``DiffReport`` (``model``) for each of the three modes,
``source`` reads the earlier version for ``--from``, ``live`` reads the live
children, ``normalize`` and ``compare`` drop what the API server adds before
comparing, ``ownership`` keeps fields that other field managers own, and
``external`` runs ``KUBECTL_EXTERNAL_DIFF``.
"""
