"""environment.yml never drifts from pyproject.toml, the one place the lab's versions live.

conda brings what pip cannot (Python, a JDK, make); the Python packages come from installing the
checkout with all its extras, so their pins live in pyproject.toml only. Should environment.yml
ever name a Python package, it must carry pyproject's pin. The checks are one function,
:func:`drift`, run on the real file and on files made wrong on purpose, to show it catches them.
"""

from __future__ import annotations

import copy
import re
import shlex

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from labsupport.config import PROJECT_ROOT
from labsupport.java import MIN_JAVA
from labsupport.versions import pinned_python_packages, pyproject

ENV_FILE = PROJECT_ROOT / "environment.yml"
#: The packages conda is there for: what pip cannot install. Anything else is a Python package.
CONDA_ONLY = {"python", "pip", "openjdk", "make"}

_SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:(==|=|>=|<=|>|<|!=)\s*([^\s=]+))?\s*$")


def conda_spec(spec: str) -> tuple[str, str | None]:
    """``"openjdk=17"`` -> ``("openjdk", "17")``; ``"make"`` -> ``("make", None)``."""
    match = _SPEC.match(spec)
    assert match, f"not a conda package spec the test understands: {spec!r}"
    return canonicalize_name(match[1]), match[3]


def python_requirements() -> dict[str, Requirement]:
    """Every Python requirement of pyproject.toml (dependencies and extras), by normalized name."""
    project = pyproject()["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}


def drift(env: dict) -> list[str]:
    """Every way ``env`` (a parsed environment.yml) disagrees with pyproject.toml; [] if none."""
    project = pyproject()["project"]
    pins = {canonicalize_name(name): version for name, version in pinned_python_packages().items()}
    requirements = python_requirements()
    problems: list[str] = []

    def python_package(name: str, version: str | None, where: str) -> None:
        if name in pins:
            if version != pins[name]:
                problems.append(f"{where}: {name} {version} but pyproject.toml pins {pins[name]}")
        elif name in requirements:
            if version is not None and not requirements[name].specifier.contains(version):
                problems.append(f"{where}: {name} {version} is outside {requirements[name]}")
        else:
            problems.append(f"{where}: {name} is not in pyproject.toml: add it there, not here")

    if env.get("name") != project["name"]:
        problems.append(
            f"name is {env.get('name')!r}: the README says `conda activate {project['name']}`"
        )
    channels = env.get("channels") or []
    if channels[:1] != ["conda-forge"] or "defaults" in channels:
        problems.append(f"channels {channels}: conda-forge first, and not Anaconda's defaults")

    conda: dict[str, str | None] = {}
    pip_lines: list[str] = []
    for dependency in env.get("dependencies") or []:
        if isinstance(dependency, dict):
            pip_lines += dependency.get("pip") or []
        else:
            name, version = conda_spec(dependency)
            conda[name] = version

    for required in sorted(CONDA_ONLY - set(conda)):
        problems.append(f"conda: {required} is missing")
    python = conda.get("python")
    if python is None or not SpecifierSet(project["requires-python"]).contains(Version(python)):
        problems.append(
            f"conda: python {python} must be a version that satisfies {project['requires-python']}"
        )
    java = conda.get("openjdk")
    if java is not None and int(java.split(".")[0]) < MIN_JAVA:
        problems.append(f"conda: openjdk {java}, but the lab needs Java {MIN_JAVA}+")
    for name, version in conda.items():
        if name not in CONDA_ONLY:
            python_package(name, version, "conda")

    editable = []
    for line in pip_lines:
        words = shlex.split(line)
        if words[0] in {"-e", "--editable"}:
            editable.append(words[1])
            continue
        requirement = Requirement(line)
        pinned = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        version = pinned[0] if pinned else None
        python_package(canonicalize_name(requirement.name), version, "pip")
    extras = sorted(project.get("optional-dependencies", {}))
    wanted = f".[{','.join(extras)}]"
    match = re.fullmatch(r"\.\[(.*)\]", editable[0]) if len(editable) == 1 else None
    if match is None or sorted(e.strip() for e in match[1].split(",")) != extras:
        problems.append(
            f'pip: must install the checkout itself, once, as -e "{wanted}": {editable}'
        )
    return problems


@pytest.fixture(scope="module")
def env() -> dict:
    return yaml.safe_load(ENV_FILE.read_text())


def conda_versions(env: dict) -> dict[str, str | None]:
    return dict(conda_spec(d) for d in env["dependencies"] if isinstance(d, str))


# --- the real file ---------------------------------------------------------------------------------
def test_environment_yml_agrees_with_pyproject(env):
    assert drift(env) == []


def test_python_satisfies_requires_python(env):
    version = conda_versions(env)["python"]
    assert version is not None, "pin Python's minor version, so every laptop gets the same one"
    assert Version(version) in SpecifierSet(pyproject()["project"]["requires-python"])


def test_a_jdk_the_lab_accepts_make_and_pip_come_from_conda(env):
    versions = conda_versions(env)
    assert int(versions["openjdk"].split(".")[0]) >= MIN_JAVA
    assert "make" in versions and "pip" in versions


def test_the_checkout_is_installed_with_every_extra(env):
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    words = shlex.split(pip[0])
    assert words[0] == "-e"
    extras = re.fullmatch(r"\.\[(.*)\]", words[1])[1].split(",")
    assert sorted(extras) == sorted(pyproject()["project"]["optional-dependencies"])


# --- the check catches a file made wrong on purpose ---------------------------------------------
def _with(env: dict, conda: list[str] | None = None, pip: list[str] | None = None) -> dict:
    changed = copy.deepcopy(env)
    deps = changed["dependencies"]
    deps += conda or []
    next(d for d in deps if isinstance(d, dict))["pip"] += pip or []
    return changed


def new_problems(env: dict, changed: dict) -> str:
    """What ``drift`` finds in ``changed`` beyond what it finds in the real file."""
    return " ".join(sorted(set(drift(changed)) - set(drift(env))))


def test_drift_catches_a_conda_package_with_another_version_than_the_pin(env):
    name, pin = next(iter(pinned_python_packages().items()))
    problems = new_problems(env, _with(env, conda=[f"{name}={pin}.1"]))
    assert f"{name} {pin}.1 but pyproject.toml pins {pin}" in problems


def test_drift_catches_a_pip_line_with_another_version_than_the_pin(env):
    name, pin = next(iter(pinned_python_packages().items()))
    assert f"{name} {pin}.1 but" in new_problems(env, _with(env, pip=[f"{name}=={pin}.1"]))
    assert new_problems(env, _with(env, pip=[f"{name}=={pin}"])) == ""


def test_drift_catches_a_python_package_pyproject_does_not_know(env):
    unknown = "surely-not-a-lab-dependency"
    assert unknown not in python_requirements()
    assert f"{unknown} is not in pyproject.toml" in new_problems(env, _with(env, conda=[unknown]))


def test_drift_catches_a_python_outside_requires_python_and_an_old_jdk(env):
    changed = copy.deepcopy(env)
    changed["dependencies"] = [
        {"python": "python=2.7", "openjdk": f"openjdk={MIN_JAVA - 9}"}.get(conda_spec(d)[0], d)
        if isinstance(d, str)
        else d
        for d in changed["dependencies"]
    ]
    problems = new_problems(env, changed)
    assert "python 2.7" in problems and f"openjdk {MIN_JAVA - 9}" in problems


def test_drift_catches_a_missing_extra_and_a_missing_jdk(env):
    changed = copy.deepcopy(env)
    changed["dependencies"] = [
        {"pip": ['-e ".[test]"']} if isinstance(d, dict) else d
        for d in changed["dependencies"]
        if not (isinstance(d, str) and conda_spec(d)[0] == "openjdk")
    ]
    problems = new_problems(env, changed)
    assert "openjdk is missing" in problems
    assert "must install the checkout itself" in problems
