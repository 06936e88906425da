"""Month-end samples of products, factories and requirements (the run's time series)."""

from __future__ import annotations

from leadtime_sim.sim.clock import Clock
from leadtime_sim.sim.factory import Factory
from leadtime_sim.sim.promise import Quoter
from leadtime_sim.sim.records import FactoryMonth, ProductMonth, RequirementMonth, new_record
from leadtime_sim.sim.state import ProductState, RequirementState


class Monitor:
    """Samples the factories, products and requirements it is given, at month ends."""

    def __init__(self, env: Clock, factories: dict[str, Factory], products: dict[str, ProductState],
                 requirements: dict[str, RequirementState], quoter: Quoter, quote_priority: int):
        self.env = env
        self.quoter = quoter
        self.quote_priority = quote_priority
        """The class of the monthly quote (the scenario's least urgent)."""
        self.product_states = products
        self.requirement_states = requirements
        self.products: list[ProductMonth] = []
        self.factories: list[FactoryMonth] = []
        self.requirements: list[RequirementMonth] = []
        self.delivered = {name: 0 for name in products}
        self.factory_list = list(factories.items())
        self.previous = [(0.0, 0.0, 0)] * len(self.factory_list)
        """Busy area, line area and units started at the last sample, per factory."""
        self.made_by = {name: [k for k, (_, f) in enumerate(self.factory_list) if f.product.name == name]
                        for name in products}

    def sample(self, month: int) -> None:
        """Append the records of ``month`` (flows since the last sample, levels now).

        One function, not one per table: it runs every month (8,640 times in the M/M/c
        benchmark), where a call more costs 0.2% of the run."""
        now = self.env.now
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
        quoter, priority = self.quoter, self.quote_priority
        for name, p in self.product_states.items():
            quote = None if p.is_component else quoter.lead_time(p, now, 1, priority)
            capacity = busy = line_area = 0.0
            lines = 0
            for k in self.made_by[name]:
                c, b, a, n = sampled[k]
                capacity, busy, line_area, lines = capacity + c, busy + b, line_area + a, lines + n
            self.products.append(new_record(ProductMonth, (
                month, name, p.ordered, p.backlog, p.wip, p.delivered - self.delivered[name],
                p.delivered, p.stock, p.awaiting_funds, capacity, lines,
                busy / line_area if line_area > 0 else 0.0, quote)))
            self.delivered[name] = p.delivered
        for name, r in self.requirement_states.items():
            gap = r.observe(now)
            self.requirements.append(RequirementMonth(month, name, r.product, r.level, r.required(now),
                                                      gap, r.peak_gap))
            r.peak_gap = 0.0
