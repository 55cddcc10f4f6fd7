"""Extract the names TensorRT's Python bindings define, from the real bindings wheels.

TensorRT's libraries cannot be installed here, but the bindings wheels
(``tensorrt-bindings==8.6.1``, ``tensorrt-cu12-bindings==10.3.0``) are real files whose
``tensorrt.so`` holds every class, method, property and enum name as a string. This
writes them, one identifier per line, to ``tests/data/tensorrt-<version>.names``; the
API-surface test checks edgefill's TensorRT code against those lists.

    python -m edgefill_export.trt_names            # downloads the wheels with pip (PyPI)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEELS = {"8.6.1": "tensorrt-bindings==8.6.1", "10.3.0": "tensorrt-cu12-bindings==10.3.0"}
OUT = Path(__file__).resolve().parents[2] / "tests" / "data"
_IDENT = re.compile(rb"[A-Za-z][A-Za-z0-9_]{1,63}")


def names_from_so(data: bytes) -> list[str]:
    """NUL-terminated identifier strings of a shared object (pybind11 keeps names as C strings)."""
    out = set()
    for chunk in data.split(b"\0"):
        if _IDENT.fullmatch(chunk) and not chunk.startswith(b"_Z"):
            out.add(chunk.decode())
    return sorted(out)


def extract(spec: str, workdir: Path) -> list[str]:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(workdir),
                    "--python-version", "3.11", spec], check=True, capture_output=True)
    wheel = next(workdir.glob("*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        so = next(n for n in zf.namelist() if n.endswith("tensorrt.so"))
        return names_from_so(zf.read(so))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for version, spec in WHEELS.items():
        with tempfile.TemporaryDirectory() as tmp:
            names = extract(spec, Path(tmp))
        (OUT / f"tensorrt-{version}.names").write_text("\n".join(names) + "\n")
        print(f"tensorrt {version}: {len(names)} names")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
