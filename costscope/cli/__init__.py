"""The ``costscope`` command: a thin skin over the library (see docs/cli.md).

Each command parses its options, calls one library function and renders the result. A
``CostscopeError`` becomes one red line on stderr and its exit code; anything else is a bug
and keeps its traceback (without local variables, which could hold secrets).
"""

from costscope.cli.main import app, main

__all__ = ["app", "main"]
