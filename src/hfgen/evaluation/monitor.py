"""The collapse monitor: alarms when evaluation metrics show mode collapse or degradation in training."""

from __future__ import annotations

import logging
import math
from typing import Any

__all__ = ["CollapseMonitor"]

logger = logging.getLogger("hfgen.training")


# signal (metric key) -> (direction: +1 when higher is better, human name)
_SIGNALS = {
    "classes_covered": (+1, "class coverage"),
    "modes": (+1, "mode coverage"),
    "recall": (+1, "recall"),
    "fid": (-1, "FID"),
}


def _flat_metrics(metrics: dict) -> dict:
    if isinstance(metrics, dict) and isinstance(metrics.get("metrics"), dict):
        return metrics["metrics"]
    return metrics


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class CollapseMonitor:
    """Raises alarms when evaluation metrics show mode collapse or degradation during training.

    Each :meth:`update` compares the metrics with their best values so far and alarms when

    * class coverage (``classes_covered``; ``modes`` for the 2-D mixtures) fell by ``>= coverage_drop``;
    * ``recall`` fell by ``>= recall_drop`` (absolute);
    * ``fid`` rose more than ``fid_rise`` (a fraction: 0.5 = +50%) above its best -- or above
      ``fid_floor`` when that is larger (a non-finite FID always counts as a rise);

    for ``patience`` consecutive updates; and once per signal when coverage *stays* low: the best
    ``modes`` (of ``num_modes``) or ``classes_covered`` (of ``num_classes``) so far is below
    ``low_coverage`` (a fraction: half) after ``low_after`` of training (a third of ``total_steps``;
    without ``total_steps``, from the ``min_evaluations``-th update on). A run that never covered
    anything has nothing to "fall" from: the drop alarm alone would stay silent. Alarms are returned and logged as warnings on the
    ``hfgen.training`` logger. The monitor also tracks ``best_fid`` and ``best_step`` (see
    :meth:`is_best`), and its state is a plain JSON-able dict (:meth:`state_dict`).

    Near the real-vs-real floor FID is mostly sampling noise: for digits at 2000 samples, real
    images drawn again score anywhere between 0.3 and 1.0, a "rise" of 240%. Pass
    ``fid_floor=evaluator.floors()["real_vs_real"]["metrics"]["fid"]`` so that rises are measured
    from ``max(best_fid, fid_floor)`` and such noise does not raise alarms.
    """

    def __init__(
        self,
        fid_rise: float = 0.5,
        coverage_drop: int = 2,
        recall_drop: float = 0.25,
        patience: int = 1,
        fid_floor: float | None = None,
        total_steps: int | None = None,
        low_coverage: float = 0.5,
        low_after: float = 1.0 / 3.0,
        min_evaluations: int = 3,
        num_classes: int = 10,
    ):
        if not fid_rise > 0:
            raise ValueError(f"fid_rise must be > 0, got {fid_rise}")
        if int(coverage_drop) < 1:
            raise ValueError(f"coverage_drop must be >= 1, got {coverage_drop}")
        if not 0 < recall_drop <= 1:
            raise ValueError(f"recall_drop must lie in (0, 1], got {recall_drop}")
        if int(patience) < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.fid_rise = float(fid_rise)
        self.coverage_drop = int(coverage_drop)
        self.recall_drop = float(recall_drop)
        self.patience = int(patience)
        if fid_floor is not None and not (math.isfinite(float(fid_floor)) and float(fid_floor) >= 0):
            raise ValueError(f"fid_floor must be a finite number >= 0, got {fid_floor}")
        self.fid_floor = None if fid_floor is None else float(fid_floor)
        if not 0 < low_coverage <= 1 or not 0 <= low_after <= 1:
            raise ValueError(f"low_coverage must lie in (0, 1] and low_after in [0, 1], got {low_coverage}, {low_after}")
        if total_steps is not None and int(total_steps) < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        self.total_steps = None if total_steps is None else int(total_steps)
        self.low_coverage = float(low_coverage)
        self.low_after = float(low_after)
        self.min_evaluations = int(min_evaluations)
        # The shipped digit classifiers (the only source of `classes_covered`) have 10 classes.
        self.num_classes = int(num_classes)
        self.evaluations = 0
        self.low_warned: list[str] = []
        self.best: dict[str, dict[str, float | int]] = {}  # signal -> {"value", "step"}
        self.strikes: dict[str, int] = {}
        self.best_fid: float | None = None
        self.best_step: int | None = None
        self._best_score: list | None = None  # [kind, values...]
        self.alarms: list[dict] = []

    # -- scoring ------------------------------------------------------------------------------

    @staticmethod
    def _score(metrics: dict) -> list | None:
        m = _flat_metrics(metrics)
        fid = _finite(m.get("fid"))
        if fid is not None:
            return ["fid", -fid]
        modes, hq = _finite(m.get("modes")), _finite(m.get("high_quality_fraction"))
        if modes is not None:
            return ["modes", modes, hq if hq is not None else 0.0]
        if hq is not None:
            return ["hq", hq]
        return None

    def is_best(self, metrics: dict) -> bool:
        """Whether ``metrics`` are (at least tied with) the best so far: lowest FID, or without FID
        most modes then highest high-quality fraction. Works before or after :meth:`update`."""
        score = self._score(metrics)
        if score is None:
            return False
        if self._best_score is None or self._best_score[0] != score[0]:
            return True
        return score[1:] >= self._best_score[1:]

    def _degraded(self, signal: str, value: float | None) -> tuple[bool, str]:
        best = self.best.get(signal)
        if value is None:
            if signal == "fid" and best is not None:
                return True, f"FID is not finite (best {best['value']:.4g} at step {best['step']})"
            return False, ""
        if best is None:
            return False, ""
        b = float(best["value"])
        if signal in ("classes_covered", "modes"):
            what = "classes" if signal == "classes_covered" else "modes"
            if b - value >= self.coverage_drop:
                return True, (
                    f"{_SIGNALS[signal][1]} fell to {value:g} {what} from its best of {b:g} (step {best['step']}; "
                    f"threshold: a drop of {self.coverage_drop})"
                )
        elif signal == "recall":
            if b - value >= self.recall_drop:
                return True, (
                    f"recall fell to {value:.3f} from its best of {b:.3f} (step {best['step']}; "
                    f"threshold: a drop of {self.recall_drop:g})"
                )
        elif signal == "fid":
            ref = max(b, self.fid_floor or 0.0)
            if value > ref * (1.0 + self.fid_rise):
                rise = f"{100.0 * (value / b - 1.0):.0f}%" if b > 0 else "infinitely"
                floor = f" of max(best, fid_floor={self.fid_floor:.4g})" if self.fid_floor is not None else ""
                return True, (
                    f"FID rose to {value:.4g}, {rise} above its best of {b:.4g} (step {best['step']}; "
                    f"threshold: +{100.0 * self.fid_rise:.0f}%{floor})"
                )
        return False, ""

    def update(self, step: int, metrics: dict) -> list[str]:
        """Record the metrics of ``step`` (a flat dict or an :class:`Evaluator` result); return alarms.

        Each alarm message names the signal (class coverage, mode coverage, recall or FID), the
        current and best values and the threshold; it is also logged with ``logger.warning``.
        """
        m = _flat_metrics(metrics)
        step = int(step)
        messages = []
        for signal, (direction, _) in _SIGNALS.items():
            if signal not in m:
                continue
            value = _finite(m[signal])
            bad, why = self._degraded(signal, value)
            self.strikes[signal] = self.strikes.get(signal, 0) + 1 if bad else 0
            if bad and self.strikes[signal] >= self.patience:
                msg = f"mode-collapse alarm at step {step}: {why}"
                if self.patience > 1:
                    msg += f" for {self.strikes[signal]} evaluations in a row"
                messages.append(msg)
                self.alarms.append({"step": step, "signal": signal, "message": msg})
            if value is not None:
                best = self.best.get(signal)
                if best is None or direction * (value - float(best["value"])) > 0:
                    self.best[signal] = {"value": value, "step": step}
        self.evaluations += 1
        for signal, why in self._stayed_low(step, m):
            msg = f"mode-collapse alarm at step {step}: {why}"
            messages.append(msg)
            self.alarms.append({"step": step, "signal": f"{signal}_low", "message": msg})
        if "fid" in self.best:
            self.best_fid = float(self.best["fid"]["value"])
        score = self._score(m)
        if score is not None and (
            self._best_score is None or self._best_score[0] != score[0] or score[1:] > self._best_score[1:]
        ):
            self._best_score = score
            self.best_step = step
        for msg in messages:
            logger.warning(msg)
        return messages

    def _stayed_low(self, step: int, m: dict) -> list[tuple[str, str]]:
        """(signal, reason) for coverage whose best so far is still below `low_coverage` of the total."""
        if self.total_steps is not None:
            late = step >= self.low_after * self.total_steps
            when = f"after {100 * self.low_after:.0f}% of training (step {step} of {self.total_steps})"
        else:
            late = self.evaluations >= self.min_evaluations
            when = f"after {self.evaluations} evaluations"
        out = []
        for signal, total, what in (("modes", _finite(m.get("num_modes")), "modes"),
                                    ("classes_covered", float(self.num_classes), "classes")):
            best = self.best.get(signal)
            if not late or best is None or not total or signal in self.low_warned:
                continue
            if float(best["value"]) < self.low_coverage * total:
                self.low_warned.append(signal)
                out.append((signal, (
                    f"{_SIGNALS[signal][1]} stayed low: at best {float(best['value']):g} of {total:g} {what} "
                    f"(step {best['step']}), fewer than {100 * self.low_coverage:.0f}%, {when}. The model never covered "
                    "the data: try another recipe (for vector data the default --preset auto) or more training"
                )))
        return out

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Plain JSON-able state (settings, bests, strike counters, alarm history)."""
        return {
            "fid_rise": self.fid_rise,
            "coverage_drop": self.coverage_drop,
            "recall_drop": self.recall_drop,
            "patience": self.patience,
            "fid_floor": self.fid_floor,
            "best": {k: dict(v) for k, v in self.best.items()},
            "strikes": dict(self.strikes),
            "best_fid": self.best_fid,
            "best_step": self.best_step,
            "best_score": None if self._best_score is None else list(self._best_score),
            "alarms": [dict(a) for a in self.alarms],
            "total_steps": self.total_steps,
            "low_coverage": self.low_coverage,
            "low_after": self.low_after,
            "min_evaluations": self.min_evaluations,
            "num_classes": self.num_classes,
            "evaluations": self.evaluations,
            "low_warned": list(self.low_warned),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (e.g. after resuming from a checkpoint)."""
        self.fid_rise = float(state.get("fid_rise", self.fid_rise))
        self.coverage_drop = int(state.get("coverage_drop", self.coverage_drop))
        self.recall_drop = float(state.get("recall_drop", self.recall_drop))
        self.patience = int(state.get("patience", self.patience))
        self.fid_floor = state.get("fid_floor", self.fid_floor)
        self.best = {k: dict(v) for k, v in state.get("best", {}).items()}
        self.strikes = {k: int(v) for k, v in state.get("strikes", {}).items()}
        self.best_fid = state.get("best_fid")
        self.best_step = state.get("best_step")
        score = state.get("best_score")
        self._best_score = None if score is None else list(score)
        self.alarms = [dict(a) for a in state.get("alarms", [])]
        self.total_steps = state.get("total_steps", self.total_steps)
        self.low_coverage = float(state.get("low_coverage", self.low_coverage))
        self.low_after = float(state.get("low_after", self.low_after))
        self.min_evaluations = int(state.get("min_evaluations", self.min_evaluations))
        self.num_classes = int(state.get("num_classes", self.num_classes))
        self.evaluations = int(state.get("evaluations", 0))
        self.low_warned = list(state.get("low_warned", []))
