import shutil
import subprocess
import zipfile

import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export]")

from edgefill_export import fetch  # noqa: E402


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
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: fake-wallpapers\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n")
    img_dir = root / "usr/share/wallpapers/A/contents/images"
    img_dir.mkdir(parents=True)
    (img_dir / "2560x1600.jpg").write_bytes(b"big" * 100)
    (img_dir / "800x600.jpg").write_bytes(b"small")
    (root / "usr/share/other.png").write_bytes(b"exact")
    deb = tmp_path / "fake.deb"
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)
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
    assert {p.name for p in train} == set(names[5:])


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
