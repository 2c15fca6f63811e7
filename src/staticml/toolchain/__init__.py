"""Toolchain: from C source to shared libraries (system compiler or the ziglang package)."""
