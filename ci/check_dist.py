"""``make dist`` checks what would be published: dist/ holds one wheel and one sdist of this version,
each with exactly the files a user needs, and metadata that say what the package is.

The expected files are the checkout's own (those git tracks or would track, as the build backend
picks them): the wheel holds the package (with ``py.typed``) and its metadata; the sdist adds the
examples, the docs (not the benchmark results and charts ``make bench`` writes there), README,
CHANGELOG, LICENSE and pyproject.toml. Nothing else: no virtualenv, demo or Airflow home,
benchmark output, tests or their temporary files, caches or bytecode.
Standard library only.

    python ci/check_dist.py [DIST_DIR]
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_smartarena"
DIST_NAME = "airflow_provider_smartarena"
SDIST_ROOTS = (PACKAGE, "dags_examples", "docs", "README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml")
# Path parts that must never ship (local state, tests, caches, build output).
FORBIDDEN_PARTS = {
    "tests",
    "benchmarks",
    "ci",
    ".ci",
    "docker",
    "scripts",
    "__pycache__",
    ".demo",
    ".airflow",
    ".bench",
    ".git",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    "dist",
    "build",
}
# Benchmark output (`make bench` writes these under docs/) is not shipped.
BENCHMARK_OUTPUT = ("docs/benchmarks", "docs/images/")
FORBIDDEN_SUFFIXES = (".pyc", ".pyo", ".db", ".sqlite", ".log", ".whl", ".tar.gz")
REQUIRED_CLASSIFIERS = {
    "Development Status :: 3 - Alpha",
    "Framework :: Apache Airflow :: Provider",
    "Programming Language :: Python :: 3.12",
    "Programming Language :: Python :: 3.13",
    "Typing :: Typed",
}


def version() -> str:
    text = (ROOT / PACKAGE / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    assert match, "no __version__ in the package"
    return match.group(1)


def checkout_files(*roots: str) -> set[str]:
    """Files under ``roots`` that git tracks or would track (the build backend's view)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *roots],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {name for name in listed if (ROOT / name).is_file()}


def forbidden(names: set[str]) -> list[str]:
    bad = []
    for name in sorted(names):
        parts = name.split("/")
        if (
            any(p in FORBIDDEN_PARTS or p.startswith(".venv") for p in parts)
            or name.endswith(FORBIDDEN_SUFFIXES)
            or name.startswith(BENCHMARK_OUTPUT)
        ):
            bad.append(name)
    return bad


def same(what: str, got: set[str], want: set[str]) -> list[str]:
    problems = [f"{what}: missing {name}" for name in sorted(want - got)]
    problems += [f"{what}: unexpected {name}" for name in sorted(got - want)]
    return problems


def check_wheel(path: Path, ver: str) -> list[str]:
    with zipfile.ZipFile(path) as wheel:
        names = {n for n in wheel.namelist() if not n.endswith("/")}
        metadata = email.message_from_bytes(wheel.read(f"{DIST_NAME}-{ver}.dist-info/METADATA"))
        entry_points = wheel.read(f"{DIST_NAME}-{ver}.dist-info/entry_points.txt").decode()
    info = f"{DIST_NAME}-{ver}.dist-info/"
    package = {n for n in names if not n.startswith(info)}
    problems = same("wheel", package, checkout_files(PACKAGE))
    problems += same(
        "wheel metadata",
        {n for n in names if n.startswith(info)},
        {info + n for n in ("METADATA", "WHEEL", "RECORD", "entry_points.txt", "licenses/LICENSE")},
    )
    if f"{PACKAGE}/py.typed" not in names:
        problems.append("wheel: no py.typed")
    if "apache_airflow_provider" not in entry_points:
        problems.append("wheel: no apache_airflow_provider entry point")
    problems += [f"wheel: must not ship {n}" for n in forbidden(names)]
    return problems + check_metadata(metadata, "wheel")


def check_sdist(path: Path, ver: str) -> list[str]:
    top = f"{DIST_NAME}-{ver}/"
    with tarfile.open(path) as sdist:
        members = sdist.getmembers()
        names = {m.name for m in members if m.isfile()}
        pkg_info = sdist.extractfile(top + "PKG-INFO")
        assert pkg_info is not None
        metadata = email.message_from_bytes(pkg_info.read())
    problems = [f"sdist: {n} is outside {top}" for n in sorted(names) if not n.startswith(top)]
    inside = {n[len(top) :] for n in names if n.startswith(top)}
    # The build backend always adds .gitignore (it is how the sdist rebuilds with the same selection).
    expected = {n for n in checkout_files(*SDIST_ROOTS) if not n.startswith(BENCHMARK_OUTPUT)}
    problems += same("sdist", inside, expected | {"PKG-INFO", ".gitignore"})
    problems += [f"sdist: links are not expected: {m.name}" for m in members if m.issym() or m.islnk()]
    problems += [f"sdist: must not ship {n}" for n in forbidden(inside)]
    return problems + check_metadata(metadata, "sdist")


def check_metadata(metadata: email.message.Message, what: str) -> list[str]:
    problems = []
    classifiers = set(metadata.get_all("Classifier") or [])
    problems += [f"{what}: classifier missing: {c}" for c in sorted(REQUIRED_CLASSIFIERS - classifiers)]
    if not metadata.get_all("Project-URL"):
        problems.append(f"{what}: no Project-URL")
    if metadata.get("License-Expression") != "Apache-2.0":
        problems.append(f"{what}: License-Expression is {metadata.get('License-Expression')!r}")
    requires = " ".join(metadata.get_all("Requires-Dist") or [])
    if "apache-airflow" not in requires:
        problems.append(f"{what}: does not require apache-airflow")
    return problems


def main(argv: list[str]) -> int:
    dist = Path(argv[0]) if argv else ROOT / "dist"
    ver = version()
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    expected_wheel, expected_sdist = f"{DIST_NAME}-{ver}-py3-none-any.whl", f"{DIST_NAME}-{ver}.tar.gz"
    if [p.name for p in wheels] != [expected_wheel] or [p.name for p in sdists] != [expected_sdist]:
        print(f"dist/ should hold {expected_wheel} and {expected_sdist} only, not {wheels + sdists}")
        return 1
    problems = check_wheel(wheels[0], ver) + check_sdist(sdists[0], ver)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    with zipfile.ZipFile(wheels[0]) as wheel, tarfile.open(sdists[0]) as sdist:
        counts = (len(wheel.namelist()), sum(1 for m in sdist.getmembers() if m.isfile()))
    print(
        f"{expected_wheel}: {counts[0]} files; {expected_sdist}: {counts[1]} files; contents and metadata ok"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
