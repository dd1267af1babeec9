"""Backend framework detection and the per-backend container rewrites (Dynamo 0.8.0).

Mirrors graph.go (detection), backend_{vllm,sglang,trtllm}.go, utils.go (flag
injection), grove.go and lws.go (multinode host names) of the 0.8.0 operator.
All functions work on containers and pod specs in JSON form and change them in place.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from kubectl_dynamo.errors import InputError

Object = Dict[str, Any]

NOOP = "noop"
VLLM = "vllm"
SGLANG = "sglang"
TRTLLM = "trtllm"
FRAMEWORKS = (VLLM, SGLANG, TRTLLM)

ROLE_MAIN = "main"
ROLE_LEADER = "leader"
ROLE_WORKER = "worker"

VLLM_RAY_PORT = "6379"
VLLM_DATA_PARALLEL_RPC_PORT = "13445"
SGLANG_DIST_INIT_PORT = "29500"
MPI_SSH_PORT = 2222
DEFAULT_VLLM_CACHE_MOUNT_POINT = "/root/.cache/vllm"

# Go's \s: ASCII whitespace only (Python's \s also matches \v and Unicode spaces).
_GO_SPACE = r"[\t\n\f\r ]"

# Environment variables every TRT-LLM mpirun forwards with -x, besides the container's own.
TRTLLM_FORWARDED_ENV = (
    "CUDA_VISIBLE_DEVICES", "MODEL_PATH", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT",
    "TOKENIZERS_PARALLELISM", "NCCL_DEBUG", "NCCL_IB_DISABLE", "NCCL_P2P_DISABLE",
    "TENSORRT_LLM_CACHE_DIR", "HF_HOME", "TRANSFORMERS_CACHE", "HF_DATASETS_CACHE",
    "PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "HOME", "USER", "TRTLLM_USE_UCX_KVCACHE",
)


# --- multinode deployers ---------------------------------------------------------------


class GroveDeployer:
    """Host names and ranks inside a Grove PodCliqueScalingGroup (grove.go)."""

    name = "grove"
    needs_dns_wait = False

    def leader_hostname(self, service_name: str) -> str:
        return f"$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-{service_name}-ldr-0.$(GROVE_HEADLESS_SERVICE)"

    def host_names(self, service_name: str, number_of_nodes: int) -> List[str]:
        workers = [
            f"$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-{service_name}-wkr-{i}.$(GROVE_HEADLESS_SERVICE)"
            for i in range(number_of_nodes - 1)
        ]
        return [self.leader_hostname(service_name)] + workers

    def node_rank(self) -> Tuple[str, bool]:
        """Return the worker's node rank and whether it needs a shell to expand."""
        return "$((GROVE_PCLQ_POD_INDEX + 1))", True


class LWSDeployer:
    """Host names and ranks inside a LeaderWorkerSet group (lws.go)."""

    name = "lws"
    needs_dns_wait = True

    def leader_hostname(self, service_name: str) -> str:
        return "$LWS_LEADER_ADDRESS"

    def host_names(self, service_name: str, number_of_nodes: int) -> List[str]:
        # Worker i's address is the leader's with "-<i>" inserted before the first dot.
        workers = [f"$(echo \"$LWS_LEADER_ADDRESS\" | sed 's/\\./-{i}\\./')" for i in range(1, number_of_nodes)]
        return [self.leader_hostname(service_name)] + workers

    def node_rank(self) -> Tuple[str, bool]:
        return "$(LWS_WORKER_INDEX)", True


GROVE = GroveDeployer()
LWS = LWSDeployer()


# --- framework detection ---------------------------------------------------------------


def _detection_pattern(framework: str) -> "re.Pattern[str]":
    return re.compile(rf"python[0-9.]*{_GO_SPACE}+[^|&;]*-m{_GO_SPACE}+[^|&;]*dynamo\.{framework}[^|&;]*")


_DETECTION_PATTERNS = {framework: _detection_pattern(framework) for framework in FRAMEWORKS}


def detect_framework_from_command(command: List[str], args: List[str]) -> str:
    """Return the framework that ``python -m dynamo.<framework>`` in command+args names, or noop."""
    full_command = " ".join(list(command) + list(args))
    detected = [name for name, pattern in _DETECTION_PATTERNS.items() if pattern.search(full_command)]
    if not detected:
        return NOOP
    if len(detected) > 1:
        raise InputError(f"multiple backend frameworks detected from command: {detected} in {full_command!r}")
    return detected[0]


def determine_framework(component_type: str, command: List[str], args: List[str], explicit: str) -> str:
    """Return the backend framework of a component: detected, else explicit, else noop.

    Only worker, prefill and decode components get a backend. Raises InputError when the
    command names a different framework than ``explicit``.
    """
    if component_type not in ("worker", "prefill", "decode"):
        return NOOP

    detected = ""
    detection_error: Optional[InputError] = None
    if command or args:
        try:
            detected = detect_framework_from_command(command, args)
        except InputError as error:
            detection_error = error

    if detected and detected != NOOP and explicit and detected != explicit:
        raise InputError(
            f"backend framework mismatch: detected {detected!r} from command but explicitly configured as {explicit!r}",
            hint=f"set backendFramework to {detected!r} or change the command",
        )
    if detected and detected != NOOP:
        return detected
    if explicit:
        return explicit
    if detection_error is not None:
        raise InputError(f"could not determine backend framework: {detection_error}", hint="set backendFramework explicitly")
    return NOOP


def default_compilation_cache_mount_point(framework: str) -> str:
    """Return the default compilation cache path; only vLLM has one."""
    return DEFAULT_VLLM_CACHE_MOUNT_POINT if framework == VLLM else ""


# --- shared helpers ----------------------------------------------------------------------


def is_python_command(command: str) -> bool:
    """Return whether a command is a Python interpreter (python, python3.11, /usr/bin/python3)."""
    if command in ("python", "python3"):
        return True
    return re.fullmatch(r"(.*/)?(python\d*(\.\d+)*)", command) is not None


def _remove_probes(container: Object) -> None:
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        container.pop(probe, None)


def inject_flags_into_python_command(arg: str, flags: str, framework: str) -> str:
    """Insert ``flags`` after every ``python ... <framework>...`` command in a shell string."""
    pattern = re.compile(rf"(python[0-9.]*{_GO_SPACE}+[^|&;]*{framework}[^|&;]*?)({_GO_SPACE}|\Z|[|&;])")
    return pattern.sub(lambda match: f"{match.group(1)} {flags}{match.group(2)}", arg)


def inject_flags_into_container_command(container: Object, flags: str, needs_shell: bool, framework: str) -> None:
    """Add multinode flags to the container's command line (utils.go, Dynamo 0.8.0).

    A Python command gets the flags appended to its args, or becomes
    ``sh -c "exec <command> <args> <flags>"`` when the flags need shell expansion.
    Any other command gets the flags inserted into the first arg that runs the framework.
    """
    command = container.get("command") or []
    args = container.get("args") or []
    if command and is_python_command(command[0]):
        if needs_shell:
            if args:
                shell_command = f"exec {' '.join(command)} {' '.join(args)} {flags}"
            else:
                shell_command = f"exec {' '.join(command)} {flags}"
            container["command"] = ["sh", "-c"]
            container["args"] = [shell_command]
        else:
            container["args"] = list(args) + flags.split()
        return

    for index, arg in enumerate(args):
        modified = inject_flags_into_python_command(arg, flags, framework)
        if modified != arg:
            args = list(args)
            args[index] = modified
            container["args"] = args
            break


# --- vLLM --------------------------------------------------------------------------------


def _expanded_args(container: Object) -> List[str]:
    expanded: List[str] = []
    for arg in container.get("args") or []:
        expanded.extend(arg.split())
    return expanded


def _flag_value(expanded_args: List[str], flag: str) -> int:
    """Return the integer after the first parseable ``flag``, else 1."""
    for index, arg in enumerate(expanded_args):
        if arg == flag and index + 1 < len(expanded_args):
            value = _parse_go_int(expanded_args[index + 1])
            if value is not None:
                return value
    return 1


def _parse_go_int(text: str) -> Optional[int]:
    """Parse like Go's strconv.ParseInt(text, 10, 64): optional sign, digits only."""
    if not isinstance(text, str) or not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def _resource_gpu(resources: Optional[Object], section: str) -> str:
    item = (resources or {}).get(section) or {}
    return str(item.get("gpu") or "")


def vllm_gpu_count(resources: Optional[Object]) -> int:
    """Return ``limits.gpu`` as an integer; 0 when absent or not a plain integer."""
    return _parse_go_int(_resource_gpu(resources, "limits")) or 0


def _world_size(expanded_args: List[str]) -> int:
    return _flag_value(expanded_args, "--tensor-parallel-size") * _flag_value(expanded_args, "--pipeline-parallel-size")


def vllm_launch_mode(container: Object, resources: Optional[Object]) -> str:
    """Return "ray", "data-parallel" or "" for a multinode vLLM container."""
    expanded = _expanded_args(container)
    gpus = vllm_gpu_count(resources)
    if gpus == 0:
        return ""
    world = _world_size(expanded)
    if world > gpus:
        return "ray"
    if world * _flag_value(expanded, "--data-parallel-size") > gpus:
        return "data-parallel"
    return ""


def update_vllm_multinode_args(container: Object, role: str, service_name: str, deployer, resources: Optional[Object]) -> None:
    """Rewrite a multinode vLLM command for a Ray or data-parallel launch (backend_vllm.go)."""
    mode = vllm_launch_mode(container, resources)
    if mode == "ray":
        if role == ROLE_LEADER:
            command = " ".join(container.get("command") or [])
            args = " ".join(container.get("args") or [])
            container["args"] = [f"ray start --head --port={VLLM_RAY_PORT} && {command} {args}"]
        elif role == ROLE_WORKER:
            container["args"] = [f"ray start --address={deployer.leader_hostname(service_name)}:{VLLM_RAY_PORT} --block"]
        # NOTE: the main role keeps its args but still gets a shell command (0.8.0 code).
        container["command"] = ["/bin/sh", "-c"]
    elif mode == "data-parallel":
        local_size = vllm_gpu_count(resources) // _world_size(_expanded_args(container))
        if role == ROLE_WORKER:
            rank, _ = deployer.node_rank()
            start_rank = f"$(( {local_size} * {rank} ))"
        else:
            start_rank = "0"
        flags = " ".join([
            "--data-parallel-address", deployer.leader_hostname(service_name),
            "--data-parallel-size-local", str(local_size),
            "--data-parallel-rpc-port", VLLM_DATA_PARALLEL_RPC_PORT,
            "--data-parallel-start-rank", start_rank,
        ])
        inject_flags_into_container_command(container, flags, True, VLLM)


def update_vllm_container(container: Object, number_of_nodes: int, role: str, component: Object, service_name: str, deployer) -> None:
    if number_of_nodes > 1:
        update_vllm_multinode_args(container, role, service_name, deployer, component.get("resources"))
        if role == ROLE_WORKER:
            _remove_probes(container)

    # The cache env uses the literal mountPoint, so a defaulted mount point sets nothing.
    for mount in component.get("volumeMounts") or []:
        if mount.get("useAsCompilationCache"):
            cache_dir = mount.get("mountPoint") or ""
            if cache_dir:
                container.setdefault("env", []).append({"name": "VLLM_CACHE_ROOT", "value": cache_dir})
            break


# --- SGLang ------------------------------------------------------------------------------


def sglang_multinode_flags(number_of_nodes: int, role: str, service_name: str, deployer) -> Tuple[str, bool]:
    """Return the SGLang distributed flags and whether they need a shell to expand."""
    address = f"{deployer.leader_hostname(service_name)}:{SGLANG_DIST_INIT_PORT}"
    if role == ROLE_LEADER:
        rank, needs_shell = "0", False
    else:
        rank, needs_shell = deployer.node_rank()
    return f"--dist-init-addr {address} --nnodes {number_of_nodes} --node-rank {rank}", needs_shell


def update_sglang_container(container: Object, number_of_nodes: int, role: str, component: Object, service_name: str, deployer) -> None:
    if number_of_nodes <= 1:
        return
    if role == ROLE_WORKER:
        _remove_probes(container)
    flags, needs_shell = sglang_multinode_flags(number_of_nodes, role, service_name, deployer)
    inject_flags_into_container_command(container, flags, needs_shell, SGLANG)


# --- TensorRT-LLM ------------------------------------------------------------------------

_SSH_CLIENT_SETUP = [
    "ls -la /ssh-pk/",
    "cp /ssh-pk/private.key ~/.ssh/id_rsa",
    "cp /ssh-pk/private.key.pub ~/.ssh/id_rsa.pub",
    "cp /ssh-pk/private.key.pub ~/.ssh/authorized_keys",
    "chmod 600 ~/.ssh/id_rsa ~/.ssh/authorized_keys",
    "chmod 644 ~/.ssh/id_rsa.pub ~/.ssh/authorized_keys",
    f"printf 'Host *\\nIdentityFile ~/.ssh/id_rsa\\nStrictHostKeyChecking no\\nPort {MPI_SSH_PORT}\\n' > ~/.ssh/config",
]

_SSH_DAEMON_SETUP = [
    "ssh-keygen -t rsa -f ~/.ssh/host_keys/ssh_host_rsa_key -N ''",
    "ssh-keygen -t ecdsa -f ~/.ssh/host_keys/ssh_host_ecdsa_key -N ''",
    "ssh-keygen -t ed25519 -f ~/.ssh/host_keys/ssh_host_ed25519_key -N ''",
    f"printf 'Port {MPI_SSH_PORT}\\nHostKey ~/.ssh/host_keys/ssh_host_rsa_key\\nHostKey ~/.ssh/host_keys/ssh_host_ecdsa_key"
    "\\nHostKey ~/.ssh/host_keys/ssh_host_ed25519_key\\nPidFile ~/.ssh/run/sshd.pid\\nPermitRootLogin yes"
    "\\nPasswordAuthentication no\\nPubkeyAuthentication yes\\nAuthorizedKeysFile ~/.ssh/authorized_keys\\n' > ~/.ssh/sshd_config",
    "/usr/sbin/sshd -D -f ~/.ssh/sshd_config",
]


def trtllm_gpus_per_node(resources: Optional[Object]) -> int:
    """Return ``requests.gpu``, else ``limits.gpu``, as an integer; 0 when neither parses."""
    for section in ("requests", "limits"):
        text = _resource_gpu(resources, section)
        if text:
            value = _parse_go_int(text)
            if value is not None and -(2**31) <= value < 2**31:
                return value
    return 0


def trtllm_env_flags(env: List[Object]) -> str:
    names = set(TRTLLM_FORWARDED_ENV) | {item["name"] for item in env}
    return " ".join(f"-x {name}" for name in sorted(names))


def trtllm_leader_setup(container: Object, number_of_nodes: int, service_name: str, component: Object, deployer) -> None:
    """Turn the leader into an SSH client that starts the engine on every node with mpirun."""
    host_names = deployer.host_names(service_name, number_of_nodes)
    command = container.get("command") or []
    args = container.get("args") or []
    if command and is_python_command(command[0]):
        original_command = " ".join(list(command) + list(args))
    elif args:
        original_command = " ".join(args)
    else:
        original_command = " ".join(command)

    total_gpus = number_of_nodes * trtllm_gpus_per_node(component.get("resources"))
    mpirun = (
        f"mpirun --allow-run-as-root --oversubscribe -n {total_gpus} -H {','.join(host_names)} --mca pml ob1 "
        f"--mca plm_rsh_args \"-p {MPI_SSH_PORT} -o StrictHostKeyChecking=no -i ~/.ssh/id_rsa\" "
        f"{trtllm_env_flags(container.get('env') or [])} bash -c 'trtllm-llmapi-launch {original_command}'"
    )
    steps = ["mkdir -p ~/.ssh"] + _SSH_CLIENT_SETUP
    if deployer.needs_dns_wait:
        workers = " ".join(host_names[1:])
        steps.append(
            f'TIMEOUT=300; START_TIME=$(date +%s); for worker in {workers}; do echo "Waiting for DNS: $worker"; '
            "until getent hosts $worker >/dev/null 2>&1; do CURRENT_TIME=$(date +%s); "
            'if [ $((CURRENT_TIME - START_TIME)) -gt $TIMEOUT ]; then echo "ERROR: Timeout waiting for DNS: $worker"; exit 1; fi; '
            'echo "DNS not ready for $worker, retrying..."; sleep 2; done; echo "\u2713 DNS resolved: $worker"; done; '
            'echo "All workers DNS ready"'
        )
    steps.append(mpirun)
    container["command"] = ["/bin/sh", "-c"]
    container["args"] = [" && ".join(steps)]


def trtllm_worker_setup(container: Object) -> None:
    """Turn a worker into an SSH daemon that the leader's mpirun connects to."""
    steps = ["mkdir -p ~/.ssh ~/.ssh/host_keys ~/.ssh/run"] + _SSH_CLIENT_SETUP + _SSH_DAEMON_SETUP
    container["command"] = ["/bin/sh", "-c"]
    container["args"] = [" && ".join(steps)]


def update_trtllm_container(
    container: Object, number_of_nodes: int, role: str, component: Object, service_name: str, deployer, ssh_secret_name: str
) -> None:
    if number_of_nodes <= 1:
        return
    if role == ROLE_WORKER:
        container.pop("livenessProbe", None)
        container.pop("startupProbe", None)
        container["readinessProbe"] = {
            "tcpSocket": {"port": MPI_SSH_PORT},
            "initialDelaySeconds": 20,
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 10,
        }
    container.setdefault("volumeMounts", []).append({"name": ssh_secret_name, "mountPath": "/ssh-pk", "readOnly": True})
    container.setdefault("env", []).append({"name": "OMPI_MCA_orte_keep_fqdn_hostnames", "value": "1"})
    if role == ROLE_LEADER:
        trtllm_leader_setup(container, number_of_nodes, service_name, component, deployer)
    elif role == ROLE_WORKER:
        trtllm_worker_setup(container)


def trtllm_ssh_volume(ssh_secret_name: str) -> Object:
    return {"name": ssh_secret_name, "secret": {"secretName": ssh_secret_name, "defaultMode": 0o644}}


# --- dispatch ----------------------------------------------------------------------------


def update_container(
    framework: str, container: Object, number_of_nodes: int, role: str, component: Object,
    service_name: str, deployer, ssh_secret_name: str,
) -> None:
    """Apply the backend's container rewrite; raise InputError for an unknown framework."""
    if framework == VLLM:
        update_vllm_container(container, number_of_nodes, role, component, service_name, deployer)
    elif framework == SGLANG:
        update_sglang_container(container, number_of_nodes, role, component, service_name, deployer)
    elif framework == TRTLLM:
        update_trtllm_container(container, number_of_nodes, role, component, service_name, deployer, ssh_secret_name)
    elif framework != NOOP:
        raise InputError(f"unsupported backend framework: {framework}", hint="use one of vllm, sglang, trtllm")


def update_pod_spec(framework: str, pod_spec: Object, number_of_nodes: int, ssh_secret_name: str) -> None:
    """Apply the backend's pod rewrite: TRT-LLM multinode pods get the SSH key volume."""
    if framework == TRTLLM and number_of_nodes > 1:
        pod_spec.setdefault("volumes", []).append(trtllm_ssh_volume(ssh_secret_name))


def multinode_launch_warning(component: Object, framework: str, where: str = "") -> Optional[str]:
    """Return a warning when a multinode vLLM service gets no distributed launch for lack of a GPU count.

    Dynamo 0.8.0 decides between a Ray and a data-parallel launch from the integer
    ``resources.limits.gpu`` only. Without it (GPUs from resource claims, or a count in
    ``requests`` only) every node starts a separate engine with no rendezvous.
    """
    nodes = (component.get("multinode") or {}).get("nodeCount", 2) if component.get("multinode") is not None else 1
    if framework != VLLM or nodes <= 1 or vllm_gpu_count(component.get("resources")) > 0:
        return None
    main = (component.get("extraPodSpec") or {}).get("mainContainer") or {}
    expanded = _expanded_args(main)
    if _world_size(expanded) * _flag_value(expanded, "--data-parallel-size") <= 1:
        return None
    return (
        f"{where}resources.limits.gpu is not a whole number, so the operator adds no Ray or data-parallel launch "
        f"and each of the {nodes} nodes starts its own engine; set resources.limits.gpu to the GPUs per node"
    )


def graph_launch_warnings(dgd: Object) -> List[str]:
    """Return ``multinode_launch_warning`` for every service of a DGD (services with errors are skipped)."""
    spec = dgd.get("spec") or {}
    warnings: List[str] = []
    for service_name, service in (spec.get("services") or {}).items():
        service = service or {}
        main = (service.get("extraPodSpec") or {}).get("mainContainer") or {}
        try:
            framework = determine_framework(
                service.get("componentType") or "", main.get("command") or [], main.get("args") or [], spec.get("backendFramework") or ""
            )
        except InputError:
            continue
        warning = multinode_launch_warning(service, framework, f"spec.services.{service_name}.")
        if warning:
            warnings.append(warning)
    return warnings
