"""Label and annotation keys the status code finds children by.

The ``nvidia.com/*`` keys are set by the Dynamo operator 0.8.0 (consts.go): DCDs,
Deployments, LeaderWorkerSets, Grove PodCliques and every pod carry the graph and
component labels. Grove labels its PodCliqueScalingGroups only with its own keys,
so those are found through ``app.kubernetes.io/part-of: <PodCliqueSet name>``,
which is the graph's name.
"""

GRAPH = "nvidia.com/dynamo-graph-deployment-name"
COMPONENT = "nvidia.com/dynamo-component"
COMPONENT_TYPE = "nvidia.com/dynamo-component-type"
ENABLE_GROVE = "nvidia.com/enable-grove"
LWS_NAME = "leaderworkerset.sigs.k8s.io/name"
GROVE_PART_OF = "app.kubernetes.io/part-of"
