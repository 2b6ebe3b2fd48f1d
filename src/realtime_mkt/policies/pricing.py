"""Profit-maximising, inventory-aware price targets from the elasticity estimate.

With a constant own-price response e < −1 (the elasticity of units to our price, competitors'
prices held) and unit cost c the profit-maximising price is p* = c·e/(1+e).
While e is uncertain the target is shrunk toward an anchor: the merchant's list price, blended
with the price its category's other SKUs' markups give the SKU's cost where the SKUs have
shown that blend to be nearer their optima (`MarketView.anchor`, `ListPriceError.anchor`, v8).
Both tell of ln p*: the anchor with a typical error σ_A (σ_L, learned from the SKUs, for the
list price alone), the estimate e ± SE through the formula. The target is the mean of ln p*
given both (`optimum.posterior_log_optimum`): ln p*(e) averaged over the estimate's normal
distribution, each value weighted by how likely it makes the anchor. Linearised (ln p* moves
SE·|d ln p*/de| = SE/|e(1+e)| per standard error) that is the two weighed by their precisions,
a share w = σ_A² / (σ_A² + (SE/|e(1+e)|)²) of the way from the anchor to p*, which pricing
v2–v5 targeted (with the list price as the anchor); but ln p* is convex in e and runs off as e
nears −1, so the linearisation misweighs an uncertain estimate (v6, stop 37). w still measures
the estimate's trust: the reason `shrunk_to_list_price` reads it, each decision reports it,
and exploration reads it from the SKU's own standard error (below). A standard error means
little price uncertainty where demand is very elastic (p* hardly moves with e) and much near
e = −1, which a flat trust in SE ignored.
Stock bends it: if the stock on hand and on order would run out before an order placed now can
arrive (the lead time L) at the demand expected at p*, the price rises to the level that
stretches stock over that time. Not L + R: restock lets the inventory position fall to
μ·L + safety stock before it orders, so over L + R half of all price decisions read the normal
replenishment cycle as scarcity and raised prices (steady backtest: 975 of 2,080);
if stock covers more than that, the price falls by what holding the rest costs
(`optimum.overstock_cut` at `carrying_rate`: 9.5 % for 150 days of cover at 25 %/year; until
stop 34 it fell to the level that would sell the stock within 60 days, 30 % and more, which gave
away more margin than the holding it saved; never below the floors, which the guardrails
enforce). Scarcity needs demand to fall with the price (e < 0), overstock an optimum to lower
(e < −1): other estimates leave stock out of the target. While the estimated
optimum is less precise than the anchor (w < `explore_below_weight`, one half) the target
is nudged ±`exploration` on alternate two-day blocks, so prices keep the variation that
identifies it; once the estimate is trusted more than the anchor, exploring further costs
more than it returns. Exploration reads w from the SKU's own days alone (`own_stderr`), the
target from its estimate with its category's prior (`stderr`, `models/category_response.py`):
the prior makes the estimate surer but does not identify the SKU's own response, and a pool
whose SKUs all stopped exploring would stop learning (v7; read by both, the holidays market's
second year lost 0.27 points of profit over eight seeds).
Exploring buys the spread of ln price that identifies the response, and costs what the price's
distance from the target costs, both in proportion to the spread. So exploration also waits
while the price has already spread enough: Σ (ln p − mean)² over the learned days (as the
regression weighs them, `LogLogElasticity.price_spread`) at or above κ·√(days learned), κ =
`exploration_spread` (v9). It is the controlled-variance rule of dynamic pricing's literature
(den Boer and Zwart 2014; Keskin and Zeevi 2014: dispersion growing as √t is what keeps the
estimate consistent at the least cost). Stock, competitors and the target's own moves spread
the price too, and a price that stops moving loses its spread as the forgetting discounts
its days, so exploration resumes. Before the regression has learned a day (the SKU's first
week: its days need the forecast as a baseline) nothing is explored, as nothing would be
learned from it. Without the cap exploring cost more than it returned in five markets of seven
(docs/reports.md, *Exploration that waits for the price's spread*).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from realtime_mkt.policies.list_price_error import Anchor
from realtime_mkt.policies.optimum import (
    optimum_price,
    optimum_spread,
    overstock_cut,
    posterior_log_optimum,
    precision_weight,
)

# loglog v2: the own-price response e − x; v3: the demand forecast as a regressor; v4: the
# statistics forget (`EngineConfig.elasticity_forgetting`); v5: the prices the forecast's level
# remembers as a regressor (`elasticity.PRICE_MEMORY_RATE`);
# pricing v2: list price and optimum weighed by their precisions; v3: stock moves the price
# only along a falling demand curve, by at most e^±MAX_LOG_MOVE; v4: the list price's error
# learned from the SKUs (`list_price_error`); v5: overstock lowers the price by the holding cost
# it saves (`optimum.overstock_cut`); v6: the target is the posterior mean of ln p*, not its
# linearisation (`optimum.posterior_log_optimum`); v7: the response read with its category's
# other SKUs as a prior (`models/category_response.py`), exploration on the SKU's own days; v8:
# the list price blended with its category's markups' price as the anchor (`category_markup`);
# v9: exploration only while the price's spread is under κ·√(days learned)
MODEL_VERSION = "loglog-elasticity/v5+pricing/v9"
MAX_LOG_MOVE = 10.0  # a factor of 22,000: past any guardrail, and finite


@dataclass(frozen=True, slots=True)
class PricingConfig:
    """Knobs of the pricing policy."""

    # a year, of unit cost: what holding a unit costs (capital, space, shrink; the usual 20–30 %)
    carrying_rate: float = 0.25
    exploration: float = 0.05
    explore_below_weight: float = 0.5  # explore while the optimum's weight is below this
    # ... and while the price's spread over the learned days (Σ (ln p − mean)²) is under this
    # times √(days learned): κ of a controlled-variance rule (module docstring)
    exploration_spread: float = 0.01
    # sd of ln(list price / optimal price): how far a merchant's list price typically is from
    # the optimum (0.1: within about ±20 %), the prior of what the SKUs learn (`list_price_error`)
    list_price_error: float = 0.1
    min_change: float = 0.005  # smaller moves are not worth a decision


@dataclass(frozen=True, slots=True)
class PriceTarget:
    """Where the policy wants the price, and why."""

    price: float
    reasons: list[str]
    exploration: bool
    anchor: Anchor  # what the estimate was weighed against
    optimum: float | None = None  # the profit-maximising price at the estimate, before shrinking
    # the optimum's precision against the anchor's: linearised, the share of the
    # log-distance from the anchor to `optimum` taken
    weight: float = 0.0


@dataclass(frozen=True, slots=True)
class MarketView:
    """What the policy knows about one SKU now."""

    price: float
    # the merchant's list price, blended with its category's markups' price: where the target
    # starts from while the elasticity is uncertain, and how far such a start is from p*
    anchor: Anchor
    unit_cost: float
    elasticity: float  # own-price response (competitors' prices held)
    stderr: float  # with the SKU's category as a prior
    own_stderr: float  # from the SKU's own days alone: what exploration reads
    demand_per_day: float  # at the current price
    on_hand: int
    cover_days_needed: float  # the lead time: until an order placed now can arrive
    day: int
    # Σ (ln price − mean)² over the learned days, and those days (`LogLogElasticity.price_spread`)
    price_spread: float
    learned_days: float


def _exploration_sign(sku_id: str, day: int) -> int:
    digest = hashlib.blake2b(f"{sku_id}|{day // 2}".encode(), digest_size=1).digest()
    return 1 if digest[0] % 2 else -1


def spread_to_keep(learned_days: float, config: PricingConfig) -> float:
    """The spread of ln price, Σ (ln p − mean)² over the learned days, under which an untrusted
    estimate is explored: κ·√(days learned) (module docstring). None learned yet, none is
    needed: the regression learns a SKU's days once the forecast gives them a baseline (from
    its second week), and exploring before that teaches it nothing."""
    return config.exploration_spread * math.sqrt(max(learned_days, 0.0))


def optimum_weight(elasticity: float, stderr: float, list_price_error: float) -> float:
    """The precision weight of the estimated optimum against the list price
    (`optimum.precision_weight`; module docstring).

    An inelastic estimate (e ≥ −1) has no optimum to weigh: its push upward is taken in full
    when two standard errors still leave demand inelastic, else not at all.
    """
    if elasticity >= -1.0:
        return 1.0 if elasticity - 2.0 * stderr >= -1.0 else 0.0
    return precision_weight(optimum_spread(elasticity, stderr) ** 2, list_price_error**2)


def _price_for_demand(price: float, ratio: float, elasticity: float) -> float:
    """The price at which demand is `ratio` times its level at `price`: price · ratio^(1/e),
    in log space and at most e^±MAX_LOG_MOVE from `price`. A near-zero elasticity asks for moves
    beyond a float's range (an OverflowError that failed the event), which the guardrails cut
    to their step and bounds anyway."""
    move = math.log(ratio) / elasticity
    return price * math.exp(max(-MAX_LOG_MOVE, min(move, MAX_LOG_MOVE)))


def target_price(sku_id: str, view: MarketView, config: PricingConfig) -> PriceTarget:
    """The price the policy would set before guardrails."""
    e = view.elasticity
    reasons: list[str] = []
    # shrunk toward the anchor by the optimum's uncertainty (trust region)
    anchor = view.anchor
    weight = optimum_weight(e, view.stderr, anchor.error)
    if e < -1.0:
        optimum = optimum_price(view.unit_cost, e)
        reasons.append("profit_optimum")
        target = math.exp(
            posterior_log_optimum(view.unit_cost, e, view.stderr, anchor.price, anchor.error)
        )
    else:
        optimum = view.price * 1.5  # inelastic: raise until the guardrails stop it
        reasons.append("inelastic_demand")
        target = anchor.price * (optimum / anchor.price) ** weight  # w is 0 or 1
    if weight < 0.5:
        reasons.append("shrunk_to_list_price")
    covered = view.demand_per_day * view.cover_days_needed  # 0 when either is (or underflows)
    if covered > 0 and e < 0:  # stock is priced only along a falling demand curve
        demand_at_target = view.demand_per_day * (target / view.price) ** e
        needed = demand_at_target * view.cover_days_needed
        if view.on_hand < needed:
            stock = max(view.on_hand, 0.5)  # an empty shelf: as high as the guardrails allow
            stretch = _price_for_demand(view.price, stock / covered, e)
            if stretch > target:
                target = stretch
                reasons.append("scarce_stock")
        elif e < -1.0 and demand_at_target > 0:  # it underflows at a far higher target
            cover = view.on_hand / demand_at_target
            cut = overstock_cut(cover, view.cover_days_needed, config.carrying_rate)
            if cut > config.min_change:
                target *= 1.0 - cut
                reasons.append("overstock")
    # the category's prior makes the estimate surer, not the SKU's own response identifiable
    explore = optimum_weight(e, view.own_stderr, anchor.error) < config.explore_below_weight
    explore = explore and view.price_spread < spread_to_keep(view.learned_days, config)
    if explore:
        target *= 1.0 + config.exploration * _exploration_sign(sku_id, view.day)
        reasons.append("exploration")
    if not math.isfinite(target) or target <= 0:
        return PriceTarget(view.price, ["no_reliable_target"], False, anchor)
    return PriceTarget(target, reasons, explore, anchor, optimum, weight)
