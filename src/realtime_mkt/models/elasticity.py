"""Per-SKU price elasticity: Bayesian log-log regression on daily sales, learned online.

    ln(units + 0.5) = a + e·ln(price) + x·ln(competitor price / price) + b·ln(baseline + 0.5)
                      + m·(ln price remembered) + noise

The baseline is the demand model's forecast for the day at the reference price, made before the
day (its level and weekday factor). It carries what moves demand besides prices: weekdays, and a
level that jumps. Without it a shift in demand that coincides with price moves is read as price
response: after a demand shock (a third of the SKUs' demand doubles, and scarce stock raises their
prices) the estimates' errors grew to 2.4 standard errors. With it, e is learned from how sales
depart from the expected level when the price moves. b is free (≈ 1 when the forecast tracks).

The baseline has a memory of prices, though. The level learns from sales divided by the price's
effect as the estimate saw it; where the estimate is wrong the level keeps the rest, averaged
over past days' prices as the level averages their sales. A forecast that rose after a price cut
then explains part of the cut's effect, and the regression can lean toward its own earlier
estimate: in the holidays market, with the true demand in place of the forecast
(`backtest.KnownBaselineEngine`), the estimates' errors fell 40 % and their standard errors
turned honest (docs/reports.md, *What the forecast's errors cost the price response*). So the
regression also takes ln price averaged at the level's rate (`price_memory`, updated after the
day, as the level is): m absorbs what the level holds of past prices, and e is read from how
sales move with prices newer than the level has taken in (exploration's two-day blocks are
such moves). Second year of the holidays market, four seeds: profit / clairvoyant 0.9715 → 0.9779
(the bound 0.9789).

The prior centres the own-price elasticity e on its category's pooled estimate when the engine
has one (`CategoryPriors`), else on −2.62 (the meta-analysis mean of Bijmolt et al. 2005), with
standard deviation `prior_sd`, and the cross elasticity x on 0; so a young SKU is priced like its
category and its own data takes over as price variation accumulates. Pricing adds a second
prior, on e − x, from the category's other SKUs as they are now (`models/category_response.py`).
State is the sufficient statistics (XᵀX, Xᵀy, yᵀy, n) and the price memory: 33 numbers, cheap to
keep per SKU.

The statistics forget: each learned day multiplies what came before by `forgetting` (the engine's
0.99: a day weighs half as much 69 days later, and the data never count for more than about 100
days). A price response drifts, and an estimate misled by days where a demand jump and a price
move came together (the baseline lags the jump) would otherwise hold for good: pricing trusts a
confident estimate and stops exploring, and days at one price cannot correct it. Forgetting lets
the error grow back once the price stops moving, so pricing shrinks toward the list price and
explores again, and the new days outweigh the misleading ones. On the demand-shock market one SKU
had kept a price a third under its optimum for two months (seed 13: profit / clairvoyant 0.953
→ 0.969; docs/reports.md). `n` counts the days learned; the posterior reads the discounted count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from realtime_mkt.key_value import KeyValueStore
from realtime_mkt.models.daily_demand import SPAN_DAYS

PRIOR_ELASTICITY = -2.62
PRIOR_NOISE_VAR = 0.25
K = 5  # regressors: intercept, ln price, ln(competitor / price), ln baseline, ln price remembered
# the demand level's rate at its default span: how it holds past prices
PRICE_MEMORY_RATE = 2.0 / (SPAN_DAYS + 1)
MATCH_MIN_DAYS = 14  # learned days before a competitor can be seen to match our moves
MATCHED_SHARE = 0.1  # ... when the variance of its price ratio to ours is under this share of ours
MIN_PRICE_VAR = 1e-6  # our ln price must have varied (a ±0.1 % spread) for either to be read
_RESPONSE = np.array([0.0, 1.0, -1.0, 0.0, 0.0])  # e − x: units' response to our price alone
_RESPONSE_OUTER = np.outer(_RESPONSE, _RESPONSE)

Pooled = tuple[float, float]  # a prior on e − x: (mean, variance)


@dataclass(slots=True)
class LogLogElasticity:
    """Sufficient statistics of the regression, and the prior."""

    xtx: list[float] = field(default_factory=lambda: [0.0] * K * K)
    xty: list[float] = field(default_factory=lambda: [0.0] * K)
    yty: float = 0.0
    n: int = 0
    prior_elasticity: float = PRIOR_ELASTICITY
    prior_sd: float = 1.0
    price_memory: float | None = None  # ln price averaged as the demand level averages sales
    # False where the baseline is no forecast (a constant holds no prices): the column stays 0
    remembers_prices: bool = True
    # the last `own_price_response` and what it was read from (n, priors): only `learn` changes
    # the statistics, and it counts n up; asked on every event of the SKU, it changes once a day
    _response: tuple[tuple, tuple[float, float, float]] | None = field(
        default=None, repr=False, compare=False
    )

    def learn(
        self,
        price: float,
        units: float,
        competitor_price: float | None,
        baseline: float,
        forgetting: float = 1.0,
    ) -> None:
        """Add one day's observation: average selling price, units sold, and the demand model's
        forecast of the day's units at the reference price (`baseline`), after weighing what was
        learned before by `forgetting` (1 keeps everything: for observations that have no order
        in time, like the Dominick's replay's store-weeks)."""
        if forgetting < 1.0:
            self.xtx = [v * forgetting for v in self.xtx]
            self.xty = [v * forgetting for v in self.xty]
            self.yty *= forgetting
        log_price = math.log(price)
        memory = log_price if self.price_memory is None else self.price_memory
        x = (
            1.0,
            log_price,
            math.log(competitor_price / price) if competitor_price else 0.0,
            math.log(baseline + 0.5),
            memory if self.remembers_prices else 0.0,
        )
        self.price_memory = memory + PRICE_MEMORY_RATE * (log_price - memory)
        y = math.log(units + 0.5)
        for i in range(K):
            self.xty[i] += x[i] * y
            for j in range(K):
                self.xtx[K * i + j] += x[i] * x[j]
        self.yty += y * y
        self.n += 1

    def _posterior(self, pooled: Pooled | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and covariance of the coefficients: remembered by value, so a state
        read back from the table reuses what its last reading computed (it changes once a day)."""
        return _posterior_by_value(
            tuple(self.xtx), tuple(self.xty), self.yty, self.prior_elasticity, self.prior_sd, pooled
        )

    def estimate(self) -> tuple[float, float, float]:
        """The regression's own-price coefficient e, its standard error, and the cross
        elasticity x to competitors."""
        beta, cov = self._posterior()
        return float(beta[1]), float(math.sqrt(max(cov[1, 1], 0.0))), float(beta[2])

    def own_price_response(self, pooled: Pooled | None = None) -> tuple[float, float, float]:
        """The elasticity of units to our own price, its standard error, and x.

        With competitors' prices held it is e − x (our price enters both terms). When the
        competitor matches our moves (`competitor_matches`), a move of ours leaves the price
        ratio where it was and sales respond with e alone: x is then neither identified nor
        relevant, and counting its prior spread in the error would keep pricing exploring.

        `pooled` (mean, variance) is what the SKU's category tells of e − x
        (`models/category_response.py`): pricing reads the response with it, the demand model
        and the category's pool without it (the pool must not learn from itself)."""
        read_from = (self.n, self.prior_elasticity, self.prior_sd, pooled)
        if self._response is not None and self._response[0] == read_from:
            return self._response[1]
        beta, cov = self._posterior(pooled)
        if self.competitor_matches():
            response = float(beta[1]), float(math.sqrt(max(cov[1, 1], 0.0))), float(beta[2])
        else:
            variance = cov[1, 1] + cov[2, 2] - 2.0 * cov[1, 2]
            response = (
                float(beta[1] - beta[2]),
                float(math.sqrt(max(variance, 0.0))),
                float(beta[2]),
            )
        self._response = (read_from, response)
        return response

    def data_response(self) -> tuple[float, float]:
        """The own-price response as the SKU's days alone tell it, and its standard error: the
        posterior's pull toward the prior undone as a normal prior's would be (the deviation
        from the prior's mean over 1 − SE²/prior variance). A shrunk estimate errs toward the
        typical response, so its errors go with anything else that is typical (its category's
        markups, `policies/list_price_error.py`); this one's do not. None of pricing's readings
        use it: its error is the larger."""
        response, stderr, _ = self.own_price_response()
        # e's prior, and x's (centred on 0) unless the competitor matches our moves
        prior_variance = self.prior_sd**2 * (1.0 if self.competitor_matches() else 2.0)
        kept = 1.0 - min(stderr**2 / prior_variance, 0.99)
        return (
            self.prior_elasticity + (response - self.prior_elasticity) / kept,
            stderr / kept,
        )

    def price_spread(self) -> tuple[float, float]:
        """How much our price has varied over the learned days, as the regression weighs them:
        the sum of squared deviations of ln price from its mean, and the days counted (both
        discounted by the forgetting). The first is what identifies the price response."""
        days = self.xtx[0]
        if days <= 0:
            return 0.0, 0.0
        return max(self.xtx[K + 1] - self.xtx[1] ** 2 / days, 0.0), days

    def competitor_matches(self) -> bool:
        """Our price has moved over the learned days but its ratio to the competitor's (or the
        lack of one) has not: the variance of ln(competitor / price) is under MATCHED_SHARE of
        the variance of ln(price)."""
        n = self.xtx[0]
        if n < MATCH_MIN_DAYS:
            return False
        mean_price, mean_ratio = self.xtx[1] / n, self.xtx[2] / n
        price_var = self.xtx[K + 1] / n - mean_price**2
        ratio_var = self.xtx[2 * K + 2] / n - mean_ratio**2
        return price_var > MIN_PRICE_VAR and ratio_var < MATCHED_SHARE * price_var

    def to_list(self) -> list:
        """Compact form for table storage."""
        return [self.xtx, self.xty, self.yty, self.n, self.prior_elasticity, self.price_memory]

    @classmethod
    def from_list(cls, data: list) -> LogLogElasticity:
        """Inverse of `to_list`. Statistics stored before the price memory (4 × 4) go on with
        an empty column for it (its coefficient stays at 0 until prices vary around their
        average); those stored before the baseline regressor (3 × 3) cannot be extended, so
        such a SKU learns its price response again from its prior."""
        xtx, xty, yty, n, prior, *rest = data
        memory = rest[0] if rest else None
        if len(xtx) == (K - 1) ** 2:  # stored before the price memory: its column is empty
            k = K - 1
            xtx = [xtx[k * i + j] if i < k and j < k else 0.0 for i in range(K) for j in range(K)]
            xty = [*xty, 0.0]
        if len(xtx) != K * K:
            return cls(prior_elasticity=prior)
        return cls(xtx, xty, yty, n, prior, price_memory=memory)


@lru_cache(maxsize=4096)
def _posterior_by_value(
    xtx: tuple[float, ...],
    xty: tuple[float, ...],
    yty: float,
    prior_elasticity: float,
    prior_sd: float,
    pooled: Pooled | None,
) -> tuple[np.ndarray, np.ndarray]:
    n = xtx[0]  # the days learned, discounted by the forgetting
    xtx_m = np.array(xtx).reshape(K, K)
    xty_v = np.array(xty)

    def fit(noise: float) -> tuple[np.ndarray, np.ndarray, float]:
        """Posterior mean and precision for a noise variance, and the residual variance."""
        # flat priors on the intercept and the baseline's and price memory's coefficients;
        # N(prior, prior_sd²) on both elasticities; and the category's N(mean, variance) on e − x
        weight = noise / prior_sd**2
        precision = np.diag([1e-6, weight, weight, 1e-6, 1e-6])
        a = xtx_m + precision
        b = xty_v + precision @ np.array([0.0, prior_elasticity, 0.0, 0.0, 0.0])
        if pooled is not None:
            mean, variance = pooled
            a = a + noise / variance * _RESPONSE_OUTER
            b = b + noise / variance * mean * _RESPONSE
        beta = np.linalg.solve(a, b)
        if n <= K:
            return beta, a, PRIOR_NOISE_VAR
        sse = yty - 2 * beta @ xty_v + beta @ xtx_m @ beta
        return beta, a, max(float(sse) / (n - K), 1e-6)

    _, _, noise = fit(PRIOR_NOISE_VAR)
    beta, a, noise = fit(noise)  # second pass: prior weighed against the data's noise
    cov = noise * np.linalg.inv(a)
    for shared in (beta, cov):  # every caller with the same statistics gets these arrays
        shared.setflags(write=False)
    return beta, cov


def prior_key(category: str) -> tuple[str, str]:
    """A category's pooled elasticity's key in a store shared with SKU states (keyed by bare
    `sku_id`)."""
    return ("category-prior", category)


class CategoryPriors:
    """Pooled own-price elasticity per category: a running mean of its SKUs' confident estimates.

    It only sets the prior of SKUs that appear later (the prior is fixed into each SKU's state
    when its catalog record first arrives), so a SKU's estimates never depend on when its
    neighbours are processed after that. Memory is one entry per category.

    `store` is a dict in-process; in the worker, the `sku-state` table as the SKU agent's batch
    sees it, as for restock's `CyclePool`: each partition pools its own SKUs, in their input
    order, and its means are changelogged with them, so a restarted worker or one that takes the
    partition over seeds new SKUs as the partition's old owner would have.
    """

    def __init__(
        self,
        store: KeyValueStore | None = None,
        max_stderr: float = 0.5,
        min_updates: int = 20,
        rate: float = 0.05,
    ) -> None:
        self.store: KeyValueStore = {} if store is None else store
        self.max_stderr, self.min_updates, self.rate = max_stderr, min_updates, rate

    def pooled(self, category: str) -> tuple[float, int]:
        """The category's running mean and how many estimates it has pooled."""
        stored = self.store.get(prior_key(category))
        return (PRIOR_ELASTICITY, 0) if stored is None else (stored[0], int(stored[1]))

    def update(self, category: str, estimate: float, stderr: float) -> None:
        """Fold in one SKU's current estimate if it is confident enough."""
        if not stderr <= self.max_stderr or not math.isfinite(estimate):
            return
        mean, count = self.pooled(category)
        if count == 0:
            mean = estimate
        self.store[prior_key(category)] = [
            mean + max(self.rate, 1 / (count + 1)) * (estimate - mean),
            count + 1,
        ]

    def prior(self, category: str) -> float:
        """The category's pooled elasticity, or the meta-analysis mean until it has enough data."""
        mean, count = self.pooled(category)
        return mean if count >= self.min_updates else PRIOR_ELASTICITY
