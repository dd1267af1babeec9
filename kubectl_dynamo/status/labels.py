"""Label and annotation keys the status code finds children by.

The ``nvidia.com/*`` keys are set by the Dynamo operator 0.8.0 (consts.go): DCDs,
Deployments, LeaderWorkerSets and Grove PodCliques carry the graph and component
labels, and so do their pods (Grove copies a PodClique's labels onto its pods and
adds ``grove.io/podclique``). Grove labels its PodCliqueScalingGroups only with
its own keys, among them ``app.kubernetes.io/part-of: <PodCliqueSet name>``
(NVIDIA/grove, operator/internal/component), and the PodCliqueSet is named after
the graph.
"""

GRAPH = "nvidia.com/dynamo-graph-deployment-name"
COMPONENT = "nvidia.com/dynamo-component"
COMPONENT_TYPE = "nvidia.com/dynamo-component-type"
ENABLE_GROVE = "nvidia.com/enable-grove"
LWS_NAME = "leaderworkerset.sigs.k8s.io/name"
GROVE_PODCLIQUE = "grove.io/podclique"
GROVE_PART_OF = "app.kubernetes.io/part-of"
