"""Pure descriptions of the Kubernetes and Dynamo API: resource kinds, label and
annotation keys, quantities, durations and times, label selectors, YAML
loading, and the not-found error of a named graph (``missing``). No network and
no ``kubernetes`` import."""
