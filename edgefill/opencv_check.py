"""Which OpenCV is loaded, and whether it can do what edgefill needs on this board.

On a Jetson, JetPack's system OpenCV is built with GStreamer (needed for CSI
cameras through ``nvarguscamerasrc``). ``pip install opencv-python`` puts a wheel
without GStreamer in front of it. edgefill therefore does not depend on the pip
wheel: it is the ``opencv`` extra, to be left out on Jetson. This module checks
for the problem; it runs only when called (``edgefill doctor``), never at import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import cv2

PIP_WHEELS = ("opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless")


@dataclass(frozen=True)
class OpenCVInfo:
    version: str
    path: str
    gstreamer: bool
    pip_wheels: tuple[str, ...]
    is_jetson: bool

    @property
    def problems(self) -> list[str]:
        out = []
        if self.is_jetson and not self.gstreamer:
            wheels = f" (pip wheel {', '.join(self.pip_wheels)} is shadowing JetPack's OpenCV; "\
                     f"run: pip uninstall {' '.join(self.pip_wheels)})" if self.pip_wheels else ""
            out.append(f"OpenCV {self.version} at {self.path} has no GStreamer support, so csi:// cameras "
                       f"cannot open{wheels}")
        return out


def _gstreamer_enabled(build_info: str) -> bool:
    m = re.search(r"GStreamer:\s*(\w+)", build_info)
    return bool(m and m.group(1).upper() == "YES")


def opencv_info() -> OpenCVInfo:
    wheels = []
    for name in PIP_WHEELS:
        try:
            metadata.version(name)
            wheels.append(name)
        except metadata.PackageNotFoundError:
            pass
    return OpenCVInfo(
        version=cv2.__version__,
        path=str(Path(getattr(cv2, "__file__", "") or "?").parent),
        gstreamer=_gstreamer_enabled(cv2.getBuildInformation()),
        pip_wheels=tuple(wheels),
        is_jetson=Path("/etc/nv_tegra_release").exists(),
    )
