"""What the group's options set for every command of one invocation (``-q``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    quiet: bool = False
    """``-q``: no progress lines (results, warnings and errors still print)."""


SETTINGS = Settings()
