"""Every sentence of the chapter that states a computed result, and the check that makes it true.

A claim names its page, a fragment of the sentence exactly as a reader sees it, and a test on
the values the page glued when it was executed (myst-nb's `glue`). `tests/test_chapter_claims.py`
checks that each sentence is still on its page and still true of the build's outputs, so a new
seed or library version that breaks a sentence fails with that sentence named.

Add a claim here whenever a page states a comparison, a trend, "explodes", "beats", "no better
than"; put the number in the sentence with `{glue:text}` where there is one.

A claim also says how many random draws its values summarise (`draws`): a sentence that rests on
random numbers is stated over many draws (a count, a median and its range), never of one. The
NumPy experiments run 20 draws on the page, and `tests/test_claims_over_seeds.py` runs them
again on 20 other seeds: every claim with `draws >= NUMPY_DRAWS` must hold there too. The trained
models use the runs the pages already make (five seeds each). `SINGLE_RUN` names the claims that
rest on one trained model: only the learning-rate sweep's account of its own scores, one network
per rate, which the page says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Values = dict[str, object]


@dataclass(frozen=True)
class Claim:
    page: str  # e.g. "03-bptt-and-gradients"
    sentence: str  # a fragment of the sentence as rendered; math as its TeX, without \( \)
    holds: Callable[[Values], bool]
    # random draws (seeds) the values summarise: 0 when nothing random enters (rounding, counts,
    # the data set); 1 for a single trained model
    draws: int = 0


NUMPY_DRAWS = 20  # the BPTT page's NumPy experiments, each over seeds 0 to 19
TRAINED_SEEDS = 5  # the clipping runs, and each sentiment model


BPTT, DEEP, FORECAST, SENTIMENT = (
    "03-bptt-and-gradients",
    "04-deep-and-bidirectional",
    "05-forecasting",
    "06-financial-sentiment",
)


def n(values: Values, name: str) -> float:
    return float(values[name])  # type: ignore[arg-type]


CLAIMS = [
    # --- 02: the simple RNN by hand
    Claim(
        "02-simple-rnn",
        "The difference is float32 rounding: the loop is the layer.",
        lambda v: n(v, "by_hand_difference") < 1e-5,
    ),
    # --- 03: BPTT and gradients
    Claim(
        BPTT,
        "The backward recurrence agrees with finite differences to",
        lambda v: n(v, "bptt_fd_error") < 1e-6,
    ),
    Claim(
        BPTT,
        "own error, from truncation and rounding) and with TensorFlow to",
        lambda v: n(v, "bptt_ad_error") < 1e-12,
    ),
    # truncated BPTT over 20 draws (seeds 0-19)
    Claim(
        BPTT,
        "the truncated gradient is within 1% of the full one from",
        lambda v: n(v, "trunc_k_08_max") <= 20,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "in the median draw): the contributions it drops had vanished already",
        lambda v: n(v, "trunc_k_08_med") <= n(v, "trunc_k_08_max") <= 20,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "a truncation at k = 20 is still",
        lambda v: n(v, "trunc_err_15_k20") > 0.05,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "off in every draw. Truncation is cheap precisely when the network could not have learned",
        lambda v: n(v, "trunc_err_15_k20_min") > 0.01 and n(v, "trunc_k_08_max") <= 20,
        draws=NUMPY_DRAWS,
    ),
    # the norm of dh_t/dh_0 over 20 random draws (seeds 0-19): each sentence holds in every draw
    Claim(
        BPTT,
        "and TensorFlow's Jacobian agree to",
        lambda v: n(v, "jacobian_ad_error") < 1e-10,
    ),
    Claim(
        BPTT,
        r"dies out geometrically: at \rho = 0.8 the tanh norm after 60 steps is",
        lambda v: n(v, "norm_tanh_08_t60_max") < 1e-3 and n(v, "norm_relu_08_t60_max") < 1e-3,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        r"With \tanh the norm decays only slowly, to between",
        lambda v: 1e-3 < n(v, "norm_tanh_10_t60_min") <= n(v, "norm_tanh_10_t60_max") < 1,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "With ReLU it vanishes in every draw: the largest norm at t = 60 is",
        lambda v: n(v, "norm_relu_10_t60_max") < 1e-5,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "so the product shrinks by about",
        lambda v: abs(n(v, "rate_relu_10_med") - 2**-0.5) < 0.05,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "With tanh the norm grows a little in every draw",
        lambda v: n(v, "grew_tanh_12") == 20 and n(v, "norm_tanh_12_t60_max") < 100,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "below 1: the ReLU norm decayed in",
        lambda v: (
            n(v, "decayed_relu_12") >= 15
            and n(v, "norm_relu_12_t60") < 1e-3
            and n(v, "rate_relu_12_med") < 0.9
        ),
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "puts ReLU near the edge",
        lambda v: abs(n(v, "rate_relu_15_med") - 1) < 0.1,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "the ReLU norm grew in",
        lambda v: n(v, "grew_relu_15") + n(v, "decayed_relu_15") == 20,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        r"at this radius the draw, not \rho, decides the direction",
        lambda v: n(v, "grew_relu_15") >= 1 and n(v, "decayed_relu_15") >= 1,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        r"At \rho = 1.5 the tanh norm grows to a median of",
        lambda v: n(v, "norm_tanh_15_t60") > 100,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "the states stay small enough that this root mean square",
        lambda v: (
            1 / 1.5 < n(v, "tanh_15_slope_rms") < 1
            and abs(1.5 * n(v, "tanh_15_slope_rms") - n(v, "rate_tanh_15_med")) < 0.05
        ),
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "and it grew in every one of the 20 draws",
        lambda v: n(v, "grew_tanh_15") == 20 and n(v, "still_growing_tanh_15") == 20,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "less than 1.5, because the slopes are below 1, but above 1",
        lambda v: 1 < n(v, "rate_tanh_15_min") <= n(v, "rate_tanh_15_max") < 1.5,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "Both explode in every draw: at t = 60 the smallest of the 20 norms",
        lambda v: n(v, "norm_tanh_20_t60_min") >= 1e3 and n(v, "norm_relu_20_t60_min") >= 1e3,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "every draw is larger at t = 60 than at t = 30",
        lambda v: n(v, "still_growing_tanh_20") == 20 and n(v, "still_growing_relu_20") == 20,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "Saturation does slow tanh down (its norm is far below the bound",
        lambda v: n(v, "norm_tanh_20_t60_max") < 2.0**60 / 1e6,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "the median ReLU draw changes by",
        lambda v: n(v, "relu_rate_gap") < 0.1,  # relative to rho/sqrt(2)
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "the more units a draw keeps on, the larger its norm at",
        lambda v: n(v, "relu_15_on_norm_corr") > 0.5,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "necessary condition, and its gradient vanishes in the typical draw",
        lambda v: n(v, "norm_relu_12_t60") < 1e-3 and n(v, "decayed_relu_12") >= 15,
        draws=NUMPY_DRAWS,
    ),
    Claim(
        BPTT,
        "times the median gradient norm of the first 20 steps",
        lambda v: n(v, "clip_ratio") > 2,
        draws=TRAINED_SEEDS,
    ),
    Claim(
        BPTT,
        "of the 5 runs diverged: a step with an exploding gradient",
        lambda v: n(v, "clip_diverged_unclipped") >= 3,
        draws=TRAINED_SEEDS,
    ),
    Claim(
        BPTT,
        "With clipping, 0 of 5 diverged",
        lambda v: n(v, "clip_diverged_clipped") == 0,
        draws=TRAINED_SEEDS,
    ),
    Claim(
        BPTT,
        "of the steps: the spikes, and, mostly late in training",
        lambda v: n(v, "clip_share") < 0.15 and n(v, "clip_share_late") > 0.5,
        draws=TRAINED_SEEDS,
    ),
    Claim(
        BPTT,
        "became NaN, in one run after a single update",
        lambda v: n(v, "clip_first_nan") == 1,
        draws=TRAINED_SEEDS,
    ),
    Claim(
        BPTT,
        "Clipping did not prevent the spikes. In",
        lambda v: n(v, "clip_spiked") >= 1 and n(v, "clip_peak_loss_clipped") > 1e3,
        draws=TRAINED_SEEDS,
    ),
    Claim(
        BPTT,
        "higher than any run without clipping reached",
        lambda v: n(v, "clip_peak_loss_clipped") > n(v, "clip_peak_loss_unclipped"),
        draws=TRAINED_SEEDS,
    ),
    # "after each": every clipped run finished, and its last 50 steps are far below its peak
    Claim(
        BPTT,
        "After each, the loss came back down.",
        lambda v: (
            n(v, "clip_diverged_clipped") == 0
            and n(v, "clip_worst_final") < n(v, "clip_peak_loss_clipped") / 1e3
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        BPTT,
        "clipped runs end below the baseline of",
        lambda v: n(v, "clip_below_baseline") == 4,  # "the fifth" is the exception
        draws=TRAINED_SEEDS,
    ),
    Claim(
        BPTT,
        "worse than predicting the mean (without clipping, the same start diverged after a single",
        lambda v: (
            n(v, "clip_worst_final") > n(v, "clip_baseline")
            and n(v, "clip_worst_start") > 10 * n(v, "clip_baseline")
            and n(v, "clip_worst_free_nan") == 1
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        BPTT,
        "below the baseline of",
        lambda v: n(v, "clip_final") < n(v, "clip_baseline"),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        BPTT,
        "but far from zero: a simple RNN remembers the first five numbers",
        lambda v: n(v, "clip_final") > 0.2 * n(v, "clip_baseline"),
        draws=TRAINED_SEEDS,
    ),
    # --- 04: deep and bidirectional
    Claim(
        DEEP,
        "The counts follow the formula of the",
        lambda v: v["params_by_formula"] == v["params_by_keras"],
    ),
    Claim(
        DEEP,
        "The causal layer's output at step 4 does not move at all; the bidirectional",
        lambda v: n(v, "moved_causal") == 0.0 and n(v, "moved_bidirectional") > 1e-3,
    ),
    # --- 05: forecasting
    Claim(
        FORECAST,
        "The moving average is worse than the naive forecast",
        lambda v: n(v, "moving_mae") > n(v, "naive_mae"),
    ),
    Claim(
        FORECAST,
        "The seasonal naive forecast is far worse still",
        lambda v: n(v, "seasonal_mae") > 1.5 * n(v, "moving_mae"),
    ),
    Claim(
        FORECAST,
        "The linear autoregression is the best of the four.",
        lambda v: (
            n(v, "ar_mae") < min(n(v, k) for k in ("naive_mae", "seasonal_mae", "moving_mae"))
        ),
    ),
    Claim(
        FORECAST,
        "times the standard error of one score",
        lambda v: n(v, "lr_spread_in_se") <= 3,
        draws=1,  # the sweep scores one network per rate, and says so
    ),
    Claim(
        FORECAST,
        "is not reliably the best rate, and picking it would be fitting the noise",
        lambda v: n(v, "lr_spread_in_se") <= 3,
        draws=1,  # the sweep scores one network per rate, and says so
    ),
    Claim(
        FORECAST,
        "among the choices whose score is within one standard error of the best",
        lambda v: v["lr_is_smallest_within"] is True,
    ),
    # the stacked RNN on levels, over five seeds (42, 1, 2, 3, 4): initial weights and data order
    Claim(
        FORECAST,
        "beat the naive forecast, the median run by",
        lambda v: n(v, "levels_beat_naive") >= 3 and n(v, "levels_gain_median") > 0,
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "and an expected floor of",
        lambda v: min(n(v, "levels_mae_min"), n(v, "ar_mae")) > n(v, "floor_mae"),
        draws=TRAINED_SEEDS,
    ),
    # "higher in k of the 5 runs": most of them, and none lower by two standard errors
    Claim(
        FORECAST,
        "and the RNN's MAE is higher than this linear model's in",
        lambda v: (
            # "lower by more than two standard errors in none"
            n(v, "levels_se_min") > -2 and n(v, "levels_worse") >= 3
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "is no better than a linear model that sees the same 30 days, and probably worse",
        lambda v: (
            n(v, "levels_se_min") > -2
            and n(v, "levels_worse") >= 4
            and n(v, "levels_minus_ar_median") > 0
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "median run's gap to the linear model",
        lambda v: n(v, "levels_mae_spread") > n(v, "levels_minus_ar_median"),
        draws=TRAINED_SEEDS,
    ),
    # the validation series leaves the range of the training targets, and the RNN does not follow
    Claim(
        FORECAST,
        "of the 361 validation days the series is above every one of them",
        lambda v: (
            n(v, "days_above_train_max") > 0
            and n(v, "days_above_train_max") + n(v, "days_rest") == 361
            and n(v, "days_above_early") + n(v, "days_above_late") == n(v, "days_above_train_max")
            and n(v, "early_span") <= 70
            and n(v, "late_span") <= 10
            and v["validation_max_is_last_day"] is True
            and n(v, "validation_max") > n(v, "train_target_max")
        ),
    ),
    Claim(
        FORECAST,
        "every run falls short of the series there",
        lambda v: (
            n(v, "levels_max_above_max") < n(v, "actual_mean_above")
            and n(v, "levels_max_above_min")
            <= n(v, "rnn_max_above")
            <= n(v, "levels_max_above_max")
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "are all worse than the linear model's",
        lambda v: n(v, "levels_mae_above_min") > n(v, "ar_mae_above"),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "small, and of both signs",
        lambda v: (
            n(v, "levels_rest_min") < 0 < n(v, "levels_rest_max")
            and max(-n(v, "levels_rest_min"), n(v, "levels_rest_max"))
            < (n(v, "levels_mae_above_min") - n(v, "ar_mae_above")) / 2
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "has learned to forecast little beyond the range of the targets it saw",
        lambda v: (
            n(v, "levels_max_above_train")
            < (n(v, "actual_mean_above") - n(v, "train_target_max")) / 2
        ),
        draws=TRAINED_SEEDS,
    ),
    # per day, every run loses more to the linear model above the training range than elsewhere
    Claim(
        FORECAST,
        "The figure shows the first run, and where the RNN's gap comes from.",
        lambda v: n(v, "levels_mae_above_min") - n(v, "ar_mae_above") > n(v, "levels_rest_max"),
        draws=TRAINED_SEEDS,
    ),
    # the remedy: the same RNN, from the same five seeds, on changes from the last value
    Claim(
        FORECAST,
        "the run on changes beats the run on levels from the same seed",
        lambda v: (
            n(v, "changes_beat_levels") >= 4
            and n(v, "changes_mae_spread") < n(v, "levels_mae_spread")
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "The gain is where the levels were the problem",
        lambda v: n(v, "changes_mae_above_max") < n(v, "levels_mae_above_min"),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "gives back a little of what it gains above the range",
        lambda v: (
            n(v, "changes_rest_worse_than_levels") >= 3
            and n(v, "changes_rest_max") < n(v, "ar_mae_above") - n(v, "changes_mae_above_max")
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "all below the linear model's",
        lambda v: n(v, "changes_mae_above_max") < n(v, "ar_mae_above"),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "is above every training target. On the other",
        lambda v: n(v, "changes_max_above_min") > n(v, "train_target_max"),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "but in no run by two standard errors, with either bandwidth",
        lambda v: (
            -2 < min(n(v, "changes_se_min"), n(v, "changes_se_wide_min"))
            and max(n(v, "changes_se_max"), n(v, "changes_se_wide_max")) < 2
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        FORECAST,
        "the RNN does about as well as the linear model, and not clearly better",
        lambda v: (
            -2 < n(v, "changes_se_min")
            and n(v, "changes_se_max") < 2
            and n(v, "changes_mae_max") < n(v, "levels_mae_max")
        ),
        draws=TRAINED_SEEDS,
    ),
    # --- 06: financial sentiment
    Claim(
        SENTIMENT,
        "The early-stopping accuracy peaks after a few epochs and then falls",
        lambda v: n(v, "best_epoch_max") <= 6,
        draws=TRAINED_SEEDS,
    ),
    Claim(
        SENTIMENT,
        "above every one of the 20 recurrent runs",
        lambda v: n(v, "f1_tfidf") > n(v, "f1_best_rnn_run"),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        SENTIMENT,
        "A masked run beat a post-padded one in",
        lambda v: n(v, "wins_mask_post") >= 18 and n(v, "f1_mask_mean") > n(v, "f1_post_mean"),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        SENTIMENT,
        "and its spread across seeds is smaller",
        lambda v: n(v, "f1_mask_sd") < n(v, "f1_post_sd"),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        SENTIMENT,
        "Pre-padding: suggestive, not established.",
        lambda v: (
            n(v, "wins_pre_post") >= 13
            and 0
            < n(v, "f1_pre_mean") - n(v, "f1_post_mean")
            < min(n(v, "f1_pre_sd"), n(v, "f1_post_sd"))
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        SENTIMENT,
        "Bidirectional: no clear difference from the masked one-directional RNN",
        lambda v: (
            abs(n(v, "f1_bi_mean") - n(v, "f1_mask_mean"))
            < max(n(v, "f1_bi_sd"), n(v, "f1_mask_sd"))
        ),
        draws=TRAINED_SEEDS,
    ),
    Claim(
        SENTIMENT,
        "Sign flips are fewer, but not rare",
        lambda v: n(v, "sign_flip_share") < 0.5 and n(v, "negative_as_positive") >= 0.03,
    ),
    # --- 07: from scratch
    Claim(
        "07-rnn-from-scratch",
        "In float64 the two should agree to rounding error",
        lambda v: (
            n(v, "keras_difference_float64") < 1e-12 and n(v, "keras_difference_float32") < 1e-5
        ),
    ),
    Claim(
        "07-rnn-from-scratch",
        "Keras's loop now runs this cell as it runs its own",
        lambda v: n(v, "ewma_difference") < 1e-12,
    ),
]


# the claims that still rest on one trained model: the forecasting page trains its RNN once
SINGLE_RUN = [claim for claim in CLAIMS if claim.draws == 1]


def broken(claims: list[Claim], values: dict[str, Values], texts: dict[str, str]) -> list[str]:
    """Every claim whose sentence is gone from its page, or no longer true of its values."""
    found = []
    for claim in claims:
        text = texts.get(claim.page, "")
        if " ".join(claim.sentence.split()) not in text:
            found.append(f"{claim.page}: sentence not on the page: {claim.sentence!r}")
            continue
        try:
            true = claim.holds(values.get(claim.page, {}))
        except (KeyError, TypeError, ValueError) as error:
            found.append(f"{claim.page}: {claim.sentence!r}: its value is missing ({error!r})")
            continue
        if not true:
            found.append(f"{claim.page}: no longer true: {claim.sentence!r}")
    return found
