"""Outputs must never overwrite inputs: one check for ``edgefill run``, ``edgefill bench`` and
:class:`edgefill.Pipeline`.

Writing a video over the very file being read (or the mask video), or frames into the folder
of images being read, destroys the user's data only at the end of a run, when the output is
moved into place; these checks find it before anything is opened or written. Paths are
compared after resolving links, and by inode where both exist (hard links, bind mounts).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable

from .errors import InputError
from .imageio import IMAGE_EXTS as _IMAGE_EXTS


def _resolved(path: Path) -> Path:
    """``path`` with its links resolved; as given (absolute) for a symlink loop, which
    ``Path.resolve`` raises RuntimeError for (Python < 3.13), a traceback before the source's own
    error could say that it cannot be opened."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return path.absolute()


def same_path(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file or folder (resolved, or the same inode)."""
    a, b = Path(a), Path(b)
    if _resolved(a) == _resolved(b):
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def run_inputs(source: object, mask: object) -> list[tuple[Path, str]]:
    """The files and folders a run reads, as (path, "the source" or "the mask"): a video file
    source, an image folder or the images a glob matches, and a mask given as a path (an image,
    video, folder or shapes file). Live sources, arrays, callables and ``rect:`` / ``poly:`` /
    ``key:`` masks read no file."""
    from .capture import scheme_of
    from .capture.files import ImageFolderSource, VideoFileSource, file_path, images_spec

    if isinstance(source, (VideoFileSource, ImageFolderSource)):
        source = source.uri
    paths: list[Path] = []
    if isinstance(source, (str, Path)):
        src = str(source)
        scheme = scheme_of(src)
        if scheme == "file":
            paths.append(Path(file_path(src)))
        elif scheme == "images":
            spec = images_spec(src)
            paths.extend([Path(spec)] if Path(spec).is_dir() else [Path(q) for q in glob.glob(spec)])
    out = [(p, "the source") for p in paths]
    if isinstance(mask, (str, Path)) and not str(mask).startswith(("rect:", "poly:", "key:")):
        out.append((Path(mask), "the mask"))
    return out


def refuse_source_as_mask(inputs: list[tuple[Path, str]]) -> None:
    """:class:`InputError` if the mask of a run (:func:`run_inputs`) is its source: each frame
    was its own mask (``run frames/ --mask frames/``), as ``inpaint`` refuses for its folders."""
    sources = [p for p, what in inputs if what == "the source"]
    for path, what in inputs:
        # the source folder, or (a glob source: its files) the folder that holds them
        if what == "the mask" and any(same_path(path, src) or (path.is_dir() and _resolved(path) == _resolved(src).parent)
                                      for src in sources):
            raise InputError(f"the mask {path} is the source: give the masks' own {'folder' if path.is_dir() else 'file'}")


def model_inputs(models: Iterable[object]) -> list[tuple[Path, str]]:
    """The files a run reads its models from, as ``(path, what)`` inputs for
    :func:`refuse_overwrites`: a model file with its sidecar and weights, every file of an export
    bundle folder, a shipped model's files. Anything else (a classical method, a name that fails
    to load later) names none. (``--json`` naming the model under test replaced it with the results.)"""
    from .models import MODELS_DIR, read_manifest

    shipped = read_manifest().get("models", {})
    out: list[tuple[Path, str]] = []
    for m in models:
        text = str(m)
        entry = shipped.get(text)
        path = MODELS_DIR / str(entry.get("onnx")) if isinstance(entry, dict) else Path(text).expanduser()
        try:
            if path.is_dir():
                out += [(f, f"the model bundle {path}'s file") for f in sorted(path.rglob("*")) if f.is_file()]
            elif path.is_file():
                out += [(f, "the model's file") for f in (path, path.with_suffix(".json"), path.with_suffix(".safetensors"))
                        if f.is_file()]
        except OSError:  # unreadable: the model's own load says why
            continue
    return out


def refuse_overwrites(inputs: Iterable[tuple[Path, str]], files: Iterable[tuple[Path, str]] = (),
                      folders: Iterable[tuple[Path, str]] = ()) -> None:
    """:class:`InputError` if an output file (``(path, what)``) is an input, or an output folder
    of frames is or holds one."""
    files, folders = list(files), list(folders)
    for p, role in inputs:
        for f, what in files:
            if same_path(f, p):
                raise InputError(f"{what} {f} is {role} {p}; refusing to overwrite it")
            # a file among an input folder's images (--stats-json frames/img_2.png replaced a frame)
            if p.is_dir() and _resolved(p) in _resolved(f).parents and f.suffix.lower() in _IMAGE_EXTS:
                raise InputError(f"{what} {f} is an image in {role} {p}; refusing to overwrite it")
        held = _resolved(p)
        for folder, what in folders:
            resolved = _resolved(folder)
            if held == resolved or resolved in held.parents:
                raise InputError(f"{what} {folder} holds {role} {p}; refusing to write frames among the inputs "
                                 "(give a folder of its own)")


def refuse_shared_outputs(outputs: Iterable[tuple[Path, str]], folders: Iterable[tuple[Path, str]] = ()) -> None:
    """:class:`InputError` if one path is given for two outputs (``(path, what)``): the last one
    written would replace the other; or a file output is an output folder (``folders``: it was
    found only when the statistics were written, after the whole run)."""
    outputs = list(outputs)
    for n, (path, what) in enumerate(outputs):
        for earlier, other in outputs[:n]:
            if same_path(path, earlier):
                raise InputError(f"{what} {path} is also {other} (the same file); give each output its own file")
        for folder, other in folders:
            if same_path(path, folder):
                raise InputError(f"{what} {path} is {other}; give it a file of its own")
