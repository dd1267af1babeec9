"""Warnings that `render` prints for pods the 0.8.0 operator renders but that cannot run."""

import textwrap

LOST_MOUNT = textwrap.dedent(
    """
    apiVersion: nvidia.com/v1alpha1
    kind: DynamoGraphDeployment
    metadata:
      name: lost
    spec:
      services:
        Worker:
          componentType: worker
          replicas: 1
          extraPodSpec:
            mainContainer:
              image: example.com/worker:1
              volumeMounts:
                - name: models
                  mountPath: /models
    """
)


def test_mount_without_volume_warns(cli):
    result = cli(["render", "-f", "-", "--kind", "Deployment"], stdin=LOST_MOUNT)
    assert result.exit_code == 0, result.stderr
    assert "kind: Deployment" in result.stdout
    assert (
        "warning: <stdin> (document 1): Deployment lost-worker: container 'main' mounts volume 'models', "
        "which the pod does not have" in result.stderr
    )


def test_mount_with_volume_has_no_warning(cli):
    graph = LOST_MOUNT.replace(
        "      extraPodSpec:\n",
        "      extraPodSpec:\n        volumes:\n          - name: models\n            emptyDir: {}\n",
    )
    assert "emptyDir" in graph
    result = cli(["render", "-f", "-", "--kind", "Deployment"], stdin=graph)
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
    # Go writes a set but empty pointer-to-struct field, so the volume keeps its source.
    assert "      - name: models\n        emptyDir: {}\n" in result.stdout
