"""Which OpenCV is loaded, and whether it can do what edgefill needs on this board.

On a Jetson, JetPack's system OpenCV is built with GStreamer (needed for CSI
cameras through ``nvarguscamerasrc``). ``pip install opencv-python`` puts a wheel
without GStreamer in front of it. edgefill therefore does not depend on the pip
wheel: it is the ``opencv`` extra, to be left out on Jetson. This module checks
for the problem; it runs only when called (``edgefill doctor``), never at import.
"""

from __future__ import annotations

import re
import sys
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
    #: another cv2 on this Python's path, which would load once the wheels are gone (None: none)
    other_cv2: str | None = None
    #: built with FFmpeg: rtsp:// sources, and the usual way to read and write .mp4 files
    ffmpeg: bool = True

    @property
    def missing_io(self) -> list[str]:
        """What this OpenCV cannot do for edgefill, one phrase per missing video I/O backend."""
        out = []
        if not self.gstreamer:
            out.append("no GStreamer: csi:// and gst:// sources and gst:// outputs cannot open")
        if not self.ffmpeg:
            out.append("no FFmpeg: rtsp:// sources cannot open, and video files only where GStreamer reads them")
        return out

    @property
    def problems(self) -> list[str]:
        out = []
        if self.is_jetson and not self.gstreamer:
            # uninstalling the wheel with no other OpenCV in sight (a venv made without
            # --system-site-packages, python3-opencv not installed) leaves no cv2 at all
            then = f"JetPack's OpenCV at {self.other_cv2} is then used" if self.other_cv2 else \
                "then install JetPack's OpenCV (sudo apt-get install python3-opencv) and make it visible to this " \
                "Python (a venv made with --system-site-packages): no other OpenCV is on its path"
            wheels = f" (pip wheel {', '.join(self.pip_wheels)} is shadowing JetPack's OpenCV; "\
                     f"run: pip uninstall {' '.join(self.pip_wheels)}; {then})" if self.pip_wheels else ""
            out.append(f"OpenCV {self.version} at {self.path} has no GStreamer support, so csi:// cameras "
                       f"cannot open{wheels}")
        return out


def _videoio_enabled(build_info: str, name: str) -> bool:
    """Whether ``cv2.getBuildInformation()`` says YES for the video I/O backend ``name``."""
    m = re.search(rf"^\s*{name}:\s*(\w+)", build_info, re.IGNORECASE | re.MULTILINE)
    return bool(m and m.group(1).upper() == "YES")


def built_with(name: str) -> bool:
    """Whether the loaded OpenCV was built with the video I/O backend ``name`` ("FFMPEG", "GStreamer")."""
    return _videoio_enabled(cv2.getBuildInformation(), name)


def _gstreamer_enabled(build_info: str) -> bool:
    return _videoio_enabled(build_info, "GStreamer")


def _other_cv2(loaded: Path) -> str | None:
    """The first cv2 (package or extension module) on ``sys.path`` other than the loaded one."""
    for entry in sys.path:
        folder = Path(entry or ".")
        try:
            found = [c for c in (folder / "cv2",) if (c / "__init__.py").is_file()] + sorted(folder.glob("cv2*.so"))
        except OSError:
            continue
        for cand in found:
            if cand.resolve() != loaded.resolve():
                return str(cand)
    return None


def opencv_info() -> OpenCVInfo:
    wheels = []
    for name in PIP_WHEELS:
        try:
            metadata.version(name)
            wheels.append(name)
        except metadata.PackageNotFoundError:
            pass
    loaded = Path(getattr(cv2, "__file__", "") or "?").parent
    build = cv2.getBuildInformation()
    return OpenCVInfo(
        version=cv2.__version__,
        path=str(loaded),
        gstreamer=_gstreamer_enabled(build),
        ffmpeg=_videoio_enabled(build, "FFMPEG"),
        pip_wheels=tuple(wheels),
        is_jetson=Path("/etc/nv_tegra_release").exists(),
        other_cv2=_other_cv2(loaded) if wheels else None,
    )
