"""A real ``.deb`` built with ``dpkg-deb`` from a few files, for the fetch tests."""

from __future__ import annotations

import subprocess
from pathlib import Path


def build_deb(deb: Path, package: str, files: dict[str, bytes], work: Path) -> Path:
    """``deb`` holding ``files`` (path in the package -> bytes) of package ``package`` 1.0;
    ``work`` is a scratch folder for its tree."""
    root = work / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n")
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    deb.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb
