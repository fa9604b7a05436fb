"""The optional C core of symdiff's graph (see symdiff/_graphcore.c); the rest is in pyproject.toml.

Without a C compiler the build goes on without it, and symdiff runs in pure Python."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("symdiff._graphcore", ["symdiff/_graphcore.c"], optional=True)])
