"""The supply part: the mains voltage's quality per day and the log of power cuts.

`cuts` (pure) finds power cuts in the nodes' readings, `quality` (pure) rolls a day's minutes of
voltage into its figures, `tables` keeps both in SQLite, `jobs` runs them in the daemon and raises
the household's alerts, `commands` is `powergw supply`. The rule for a cut is in docs/supply.md.
"""

from __future__ import annotations

from .. import PowerGwError


class SupplyError(PowerGwError):
    """A supply question that cannot be answered as asked (a bad day, an unknown node)."""
