"""The console-script entry point: the app with every command registered."""

from costscope.cli import analyze, diff, plan, simulate, store_commands, tap
from costscope.cli.app import app

__all__ = ["analyze", "app", "diff", "main", "plan", "simulate", "store_commands", "tap"]


def main() -> None:
    """Console-script entry point."""
    app()
