"""The dev container (Codespaces) agrees with the lab's pins: Python, Java, the install, memory.

A learner who brings only a browser opens the repository in a Codespace: the container is built
from ``.devcontainer/devcontainer.json``, runs the learner install (``make setup``) once, and
forwards JupyterLab's port. No Docker engine is needed here: the file is read and checked
against the places that pin what it names.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from labsupport.config import PROJECT_ROOT
from labsupport.java import MIN_JAVA
from labsupport.machine import GB, LESSON_PEAK_MEMORY, MEMORY_HEADROOM
from labsupport.versions import pyproject

DEVCONTAINER = PROJECT_ROOT / ".devcontainer" / "devcontainer.json"
JAVA_FEATURE = "ghcr.io/devcontainers/features/java:1"
_SIZE = re.compile(r"^(\d+)(gb|mb)$")


@pytest.fixture(scope="module")
def container() -> dict:
    return json.loads(DEVCONTAINER.read_text())  # plain JSON: no comments, so any tool reads it


def _image_python(image: str) -> str:
    """``mcr.microsoft.com/devcontainers/python:1-3.11-bookworm`` -> ``3.11``."""
    found = re.fullmatch(r"mcr\.microsoft\.com/devcontainers/python:\d+-(\d+\.\d+)-\w+", image)
    assert found, f"not the official Python dev container image: {image}"
    return found.group(1)


def test_the_image_python_is_one_the_lab_supports_and_the_one_conda_pins(container):
    python = _image_python(container["image"])
    assert python in SpecifierSet(pyproject()["project"]["requires-python"])
    conda = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())["dependencies"]
    assert f"python={python}" in conda, "the container and environment.yml run the same Python"


def test_the_java_feature_installs_the_java_the_lab_requires(container):
    assert container["features"][JAVA_FEATURE]["version"] == str(MIN_JAVA)


def test_the_post_create_step_is_the_learner_install(container):
    assert container["postCreateCommand"] == "make setup"
    assert "make lab" in container["postAttachCommand"], "the learner is told what to run next"


def test_jupyterlab_is_forwarded_and_reachable_through_the_forward(container):
    assert 8888 in container["forwardPorts"]
    assert container["portsAttributes"]["8888"]["label"] == "JupyterLab"
    # behind a forwarded address Jupyter must accept a non-local Host (listening on 0.0.0.0
    # does that); `make lab` hands LAB_ARGS to jupyter, and a laptop's default stays local
    assert "--ip=0.0.0.0" in container["containerEnv"]["LAB_ARGS"]
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert re.search(r"^LAB_ARGS \?=\s*$", makefile, re.MULTILINE), "LAB_ARGS from the environment"
    assert re.search(r"^\t.*jupyter lab .*\$\(LAB_ARGS\)", makefile, re.MULTILINE)


def test_the_host_has_the_memory_lessons_04_to_06_were_measured_to_need(container):
    host = container["hostRequirements"]
    assert host["cpus"] >= 2
    size = _SIZE.fullmatch(host["memory"])
    assert size, host["memory"]
    memory = int(size.group(1)) * (GB if size.group(2) == "gb" else 1024**2)
    assert memory >= LESSON_PEAK_MEMORY + MEMORY_HEADROOM
