"""Rules that relate parts of a scenario: references, cycles, date order.

``check_scenario`` returns every problem as ``(field_path, message)`` so that a planner
fixing a file sees them all at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from leadtime_sim.dates import month_index
from leadtime_sim.scenario.schema import ConsumptionPeriod, Ordering, Requirement, Scenario

Problem = tuple[str, str]
MAX_HORIZON_MONTHS = 12 * 10_000
LAST_END = "9990-01"
MAX_BOM_DEPTH = 50
MAX_ORDER_UNITS = 1_000_000_000


def _components(scenario: Scenario, product: str) -> list[str]:
    return [c for c in scenario.products[product].bom if c in scenario.products]


def bom_cycle(scenario: Scenario) -> list[str] | None:
    """A cycle in the bills of materials, as a list of products, or None (no recursion)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in scenario.products:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        pending = [iter(_components(scenario, root))]
        while pending:
            component = next(pending[-1], None)
            if component is None:
                state[path.pop()] = 2
                pending.pop()
            elif state.get(component) == 1:
                return [*path[path.index(component):], component]
            elif component not in state:
                state[component] = 1
                path.append(component)
                pending.append(iter(_components(scenario, component)))
    return None


def bom_depth(scenario: Scenario) -> int:
    """Tiers in the deepest bill of materials (1 = no components); assumes no cycles."""
    depth: dict[str, int] = {}
    for root in scenario.products:
        stack = [root]
        while stack:
            product = stack[-1]
            missing = [c for c in _components(scenario, product) if c not in depth]
            if missing:
                stack.extend(missing)
            else:
                stack.pop()
                depth[product] = 1 + max((depth[c] for c in _components(scenario, product)), default=0)
    return max(depth.values(), default=0)


def component_products(scenario: Scenario) -> set[str]:
    """Products that appear in some bill of materials (made to stock, never ordered)."""
    return {c for p in scenario.products.values() for c in p.bom}


def check_scenario(
    scenario: Scenario,
    policies: Iterable[str],
    ordering_rules: Iterable[str],
) -> list[Problem]:
    """Every cross-reference problem in ``scenario``."""
    problems: list[Problem] = []
    products = scenario.products
    components = component_products(scenario)
    made = {f.product for f in scenario.factories.values()}
    start, end = month_index(scenario.start), month_index(scenario.end)

    def in_horizon(path: str, date: str | None, *, allow_before: bool = False) -> None:
        if date is None or end <= start:  # (no horizon: "end" is the one problem to fix)
            return
        if not allow_before and month_index(date) < start:
            problems.append((path, f"{date} is before the scenario start {scenario.start}"))
        if month_index(date) > end:
            problems.append((path, f"{date} is after the scenario end {scenario.end}"))

    def known_product(path: str, product: str) -> bool:
        if product not in products:
            problems.append((path, f"unknown product {product!r} (known: {_names(products)})"))
            return False
        return True

    def orderable(path: str, product: str) -> None:
        if not known_product(path, product):
            return
        if product in components:
            problems.append((path, f"{product!r} is a component in a bill of materials; "
                                   "components are made to stock, not ordered"))
        elif product not in made:
            problems.append((path, f"no factory makes product {product!r}"))

    if end <= start:
        problems.append(("end", f"{scenario.end} is not after start {scenario.start}"))
    elif end - start < 1 - 1e-9:
        problems.append(("end", f"{scenario.end} is less than a month after start {scenario.start} "
                                "(a run samples its state at each month end: it needs one)"))
    elif end - start > MAX_HORIZON_MONTHS:
        problems.append(("end", f"the horizon {scenario.start} to {scenario.end} is longer than "
                                f"{MAX_HORIZON_MONTHS // 12} years"))
    elif end >= month_index(LAST_END):
        problems.append(("end", f"{scenario.end} is too late: the horizon must end before {LAST_END} "
                                "(outputs date every January up to the end, and years stop at 9999)"))
    for name, product in products.items():
        for component in product.bom:
            if component == name:
                problems.append((f"products.{name}.bom.{component}", "a product cannot contain itself"))
            elif known_product(f"products.{name}.bom.{component}", component) and component not in made:
                problems.append((f"products.{name}.bom.{component}",
                                 f"no factory makes component {component!r}"))
    cycle = bom_cycle(scenario)
    if cycle and len(cycle) > 2:
        problems.append((f"products.{cycle[0]}.bom", "cycle in bills of materials: "
                         + " -> ".join(cycle)))
    elif not cycle and (depth := bom_depth(scenario)) > MAX_BOM_DEPTH:
        problems.append(("products", f"bills of materials nest {depth} tiers deep "
                                     f"(at most {MAX_BOM_DEPTH})"))
    for name, factory in scenario.factories.items():
        known_product(f"factories.{name}.product", factory.product)
        if not factory.takt_months.mean > 0:
            problems.append((f"factories.{name}.takt_months", "the mean takt must be above 0 "
                                                               "(a line cannot make lots in no time)"))
        if factory.disruptions is not None and not factory.disruptions.between_months.mean > 0:
            problems.append((f"factories.{name}.disruptions.between_months",
                             "the mean time between failures must be above 0"))
        if factory.min_lot_size > factory.lot_size:
            problems.append((f"factories.{name}.min_lot_size",
                             f"{factory.min_lot_size} exceeds lot_size {factory.lot_size}"))
        if factory.initial_wip_units and factory.product in components:
            problems.append((f"factories.{name}.initial_wip_units",
                             "components start with initial_stock_units, not work in progress"))
    for name, inv in scenario.investments.items():
        if inv.factory not in scenario.factories:
            problems.append((f"investments.{name}.factory",
                             f"unknown factory {inv.factory!r} (known: {_names(scenario.factories)})"))
        in_horizon(f"investments.{name}.decided", inv.decided, allow_before=True)
    ids: set[str] = set()
    for i, order in enumerate(scenario.orders):
        orderable(f"orders[{i}].product", order.product)
        in_horizon(f"orders[{i}].placed", order.placed, allow_before=True)
        if order.id is not None:
            if order.id in ids:
                problems.append((f"orders[{i}].id", f"duplicate order id {order.id!r}"))
            ids.add(order.id)
    unnamed = {f"order-{i}": i for i, order in enumerate(scenario.orders) if order.id is None}
    for i, order in enumerate(scenario.orders):
        if order.id in unnamed:
            problems.append((f"orders[{i}].id", f"{order.id!r} is the id the run gives the unnamed "
                                                f"orders[{unnamed[order.id]}] (order-<index>)"))
    for i, stream in enumerate(scenario.order_streams):
        orderable(f"order_streams[{i}].product", stream.product)
        if stream.quantity.mean > MAX_ORDER_UNITS:
            problems.append((f"order_streams[{i}].quantity", f"the mean order is above "
                                                             f"{MAX_ORDER_UNITS:,} units"))
        in_horizon(f"order_streams[{i}].from", stream.from_)
        in_horizon(f"order_streams[{i}].until", stream.until)
        if stream.from_ and stream.until and month_index(stream.until) <= month_index(stream.from_):
            problems.append((f"order_streams[{i}].until", f"{stream.until} is not after from {stream.from_}"))
    names = [scenario.stream_name(i) for i in range(len(scenario.order_streams))]
    for i, stream_name in enumerate(names):
        if names.index(stream_name) != i:
            problems.append((f"order_streams[{i}].name", f"duplicate stream name {stream_name!r}"))
    for name, req in scenario.requirements.items():
        path = f"requirements.{name}"
        if known_product(f"{path}.product", req.product) and req.product in components:
            problems.append((f"{path}.product", f"{req.product!r} is a component; it is never delivered"))
        dates = [p.date for p in req.required or []]
        for k in range(1, len(dates)):
            if month_index(dates[k]) <= month_index(dates[k - 1]):
                problems.append((f"{path}.required[{k}].date", f"{dates[k]} is not after {dates[k - 1]}"))
        if req.by is not None and month_index(req.by) <= start:
            problems.append((f"{path}.by", f"{req.by} is not after the scenario start {scenario.start}"))
        if isinstance(req.consumption_per_year, list):
            problems += _period_problems(f"{path}.consumption_per_year", req.consumption_per_year, scenario)
            for k, period in enumerate(req.consumption_per_year):
                in_horizon(f"{path}.consumption_per_year[{k}].from", period.from_)
                in_horizon(f"{path}.consumption_per_year[{k}].until", period.until)
        if req.ordering is not None:
            in_horizon(f"{path}.ordering.first_review", req.ordering.first_review)
            problems += _until_problems(f"{path}.ordering", req.ordering, scenario)
            if req.ordering.customer is not None and req.ordering.customer not in req.customer_names:
                problems.append((f"{path}.ordering.customer", f"{req.ordering.customer!r} is not one of the "
                                 f"requirement's customers ({', '.join(req.customer_names)})"))
            elif req.ordering.customer is None and len(req.customer_names) != 1:
                problems.append((f"{path}.ordering.customer", "the requirement has several customers: "
                                 "name the one that places the orders"))
            problems += _deferral_problems(scenario, name, req)
            if req.ordering.rule not in set(ordering_rules):
                problems.append((f"{path}.ordering.rule", f"unknown ordering rule {req.ordering.rule!r} "
                                 f"(known: {', '.join(sorted(ordering_rules))}; load plugins with --plugin)"))
    names_of_budgets = [b.name for b in scenario.all_budgets if b.name]
    for name in sorted({n for n in names_of_budgets if names_of_budgets.count(n) > 1}):
        problems.append(("budgets", f"duplicate budget name {name!r}"))
    if scenario.policy.allocation not in set(policies):
        problems.append(("policy.allocation", f"unknown allocation policy {scenario.policy.allocation!r} "
                         f"(known: {', '.join(sorted(policies))}; load plugins with --plugin)"))
    for i, date in enumerate(scenario.quote_dates):
        in_horizon(f"quote_dates[{i}]", date)
    return problems


def _wip_beyond_the_book(scenario: Scenario) -> list[Problem]:
    """A final product's factories with more ``initial_wip_units`` than the order book (the
    orders placed by the start) has left for them, taken factory by factory in file order:
    work in progress at start is committed to the book, so a run and the fluid model both
    drop the rest (``Factory.fill_flow``, ``FluidModel._initial_wip``)."""
    start = month_index(scenario.start)
    book: dict[str, int] = {}
    for o in scenario.orders:
        if month_index(o.placed) <= start:
            book[o.product] = book.get(o.product, 0) + o.quantity
    left = dict(book)
    components = component_products(scenario)
    warnings: list[Problem] = []
    for name, factory in scenario.factories.items():
        wip, product = factory.initial_wip_units, factory.product
        if not wip or product in components or product not in scenario.products:
            continue
        free = left.get(product, 0)
        left[product] = free - min(wip, free)
        if wip > free:
            taken = book.get(product, 0) - free
            others = f" ({taken} are in the factories listed before it)" if taken else ""
            warnings.append((f"factories.{name}.initial_wip_units",
                             f"{wip} units in progress at start, but the order book of {product!r} (orders "
                             f"placed by the start {scenario.start}) has {free} for them{others}: the other "
                             f"{wip - free} are dropped (work in progress at start is the book's)"))
    return warnings


def _until_problems(path: str, ordering: Ordering, scenario: Scenario) -> list[Problem]:
    """``ordering.until``, the date reviews stop (exclusive, as a run and the fluid model
    review while ``t < until``): inside the horizon, and after the first review (else the
    rule never reviews: a typo, as a stream's ``until`` before its ``from``)."""
    until = ordering.until
    if until is None or month_index(scenario.end) <= month_index(scenario.start):
        return []
    at, start, end = month_index(until), month_index(scenario.start), month_index(scenario.end)
    if at < start:
        return [(f"{path}.until", f"{until} is before the scenario start {scenario.start}")]
    if at > end:
        return [(f"{path}.until", f"{until} is after the scenario end {scenario.end}")]
    first = ordering.first_review
    if first is not None and not start <= month_index(first) <= end:
        return []  # (first_review's own problem)
    if at <= month_index(first or scenario.start):
        after = f"first_review {first}" if first else f"the scenario start {scenario.start}"
        after += "" if first else " (the first review)"
        return [(f"{path}.until", f"{until} is not after {after}: the rule would never review")]
    return []


def _deferral_problems(scenario: Scenario, name: str, req: Requirement) -> list[Problem]:
    """``ordering.defers_to``: each entry another requirement, inside this one (the same
    product, its customers among this one's), that orders for itself."""
    problems: list[Problem] = []
    assert req.ordering is not None
    for k, other in enumerate(req.ordering.defers_to):
        path = f"requirements.{name}.ordering.defers_to[{k}]"
        member = scenario.requirements.get(other)
        if member is None:
            problems.append((path, f"no requirement {other!r} (known: {', '.join(scenario.requirements)})"))
        elif other == name:
            problems.append((path, "a requirement cannot defer to itself"))
        elif member.product != req.product:
            problems.append((path, f"{other!r} is for {member.product!r}, not {req.product!r}"))
        elif not set(member.customer_names) <= set(req.customer_names):
            problems.append((path, f"the customers of {other!r} ({', '.join(member.customer_names)}) are not "
                             f"all among this requirement's ({', '.join(req.customer_names)})"))
        elif member.ordering is None:
            problems.append((path, f"{other!r} has no ordering: nothing would order its units"))
        elif req.ordering.defers_to.index(other) < k:
            problems.append((path, f"{other!r} is listed twice"))
        elif name in _deferred_from(scenario, other):
            problems.append((path, f"{other!r} defers back to {name!r}: "
                                   "each would leave its units to the other"))
    return problems


def _deferred_from(scenario: Scenario, name: str) -> set[str]:
    """The requirements ``name`` defers to, directly or through others."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        req = scenario.requirements.get(todo.pop())
        for other in req.ordering.defers_to if req is not None and req.ordering is not None else []:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def _ordered_products(scenario: Scenario, customers: list[str] | None) -> set[str]:
    """Products ordered (listed, streamed or requirement-driven) by ``customers`` (None: any)."""
    def mine(customer: str) -> bool:
        return customers is None or customer in customers
    ordered = {o.product for o in scenario.orders if mine(o.customer)}
    ordered |= {s.product for s in scenario.order_streams if mine(s.customer)}
    ordered |= {r.product for r in scenario.requirements.values()
                if r.ordering is not None and mine(r.ordering_customer)}
    return ordered


def _period_problems(path: str, periods: Sequence[ConsumptionPeriod], scenario: Scenario) -> list[Problem]:
    """Consumption periods that are empty or overlap an earlier one (``from`` omitted is the
    start, ``until`` omitted open-ended); dates outside the horizon are reported apart."""
    problems: list[Problem] = []
    spans: list[tuple[int, float, float]] = []
    first, last = month_index(scenario.start), month_index(scenario.end)
    for k, period in enumerate(periods):
        if any(d and not first <= month_index(d) <= last for d in (period.from_, period.until)):
            continue
        begin = month_index(period.from_) if period.from_ else first
        end = month_index(period.until) if period.until else math.inf
        if period.until and end <= begin:
            after = f"from {period.from_}" if period.from_ else f"the scenario start {scenario.start}"
            problems.append((f"{path}[{k}].until", f"{period.until} is not after {after}"))
        elif not period.until and begin >= last:
            problems.append((f"{path}[{k}].from", f"{period.from_} is not before the scenario end "
                                                  f"{scenario.end}"))
        else:
            for j, b0, e0 in spans:
                if begin < e0 and b0 < end:
                    problems.append((f"{path}[{k}]", f"overlaps period {j} ({_span(periods[j])})"))
                    break
            spans.append((k, begin, end))
    return problems


def _span(period: ConsumptionPeriod) -> str:
    until = f" until {period.until}" if period.until else ", open-ended"
    return f"from {period.from_ or 'the start'}{until}"


def _names(table: Iterable[str]) -> str:
    return ", ".join(sorted(table)) or "none"


def scenario_warnings(scenario: Scenario) -> list[Problem]:
    """What is allowed but probably not meant: orders placed at or after the horizon's end
    (never placed, so never in any output), an ordering whose first review is the end (it
    never reviews), initial WIP beyond the order book (dropped); a budget for orders of a
    product without a price."""
    end = month_index(scenario.end)
    warnings: list[Problem] = [
        (f"orders[{i}]", f"placed {order.placed}, at or after the end ({scenario.end}): it is never placed")
        for i, order in enumerate(scenario.orders) if month_index(order.placed) >= end]
    warnings += _wip_beyond_the_book(scenario)
    for name, req in scenario.requirements.items():
        review = req.ordering.first_review if req.ordering is not None else None
        if review is not None and month_index(review) == end:
            warnings.append((f"requirements.{name}.ordering.first_review",
                             f"{review} is the end ({scenario.end}): the rule never reviews"))
    for i, budget in enumerate(scenario.all_budgets):
        first = scenario.budget is not None
        path = "budget" if first and i == 0 else f"budgets[{i - first}]"
        if "orders" in budget.covers:
            for product in sorted(_ordered_products(scenario, budget.customers)):
                if product in scenario.products and not scenario.products[product].unit_cost_musd:
                    warnings.append((path, f"covers orders of {product!r}, which has no unit_cost_musd: "
                                           "they cost nothing and never wait for money"))
    return warnings
