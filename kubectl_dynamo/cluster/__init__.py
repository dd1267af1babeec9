"""Access to the Kubernetes API server: the only package that imports ``kubernetes``.

``protocol.Cluster`` is the interface every command codes against; ``connect()``
(in ``kube``) resolves kubeconfig like kubectl and returns an implementation on
the official client. Import ``kubectl_dynamo.cluster.kube`` only on live paths:
with the client modules that ``client_import`` loads it costs about 0.1 s (the whole
``kubernetes`` package would cost about 0.25 s).

Modules: ``protocol`` (the interface), ``kube`` (requests, retries, streams),
``config`` (kubeconfig, context, namespace, proxy, in-cluster), ``failures`` (API and
transport failures to the product's errors), ``client_import`` (lean client import).
"""
