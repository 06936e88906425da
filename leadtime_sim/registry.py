"""Named extension points: one registry per kind (policies, ordering rules, metrics, charts,
executors), each entry declared once where it is implemented.

Validation, the CLI's choices, the run tables, the chart jobs and the report read the names
and entries from the registry; plugins add to a copy (``extended``), so a run's catalogue is
a value passed in, never a global that an import changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Entries of one kind by name, in the order they were declared."""

    def __init__(self, kind: str, entries: Mapping[str, T] | None = None):
        self.kind = kind
        """What an entry is (``allocation policy``), for messages."""
        self._entries: dict[str, T] = dict(entries or {})

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: declare ``name`` for the decorated class or function."""
        def add(entry: T) -> T:
            self.add(name, entry)
            return entry
        return add

    def add(self, name: str, entry: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is declared twice")
        self._entries[name] = entry

    def extended(self, entries: Mapping[str, T]) -> Registry[T]:
        """A copy with more entries (a plugin's may replace a built-in one of the same name)."""
        return Registry(self.kind, {**self._entries, **entries})

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r} (known: {', '.join(self._entries)})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def summaries(self) -> str:
        """``name: first sentence of its docstring; ...`` (for help texts)."""
        return "; ".join(f"{name}: {first_sentence(entry)}" for name, entry in self._entries.items())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)})"


def first_sentence(entry: object) -> str:
    """The first sentence of an entry's docstring, without its full stop."""
    text = " ".join((entry.__doc__ or "").split())
    return text.split(". ")[0].rstrip(".")
