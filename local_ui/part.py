"""The ui part's record: the LAN dashboard, its accounts and its JSON API."""

from __future__ import annotations

from gateway.parts import Part

UI = Part(
    name="ui",
    sections={"ui": "gateway.config:UiSection"},
    migrations=("local_ui.schema:migrations",),
    commands=("local_ui.commands",),
    dashboard="local_ui.embedded:serve",
)
