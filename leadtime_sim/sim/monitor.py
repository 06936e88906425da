"""Month-end samples of products, factories and requirements (the run's time series)."""

from __future__ import annotations

from collections.abc import Callable

from leadtime_sim.sim.clock import URGENT, Clock
from leadtime_sim.sim.factory import Factory
from leadtime_sim.sim.records import FactoryMonth, ProductMonth, RequirementMonth, new_record
from leadtime_sim.sim.state import ProductState, RequirementState


class Monitor:
    """Samples the run at each month end (events at the boundary fall in the next month).

    It reads the factories, products and requirements it is given; ``after_sample`` is
    called after each scheduled sample (the run checks its wall-time limit there).
    """

    def __init__(self, env: Clock, factories: dict[str, Factory], products: dict[str, ProductState],
                 requirements: dict[str, RequirementState], after_sample: Callable[[], None]):
        self.env = env
        self.product_states = products
        self.requirement_states = requirements
        self.after_sample = after_sample
        self.products: list[ProductMonth] = []
        self.factories: list[FactoryMonth] = []
        self.requirements: list[RequirementMonth] = []
        self.month = 0
        self.months = 0
        self.delivered = {name: 0 for name in products}
        self.factory_list = list(factories.items())
        self.previous = [(0.0, 0.0, 0)] * len(self.factory_list)
        """Busy area, line area and units started at the last sample, per factory."""
        self.made_by = {name: [k for k, (_, f) in enumerate(self.factory_list) if f.product.name == name]
                        for name in products}

    def schedule(self, months: int) -> None:
        """Sample at the end of each month but the last (which the run samples itself)."""
        self.months = months
        self.env.call_later(1.0, self.month_end, URGENT)

    def month_end(self, _event: object = None) -> None:
        """Sample this month, call ``after_sample``, and come back at the next month's end
        (URGENT, as SimPy's own ``run(until=...)``: events at exactly a month's end fall in
        the next month, whenever they were scheduled)."""
        self.sample(self.month)
        self.after_sample()
        self.month += 1
        if self.month + 1 < self.months:
            self.env.call_later(1.0, self.month_end, URGENT)

    def sample(self, month: int) -> None:
        """Append the records of ``month`` (flows since the last sample, levels now)."""
        now = self.env.now
        sampled = self._sample_factories(month, now)
        for name, p in self.product_states.items():
            capacity = busy = line_area = 0.0
            lines = 0
            for k in self.made_by[name]:
                c, b, a, n = sampled[k]
                capacity, busy, line_area, lines = capacity + c, busy + b, line_area + a, lines + n
            self.products.append(new_record(ProductMonth, (
                month, name, p.ordered, p.backlog, p.wip, p.delivered - self.delivered[name],
                p.delivered, p.stock, p.awaiting_funds, capacity, lines,
                busy / line_area if line_area > 0 else 0.0)))
            self.delivered[name] = p.delivered
        for name, r in self.requirement_states.items():
            gap = r.observe(now)
            self.requirements.append(RequirementMonth(month, name, r.product, r.level, r.required(now),
                                                      gap, r.peak_gap))
            r.peak_gap = 0.0

    def _sample_factories(self, month: int, now: float) -> list[tuple[float, float, float, int]]:
        """Append the factories' records; (capacity, busy, line area, lines) of each."""
        sampled = []
        for k, (name, factory) in enumerate(self.factory_list):
            busy_area, line_area, started = factory.usage()
            busy0, line_area0, started0 = self.previous[k]
            self.previous[k] = (busy_area, line_area, started)
            busy, line_area = busy_area - busy0, line_area - line_area0
            capacity = factory.capacity_per_year(now)
            lines = len(factory.lines)
            self.factories.append(new_record(FactoryMonth, (
                month, name, factory.product.name, lines, capacity,
                busy / line_area if line_area > 0 else 0.0, started - started0)))
            sampled.append((capacity, busy, line_area, lines))
        return sampled
