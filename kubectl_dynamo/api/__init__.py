"""Pure descriptions of the Kubernetes and Dynamo API: resource kinds, label and
annotation keys, quantities, durations and times, label selectors, and YAML
loading. No network and no ``kubernetes`` import."""
