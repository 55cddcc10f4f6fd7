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
