"""Pure descriptions of the Kubernetes and Dynamo API: resource kinds, label and
annotation keys, and YAML loading. No network and no ``kubernetes`` import."""
