"""The one compiled module; everything else about the package is in pyproject.toml.

Optional: without a C compiler the install still succeeds and the same columns come from the
pure-Python path (costscope.sources.exposition_plain), only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("costscope.sources._plain_lines", ["costscope/sources/_plain_lines.c"], optional=True)
    ]
)
