"""Label and annotation keys that the Dynamo operator, Grove and LeaderWorkerSet put on objects.

The ``nvidia.com/*`` keys are set by the Dynamo operator 0.8.0 (consts.go): DCDs,
Deployments, LeaderWorkerSets and Grove PodCliques carry the graph and component
labels, and so do their pods (Grove copies a PodClique's labels onto its pods and
adds ``grove.io/podclique``). Grove labels its PodCliqueScalingGroups only with
its own keys, among them ``app.kubernetes.io/part-of: <PodCliqueSet name>``
(NVIDIA/grove, operator/internal/component), and the PodCliqueSet is named after
the graph.

Keys that only the renderer of one operator version uses stay in that profile
(``kubectl_dynamo/render/v0_8/naming.py``).
"""

# Labels the operator puts on every child and pod of a graph.
GRAPH = "nvidia.com/dynamo-graph-deployment-name"
COMPONENT = "nvidia.com/dynamo-component"
COMPONENT_TYPE = "nvidia.com/dynamo-component-type"
SUB_COMPONENT_TYPE = "nvidia.com/dynamo-sub-component-type"

# Annotations. The operator's sync stamps the last two on every child it creates or
# updates (resource.go): the spec hash and the child's metadata.generation right
# after that write.
ENABLE_GROVE = "nvidia.com/enable-grove"
LAST_APPLIED_HASH = "nvidia.com/last-applied-hash"
LAST_APPLIED_GENERATION = "nvidia.com/last-applied-generation"

# Keys of the workloads the operator creates.
LWS_NAME = "leaderworkerset.sigs.k8s.io/name"
GROVE_PODCLIQUE = "grove.io/podclique"
GROVE_PART_OF = "app.kubernetes.io/part-of"
