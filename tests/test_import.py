import subprocess
import sys

HEAVY = ("torch", "onnx", "onnxruntime", "tensorrt", "pycuda", "picamera2")


def test_import_edgefill_loads_no_heavy_module():
    code = (
        "import sys, edgefill, edgefill.cli, edgefill.backends;"
        "edgefill.list_backends();"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "", f"import edgefill loaded: {proc.stdout.strip()}"


def test_cli_help_loads_no_heavy_module():
    code = (
        "import sys, contextlib, io\n"
        "from edgefill.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['inpaint', '--help'])\n"
        "    except SystemExit: pass\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_every_public_error_is_exported_from_edgefill():
    import edgefill
    from edgefill import errors

    public = {name for name, obj in vars(errors).items()
              if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == errors.__name__
              and not name.startswith("_")}
    missing = sorted(n for n in public if getattr(edgefill, n, None) is not getattr(errors, n))
    assert not missing, f"not exported from edgefill: {missing}"


def _without_cv2(tmp_path, *args, broken=False):
    """Run Python with OpenCV absent (or installed but failing to import, ``broken``)."""
    import os

    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    if broken:
        (site / "cv2").mkdir(exist_ok=True)
        (site / "cv2" / "__init__.py").write_text("raise ImportError('libGL.so.1: cannot open shared object file')\n")
    else:
        (site / "sitecustomize.py").write_text("import sys\nsys.modules['cv2'] = None\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=60)


def test_the_command_without_opencv_is_one_line(tmp_path):
    """`edgefill doctor` (the tool that diagnoses OpenCV) ended in two chained tracebacks."""
    proc = _without_cv2(tmp_path, "-m", "edgefill", "doctor")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("edgefill: error: edgefill needs OpenCV's Python bindings. Install edgefill[opencv]")
    library = _without_cv2(tmp_path, "-c", "import edgefill")  # the library raises, as an import should
    assert library.returncode == 1 and "ImportError: edgefill needs OpenCV" in library.stderr


def test_a_broken_opencv_is_not_called_missing(tmp_path):
    proc = _without_cv2(tmp_path, "-m", "edgefill", "doctor", broken=True)
    assert proc.returncode == 2 and "installed but do not import (libGL.so.1" in proc.stderr
    assert "Install edgefill[opencv]" not in proc.stderr
