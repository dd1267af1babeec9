"""Access to the Kubernetes API server: the only package that imports ``kubernetes``.

``protocol.Cluster`` is the interface every command codes against; ``connect()``
(in ``kube``) resolves kubeconfig like kubectl and returns an implementation on
the official client. Import ``kubectl_dynamo.cluster.kube`` only on live paths:
it costs about a quarter of a second.
"""
