"""powergw: an edge-first home energy gateway for Indian households."""

import sys

__version__ = "0.1.0"


class PowerGwError(Exception):
    """Root of every error powergw raises on purpose."""


# sqlite-utils imports numpy and pandas when they are installed, only to map their scalar types to
# column types when it creates tables from Python values. powergw writes SQL itself and never hands
# it numpy values, while numpy costs about 12 MB resident in each long-running process (the daemon
# and the dashboard, which have no other use for it; the simulator and the theft job import it
# themselves). So sqlite-utils is imported here, the first thing any powergw process imports, with
# both hidden for the duration; a later `import numpy` works as usual. If numpy is already loaded
# (a test, `powergw demo` importing the simulator first), sqlite-utils simply sees it.
def _import_sqlite_utils_without_numpy() -> None:
    if "sqlite_utils" in sys.modules:
        return
    hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


_import_sqlite_utils_without_numpy()
