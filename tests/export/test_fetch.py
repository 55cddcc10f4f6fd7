import shutil
import subprocess
import zipfile

import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export]")

from edgefill_export import fetch  # noqa: E402

from .fake_deb import build_deb  # noqa: E402


def test_sources_table_roles_and_unique_names():
    srcs = fetch.read_sources()
    assert {s.role for s in srcs} == {"train", "texture", "eval"}
    names = [(s.role, s.file_name) for s in srcs]
    assert len(names) == len(set(names)), "two sources would land on the same cache file"
    assert len([s for s in srcs if s.role == "eval"]) == 18


def test_eval_and_train_never_share_a_file():
    srcs = fetch.read_sources()
    train = {(s.source, s.path_in_package) for s in srcs if s.role == "train"}
    evals = {(s.source, s.path_in_package) for s in srcs if s.role == "eval"}
    assert not train & evals


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed (Debian/Ubuntu only)")
def test_deb_extraction_with_resolution_stand_in(tmp_path):
    images = "usr/share/wallpapers/A/contents/images"
    deb = build_deb(tmp_path / "fake.deb", "fake-wallpapers", {f"{images}/2560x1600.jpg": b"big" * 100,
                                                               f"{images}/800x600.jpg": b"small",
                                                               "usr/share/other.png": b"exact"}, tmp_path)
    wanted = {"usr/share/wallpapers/A/contents/images/1920x1080.jpg": tmp_path / "out" / "a.jpg",
              "usr/share/other.png": tmp_path / "out" / "b.png"}
    fetch._deb_members(deb, wanted)
    assert (tmp_path / "out" / "a.jpg").read_bytes() == b"big" * 100  # the largest stand-in
    assert (tmp_path / "out" / "b.png").read_bytes() == b"exact"


def test_wheel_extraction_by_file_name(tmp_path):
    whl = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("pkg/data/astronaut.png", b"png-bytes")
    out = tmp_path / "o.png"
    fetch._wheel_members(whl, {"pypi_images/pkg/astronaut.png": out})
    assert out.read_bytes() == b"png-bytes"


def test_texture_split_holds_out_whole_families():
    from pathlib import Path

    from edgefill_export.fetch import texture_family, texture_split

    names = ["ufoai-textures__metall007_1a2b3c4d.png", "ufoai-textures__metal_plate_00000000.png",
             "ufoai-textures__mtl01_11111111.png", "ufoai-textures__wood3_22222222.png",
             "ufoai-textures__woodceiling_33333333.png", "ufoai-textures__concrete02_44444444.png",
             "scikit-image__brick_55555555.png", "ufoai-textures__floor_met_66666666.png"]
    paths = [Path(n) for n in names]
    train, held = texture_split(paths)
    assert texture_family(paths[0]) == "metall"
    assert {p.name for p in held} == set(names[:5])
    assert {p.name for p in train} == set(names[5:7])  # floor_met: a metal, by another name


def test_training_data_both_is_the_photos_plus_the_training_textures(tmp_path, monkeypatch):
    import pytest

    from edgefill_export.fetch import training_paths

    monkeypatch.setenv("EDGEFILL_DATA", str(tmp_path))
    for role, names in {"train": ["a.jpg", "b.jpg"], "texture": ["ufoai-textures__wood3_1.png", "scikit-image__brick_2.png"]}.items():
        (tmp_path / "images" / role).mkdir(parents=True)
        for n in names:
            (tmp_path / "images" / role / n).write_bytes(b"x")
    names = lambda data: [p.name for p in training_paths(data)]  # noqa: E731
    assert names("train") == ["a.jpg", "b.jpg"]
    assert names("texture") == ["scikit-image__brick_2.png"]  # the held-out wood is never trained on
    assert names("both") == ["a.jpg", "b.jpg", "scikit-image__brick_2.png"]
    with pytest.raises(ValueError, match="unknown training data"):
        training_paths("eval")


def _fake_download(monkeypatch, content: bytes, returncode: int):
    """apt-get download as it behaves: the .deb is written under its final name as it arrives."""
    calls = []

    def run(cmd, cwd=None, **kwargs):
        calls.append(cmd)
        (fetch.Path(cwd) / "fake-pkg_1.0_all.deb").write_bytes(content)
        return subprocess.CompletedProcess(cmd, returncode, "", "E: Failed to fetch (network unreachable)")

    monkeypatch.setattr(fetch.subprocess, "run", run)
    return calls


def test_a_download_cut_short_is_not_taken_for_a_whole_archive(tmp_path, monkeypatch):
    _fake_download(monkeypatch, b"partial", returncode=100)
    with pytest.raises(fetch.FetchError, match="could not download deb:fake-pkg"):
        fetch._download("deb", "fake-pkg", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing left that a rerun would reuse
    calls = _fake_download(monkeypatch, b"the whole archive", returncode=0)
    got = fetch._download("deb", "fake-pkg", tmp_path)
    assert got.read_bytes() == b"the whole archive" and len(calls) == 1
    assert fetch._download("deb", "fake-pkg", tmp_path) == got and len(calls) == 1  # idempotent


def test_offline_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    _fake_download(monkeypatch, b"", returncode=100)
    monkeypatch.setattr(fetch, "read_sources", lambda roles=fetch.ROLES: [
        fetch.Source("train", "deb:fake-pkg", "GPL", 10, 10, "usr/share/a.png")])
    assert fetch.main(["--roles", "train", "--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error: could not download deb:fake-pkg" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        fetch.main(["--roles", "train,evl", "--cache", str(tmp_path)])
    assert "unknown role" in capsys.readouterr().err


def test_a_damaged_archive_is_removed_so_the_next_run_downloads_it_again(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "read_sources", lambda roles=fetch.ROLES: [
        fetch.Source("eval", "pypi:fake-pkg", "CC0", 10, 10, "pypi_images/fake-pkg/a.png")])
    whl = tmp_path / "downloads" / "fake_pkg-1.0-py3-none-any.whl"
    whl.parent.mkdir(parents=True)
    whl.write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(fetch.FetchError, match="damaged"):
        fetch.fetch(("eval",), tmp_path, progress=False)
    assert not whl.exists()


def test_fetching_one_role_keeps_the_licence_records_of_the_others(tmp_path):
    """docs/training.md: ``--roles texture`` *adds* the textures; the manifest must still list
    the images fetched before, with their licences."""
    import json

    for src in fetch.read_sources(("eval", "texture")):  # as if fetched: nothing is downloaded
        p = fetch.image_path(tmp_path, src)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(src.file_name.encode())
    fetch.fetch(("eval",), tmp_path, progress=False)
    manifest = fetch.fetch(("texture",), tmp_path, progress=False)
    entries = json.loads(manifest.read_text())
    assert {e["role"] for e in entries} == {"eval", "texture"}
    assert len(entries) == len(fetch.read_sources(("eval", "texture")))
    assert all(e["license"] for e in entries)


def test_list_images_skips_what_a_killed_fetch_or_the_os_leaves_beside_the_photos(tmp_path):
    """A fetch killed mid-write leaves ``.NAME.XXXX.part`` in the role folder: training, packing
    and the quality benchmark must not take it (or a Thumbs.db) for a photo."""
    folder = tmp_path / "images" / "eval"
    folder.mkdir(parents=True)
    for name in ("b.jpg", "a.png", ".c.png.k2j4.part", "Thumbs.db", ".DS_Store"):
        (folder / name).write_bytes(b"x")
    (folder / "sub.png").mkdir()
    assert [p.name for p in fetch.list_images("eval", tmp_path)] == ["a.png", "b.jpg"]


def test_an_unwritable_cache_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "afile").write_text("not a folder")
    assert fetch.main(["--roles", "eval", "--cache", str(tmp_path / "afile")]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # after the progress bar
    assert last.startswith("error:") and "afile" in last and "Traceback" not in err


def test_a_failed_package_keeps_the_licence_records_of_the_images_already_extracted(tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(fetch, "read_sources", lambda roles=fetch.ROLES: [
        fetch.Source("train", "pypi:good-pkg", "CC0", 10, 10, "pypi_images/good-pkg/a.png"),
        fetch.Source("train", "pypi:offline-pkg", "GPL", 10, 10, "pypi_images/offline-pkg/b.png")])
    whl = tmp_path / "downloads" / "good_pkg-1.0-py3-none-any.whl"
    whl.parent.mkdir(parents=True)
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("good_pkg/a.png", b"png-bytes")

    def offline(cmd, cwd=None, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: network unreachable")

    monkeypatch.setattr(fetch.subprocess, "run", offline)
    with pytest.raises(fetch.FetchError, match="offline-pkg"):
        fetch.fetch(("train",), tmp_path, progress=False)
    entries = json.loads((tmp_path / "manifest.json").read_text())
    assert [(e["source"], e["license"]) for e in entries] == [("pypi:good-pkg", "CC0")]


def test_surfaces_of_held_out_materials_by_other_names_are_not_trained_on():
    """wizwood1_2, 9gratefloor02, tin_floor04ach, pewter ... were training textures: the held-out
    wood and metal families were matched only at the start of a name, and a name starting with a
    digit was its own family."""
    from pathlib import Path

    from edgefill_export.fetch import texture_family, texture_split

    leaked = ["wizwood1_2", "9gratefloor02", "tin_floor04ach", "pewter", "rustpipes", "e8_mtlwall1", "clanggrate",
              "s_wood003", "q1metal7_99"]
    kept = ["concrete002", "9techwall01", "brick", "carpet001", "tile01"]
    paths = [Path(f"ufoai-textures__{n}_00000000.jpg") for n in leaked + kept]
    train, held = texture_split(paths)
    assert sorted(p.name.split("__")[1].rsplit("_", 1)[0] for p in train) == sorted(kept)
    assert held == []  # the evaluation set is the one every earlier figure was measured on
    assert texture_family(Path("ufoai-textures__9gratefloor02_e1c39995.jpg")) == "gratefloor"


def test_a_relative_cache_fetches_a_pypi_package(tmp_path, monkeypatch):
    """pip ran with cwd=tmp and -d tmp: for a relative cache the wheel landed in tmp/tmp and was
    deleted with it, and every run said "downloaded, but no archive named after it"."""
    def pip(cmd, cwd=None, **kwargs):
        folder = Path(cwd) / cmd[cmd.index("-d") + 1]
        with zipfile.ZipFile(folder / "fake_pkg-1.0-py3-none-any.whl", "w") as zf:
            zf.writestr("fake_pkg/a.png", b"png-bytes")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    from pathlib import Path

    monkeypatch.setattr(fetch.subprocess, "run", pip)
    monkeypatch.setattr(fetch, "read_sources", lambda roles=fetch.ROLES: [
        fetch.Source("eval", "pypi:fake-pkg", "CC0", 10, 10, "pypi_images/fake-pkg/a.png")])
    monkeypatch.chdir(tmp_path)
    manifest = fetch.fetch(("eval",), Path("rel"), progress=False)
    assert manifest == tmp_path / "rel" / "manifest.json"
    assert (tmp_path / "rel" / "images" / "eval").is_dir()


def _as_fetched(cache, monkeypatch):
    monkeypatch.setattr(fetch, "read_sources", lambda roles=fetch.ROLES: [
        fetch.Source("eval", "pypi:fake-pkg", "CC0", 10, 10, "pypi_images/fake-pkg/a.png")])
    whl = cache / "downloads" / "fake_pkg-1.0-py3-none-any.whl"
    whl.parent.mkdir(parents=True)
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("fake_pkg/a.png", b"the real png bytes")
    manifest = fetch.fetch(("eval",), cache, progress=False)
    return manifest, fetch.image_path(cache, fetch.read_sources()[0])


def test_a_damaged_cached_image_is_extracted_again(tmp_path, monkeypatch):
    """A truncated image was kept, and the manifest re-certified it with its new sha256."""
    import json

    manifest, image = _as_fetched(tmp_path, monkeypatch)
    recorded = json.loads(manifest.read_text())[0]["sha256"]
    image.write_bytes(b"the real")  # truncated
    fetch.fetch(("eval",), tmp_path, progress=False)
    assert image.read_bytes() == b"the real png bytes"
    assert json.loads(manifest.read_text())[0]["sha256"] == recorded


def test_a_complete_cache_is_fetched_without_a_write(tmp_path, monkeypatch):
    """A read-only dataset mount failed: the manifest was rewritten (the same bytes) on every run."""
    manifest, _ = _as_fetched(tmp_path, monkeypatch)
    before = manifest.stat().st_mtime_ns

    def no_writes(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".manifest.json.x.part"))

    monkeypatch.setattr(fetch, "atomic_write_bytes", no_writes)
    assert fetch.fetch(("eval",), tmp_path, progress=False) == manifest
    assert manifest.stat().st_mtime_ns == before


def test_an_empty_edgefill_data_is_the_default_cache(monkeypatch):
    """It was Path(""), the current folder: `make data` filled the repository."""
    from pathlib import Path

    monkeypatch.setenv("EDGEFILL_DATA", "")
    assert fetch.default_cache_dir() == Path.home() / ".cache" / "edgefill" / "data"


def test_the_folders_of_killed_downloads_are_removed_but_not_a_live_one(tmp_path, monkeypatch):
    import os
    import time

    old = tmp_path / ".download-old"
    old.mkdir()
    (old / "big.deb").write_bytes(b"partial")
    past = time.time() - fetch.STALE_DOWNLOAD_S - 60
    for p in (old / "big.deb", old):
        os.utime(p, (past, past))
    live = tmp_path / ".download-live"
    live.mkdir()
    (live / "big.deb").write_bytes(b"being written")
    calls = _fake_download(monkeypatch, b"the whole archive", returncode=0)
    fetch._download("deb", "fake-pkg", tmp_path)
    assert not old.exists() and live.exists() and len(calls) == 1


def test_a_missing_dpkg_deb_is_said(tmp_path, monkeypatch):
    def no_dpkg(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", "dpkg-deb")

    monkeypatch.setattr(fetch.subprocess, "Popen", no_dpkg)
    with pytest.raises(fetch.FetchError, match="dpkg-deb is not installed"):
        fetch._deb_members(tmp_path / "x.deb", {"usr/a.png": tmp_path / "a.png"})


def test_an_os_error_outside_the_cache_does_not_blame_the_cache(tmp_path, monkeypatch, capsys):
    def full_tmp(*args, **kwargs):
        raise OSError(28, "No space left on device", "/tmp/elsewhere/x")

    monkeypatch.setattr(fetch, "fetch", full_tmp)
    assert fetch.main(["--roles", "eval", "--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device: /tmp/elsewhere/x" in err and "cache folder" not in err


def test_only_the_fetched_roles_images_are_checked_and_never_a_path_the_manifest_names(tmp_path, monkeypatch):
    """Every record was checked: a damaged eval image was deleted by `--roles train` and not
    extracted again, and a record naming ../victim.txt deleted that file."""
    import json

    manifest, image = _as_fetched(tmp_path / "cache", monkeypatch)  # an eval image
    image.write_bytes(b"damaged")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    records = json.loads(manifest.read_text()) + [{"file": "../victim.txt", "sha256": "0" * 64}]
    manifest.write_text(json.dumps(records))
    monkeypatch.setattr(fetch, "read_sources", lambda roles=fetch.ROLES: [
        s for s in [fetch.Source("eval", "pypi:fake-pkg", "CC0", 10, 10, "pypi_images/fake-pkg/a.png")]
        if s.role in roles])
    fetch.fetch(("train",), tmp_path / "cache", progress=False)
    assert image.read_bytes() == b"damaged" and victim.read_text() == "keep"
