"""Common random numbers: one generator per named random source.

Each source (an order stream's arrivals, a line's takt, a disruption process) gets its own
``numpy.random.Generator`` seeded from (seed, replication, source name), so adding a line
or an order stream never shifts the draws of the others, and replication k of every design
point sees the same randomness wherever the sources are the same.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator

import numpy as np

from leadtime_sim.distributions import Constant, _Dist

BLOCK = 256
"""Variates drawn per numpy call; results depend on it, so it is fixed."""


def seed_sequence(seed: int, replication: int, source: str) -> np.random.SeedSequence:
    """The seed sequence of one named source in one replication."""
    digest = hashlib.blake2b(source.encode("utf-8"), digest_size=16).digest()
    words = np.frombuffer(digest, dtype=np.uint32).tolist()
    return np.random.SeedSequence([seed, replication, *words])


class RandomStreams:
    """Hands out generators and buffered variate iterators by source name.

    An iterator makes its generator at its first draw: seeding one costs ~0.1 ms, and a
    scenario of thousands of lines, most of which never start a lot, paid seconds for them.
    The draws are the same either way (each generator depends only on its source's name)."""

    def __init__(self, seed: int, replication: int = 0):
        self.seed = seed
        self.replication = replication
        self.names: set[str] = set()

    def _claim(self, source: str) -> None:
        if source in self.names:
            raise ValueError(f"random source {source!r} used twice")
        self.names.add(source)

    def _make(self, source: str) -> np.random.Generator:
        return np.random.default_rng(seed_sequence(self.seed, self.replication, source))

    def generator(self, source: str) -> np.random.Generator:
        self._claim(source)
        return self._make(source)

    def draws(self, source: str, dist: _Dist) -> Iterator[float]:
        """An endless iterator of variates of ``dist`` from the source's own stream."""
        if isinstance(dist, Constant):
            return itertools.repeat(dist.value)
        self._claim(source)

        def blocks() -> Iterator[float]:
            rng = self._make(source)
            while True:
                yield from dist.sample(rng, BLOCK).tolist()

        return blocks()

    def uniforms(self, source: str) -> Iterator[float]:
        """An endless iterator of U(0, 1) variates from the source's own stream."""
        self._claim(source)

        def blocks() -> Iterator[float]:
            rng = self._make(source)
            while True:
                yield from rng.random(BLOCK).tolist()

        return blocks()
