"""TensorRT engine building and version compatibility (imports TensorRT only when used)."""
