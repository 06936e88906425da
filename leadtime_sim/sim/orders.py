"""The order book: orders placed, paid for, committed to lots and delivered.

It owns the run's orders and deliveries, the units on order per (customer, product), and,
when the policy may reassign units at delivery, which lots may hold each order's units.
Factories commit a new lot's units (``commit``) and hand in finished lots (``deliver``);
demand places orders (``place_order``) and reads ``on_order``.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter

from leadtime_sim.sim.clock import Clock
from leadtime_sim.sim.policies import Allocation, OrderView
from leadtime_sim.sim.records import DeliveryRecord, new_record
from leadtime_sim.sim.state import (
    BudgetState,
    Lot,
    OrderState,
    ProductState,
    RequirementState,
    RunGuard,
    SimulationError,
)


class OrderBook:
    """Orders of one run, from placement to their last delivery; the outlet of the
    factories of end products (``outlets.py``)."""

    need_is_backlog = True
    """End products are made to order: the units to start are the backlog."""

    def __init__(self, env: Clock, guard: RunGuard, products: dict[str, ProductState],
                 unit_costs: dict[str, float], budget: BudgetState,
                 requirements: Iterable[RequirementState], reassigning: bool):
        self.env = env
        self.guard = guard
        self.products = products
        self.unit_costs = unit_costs
        """Million USD a unit, per product (what an order claims of the budget)."""
        self.budget = budget
        self.reassigning = reassigning
        """The policy may give finished units to other orders (``reassign_at_delivery``)."""
        self.orders: list[OrderState] = []
        self.deliveries: list[DeliveryRecord] = []
        self.on_order: dict[tuple[str, str], int] = {}
        """Units ordered and not yet delivered, per (customer, product)."""
        self.lots_committed = 0
        self.lots_of: dict[int, dict[Lot, None]] = {}
        """Per order, the lots in progress that may hold its units (when reassigning)."""
        self.receivers: dict[tuple[str, str], list[RequirementState]] = {}
        """The requirements that deliveries to (customer, product) fill."""
        for state in requirements:
            for customer in state.spec.customer_names:
                self.receivers.setdefault((customer, state.product), []).append(state)

    def close(self) -> None:
        """Drop the orders, deliveries and lot maps, the bulk of a run, once its records
        are made: a failed run's traceback holds the factory that raised, and through its
        outlet, this book."""
        self.orders.clear()
        self.deliveries.clear()
        self.on_order.clear()
        self.lots_of.clear()
        self.receivers.clear()

    def place_order(self, customer: str, product: str, quantity: int, priority: int,
                    source: str, placed: float, order_id: str, paid: bool = False) -> None:
        """Record an order; its units join the backlog once the budget pays for them."""
        index = len(self.orders)
        if not index & 4095:
            self.guard.check_deadline()
        order = OrderState(index, order_id, customer, product, quantity, priority, source, placed,
                           (customer, product))
        self.orders.append(order)
        state = self.products[product]
        state.awaiting_funds += quantity
        self.on_order[order.key] = self.on_order.get(order.key, 0) + quantity
        if paid or not self.budget.active:
            self._enter(order)
        else:
            cost = quantity * self.unit_costs[product]
            self.budget.claim("orders", cost, lambda: self._enter(order), customer)

    def _enter(self, order: OrderState) -> None:
        """The order is paid for: its units join the backlog."""
        state = self.products[order.product]
        order.entered_months = float(self.env.now)
        order.uncommitted = order.quantity
        state.awaiting_funds -= order.quantity
        state.backlog += order.quantity
        state.ordered += order.quantity
        state.policy.add(order)
        if self.reassigning:
            state.open_orders[order.index] = order
        for factory in state.factories:
            factory.wake()
        for component, _ in state.bom:
            component.wake_supply_chain()

    def commit(self, product: ProductState, units: int, lot: Lot) -> Allocation:
        """Commit ``units`` backlog units of a new lot to orders, in the policy's order."""
        allocation = product.policy.take(units)
        if len(allocation) == 1:  # one order fills the lot (the common case): nothing to merge
            order, n = allocation[0]
            if n != units or n > order.uncommitted:
                raise SimulationError(f"allocation policy {product.policy.name!r} answered "
                                      f"{[(order.id, n)]} for {units} units")
            order.uncommitted -= n
        else:
            allocation = merged(allocation)
            if sum(n for _, n in allocation) != units or any(n > o.uncommitted or n < 0
                                                             for o, n in allocation):
                raise SimulationError(f"allocation policy {product.policy.name!r} answered "
                                      f"{[(o.id, n) for o, n in allocation]} for {units} units")
            for order, n in allocation:
                order.uncommitted -= n
        product.backlog -= units
        if self.reassigning:
            product.lots[lot] = None
            lot.seq = self.lots_committed
            self.lots_committed += 1
            for order, _ in allocation:
                self.lots_of.setdefault(order.index, {})[lot] = None
        return allocation

    def deliver(self, product: ProductState, lot: Lot) -> None:
        """A finished lot reaches its orders (as reassigned, if the policy does)."""
        if self.reassigning:
            del product.lots[lot]
            for order, _ in lot.allocation:
                self.lots_of[order.index].pop(lot, None)
            lot.allocation = self._reassign(product, lot)
        now = self.env.now
        for order, units in lot.allocation:
            assert isinstance(order, OrderState)
            order.delivered += units
            if order.first_delivery_months is None:
                order.first_delivery_months = now
            if order.delivered == order.quantity:
                order.last_delivery_months = now
                if self.reassigning:
                    product.open_orders.pop(order.index, None)
            self.on_order[order.key] -= units
            self.deliveries.append(new_record(DeliveryRecord, (now, order.id, order.customer, order.product,
                                                                units)))
            for requirement in self.receivers.get(order.key, ()):
                requirement.receive(now, units)
        product.delivered += lot.units

    def _reassign(self, product: ProductState, lot: Lot) -> Allocation:
        """Let the policy give the finished units to other open orders.

        An order that gains units gives up as many of its own: uncommitted ones first, then
        its commitments in the lots started last, which pass to the orders that lost units
        (any loss left over returns to the backlog). Units in each state are conserved.
        """
        old = lot.allocation
        new = [(o, n) for o, n in product.policy.reassign(old, product.open_orders.values()) if n]
        if new == old:  # the units go where they were meant to (the usual case)
            return merged(new)
        change: dict[int, int] = {}
        orders = {o.index: o for o, _ in old + new}
        for order, n in new:
            change[order.index] = change.get(order.index, 0) + n
        for order, n in old:
            change[order.index] = change.get(order.index, 0) - n
        if sum(change.values()) != 0 or any(n < 0 for _, n in new) or any(
                orders[i].quantity - orders[i].delivered < sum(n for o, n in new if o.index == i)
                for i in change):
            raise SimulationError(f"policy {product.policy.name!r} reassigned {[(o.id, n) for o, n in new]} "
                                  f"for a lot of {lot.units} units")
        freed: list[tuple[Lot, int]] = []
        for index, gain in change.items():
            if gain > 0:
                freed += self._release(product, orders[index], gain)
        for index, loss in change.items():
            if loss < 0:
                self._hand_over(product, orders[index], -loss, freed)
        return merged(new)

    def _hand_over(self, product: ProductState, loser: OrderView, loss: int,
                   freed: list[tuple[Lot, int]]) -> None:
        """Give an order that lost ``loss`` units the commitments freed in other lots, and
        return what is left of its loss to the backlog."""
        while loss > 0 and freed:
            other, k = freed.pop()
            m = min(k, loss)
            other.allocation.append((loser, m))
            self.lots_of.setdefault(loser.index, {})[other] = None
            if k > m:
                freed.append((other, k - m))
            loss -= m
        if loss > 0:
            loser.uncommitted += loss
            product.backlog += loss
            if loser.uncommitted == loss:
                product.policy.add(loser)

    def _release(self, product: ProductState, order: OrderView, units: int) -> list[tuple[Lot, int]]:
        """Free ``units`` of ``order``'s other claims: uncommitted first, then latest lots."""
        take = min(units, order.uncommitted)
        order.uncommitted -= take
        product.backlog -= take
        units -= take
        freed: list[tuple[Lot, int]] = []
        mine_maybe = self.lots_of.get(order.index, {})
        # The lots started last (due last, near enough), among those with units of the order.
        for other in sorted(mine_maybe, key=attrgetter("seq"), reverse=True):
            if units == 0:
                break
            if other not in product.lots:  # delivered since
                del mine_maybe[other]
                continue
            mine = sum(n for o, n in other.allocation if o is order)
            k = min(units, mine)
            if k:
                other.allocation = merged([*other.allocation, (order, -k)])
                freed.append((other, k))
                units -= k
        if units:
            raise SimulationError(f"reassigned more units to {order.id} than it has open")
        return freed


def merged(allocation: Allocation) -> Allocation:
    """Sum units per order, dropping orders left with none."""
    totals: dict[int, int] = {}
    orders = {}
    for order, n in allocation:
        totals[order.index] = totals.get(order.index, 0) + n
        orders[order.index] = order
    return [(orders[i], n) for i, n in totals.items() if n]
