"""The command line as a whole: help, version, exit codes and kubectl dispatch."""

import subprocess
import sys

from kubectl_dynamo.errors import ExitCode
from kubectl_dynamo.render.profiles import PROFILES
from tests.conftest import run_process


def test_help_lists_every_command(cli):
    result = cli(["--help"])
    assert result.exit_code == 0
    for command in ("render", "get", "status", "diff", "scale", "logs", "drift", "version"):
        assert f"  {command} " in result.stdout


def test_version_names_profiles(cli):
    result = cli(["version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("kubectl-dynamo ")
    for name in PROFILES:
        assert f"  {name}" in result.stdout


def test_unknown_command_is_usage_error(cli):
    result = cli(["frobnicate"])
    assert result.exit_code == ExitCode.USAGE
    assert "No such command 'frobnicate'" in result.stderr
    assert result.stdout == ""


def test_python_dash_m_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kubectl_dynamo", "version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "kubectl-dynamo" in proc.stdout


def test_kubectl_dispatches_help(kubectl, plugin_env):
    result = run_process([kubectl, "dynamo", "--help"], plugin_env)
    assert result.exit_code == 0, result.stderr
    assert "Usage: kubectl dynamo [OPTIONS] COMMAND" in result.stdout


def test_kubectl_passes_exit_code(kubectl, plugin_env):
    result = run_process([kubectl, "dynamo", "frobnicate"], plugin_env)
    assert result.exit_code == ExitCode.USAGE
    assert "No such command" in result.stderr


def test_no_arguments_prints_help(cli):
    result = cli([])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: kubectl dynamo [OPTIONS] COMMAND")
    assert result.stderr == ""
