"""Plausible wrong answers to each task of the `rnn` assignment, for mutation-testing its tests.

Each mutant is a small edit of the reference solution cell (`old` → `new`, which must occur in
the reference exactly `count` times, so a mutant cannot silently stop applying when the
reference changes), written as a student would get it wrong. A good test suite takes points
off every one of them, on its own task only (the hidden tests), and shows most of them to the
student before grading (the visible tests: `test_visible_tests.py` measures the share).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    grade_id: str  # the solution cell it edits
    name: str  # what the student got wrong
    old: str
    new: str
    count: int = 1

    def apply(self, source: str) -> str:
        found = source.count(self.old)
        if found != self.count:
            raise AssertionError(
                f"mutant {self.name}: {self.old!r} occurs {found} times in {self.grade_id}, "
                f"expected {self.count}; update the mutant to the new reference"
            )
        return source.replace(self.old, self.new)


MUTANTS = [
    # Exercise 1: Jacobian norms
    Mutant(
        "jacobian_norms",
        "relu_slope_at_zero_is_one",
        "(preactivations > 0)",
        "(preactivations >= 0)",
    ),
    Mutant(
        "jacobian_norms",
        "jacobians_multiplied_oldest_first",
        "product = (slope[:, None] * W_hh.T) @ product",
        "product = product @ (slope[:, None] * W_hh.T)",
    ),
    Mutant(
        "jacobian_norms",
        "recurrent_matrix_not_transposed",
        "(slope[:, None] * W_hh.T) @ product",
        "(slope[:, None] * W_hh) @ product",
    ),
    Mutant(
        "jacobian_norms",
        "tanh_slope_from_the_preactivation",
        "1.0 - np.tanh(preactivations) ** 2",
        "1.0 - preactivations**2",
    ),
    Mutant(
        "jacobian_norms",
        "frobenius_instead_of_spectral_norm",
        "np.linalg.norm(product, 2)",
        "np.linalg.norm(product)",
    ),
    Mutant(
        "jacobian_norms",
        "the_bound_instead_of_the_norms",
        "norms[t] = np.linalg.norm(product, 2)",
        "norms[t] = np.linalg.norm(W_hh, 2) ** (t + 1)",
    ),
    Mutant(
        "jacobian_norms",
        "the_norm_of_the_last_jacobian_only",
        "norms[t] = np.linalg.norm(product, 2)",
        "norms[t] = np.linalg.norm(slope[:, None] * W_hh.T, 2)",
    ),
    Mutant(
        "jacobian_norms",
        "any_other_activation_is_tanh",
        'if activation == "tanh":',
        'if activation != "relu":',
    ),
    # Exercise 2a: windows
    Mutant(
        "make_windows",
        "one_window_too_few",
        "n = len(series) - window_size - horizon + 1",
        "n = len(series) - window_size - horizon",
    ),
    Mutant(
        "make_windows",
        "target_one_step_late",
        "series[starts + window_size + horizon - 1]",
        "series[starts + window_size + horizon]",
    ),
    Mutant(
        "make_windows",
        "horizon_ignored",
        "series[starts + window_size + horizon - 1]",
        "series[starts + window_size]",
    ),
    Mutant("make_windows", "no_error_when_no_window_fits", "if n < 1:", "if n < 0:"),
    Mutant(
        "make_windows",
        "windows_do_not_overlap",
        "starts = np.arange(n)",
        "starts = np.arange(0, n, window_size)",
    ),
    Mutant(
        "make_windows",
        "a_window_of_size_zero_is_accepted",
        "if window_size < 1 or horizon < 1:",
        "if horizon < 1:",
    ),
    # Exercise 2b: look-ahead
    Mutant(
        "uses_future",
        "perturbs_step_t_as_well",
        "changed[:, t + 1 :, :]",
        "changed[:, t:, :]",
        count=2,
    ),
    Mutant("uses_future", "compares_the_last_step", "))[:, t]", "))[:, -1]", count=2),
    Mutant(
        "uses_future",
        "replaces_the_future_with_zeros",
        "np.random.default_rng(0).normal(size=changed[:, t + 1 :, :].shape) * 3 + 1",
        "0.0",
    ),
    Mutant(
        "uses_future",
        "the_comparison_reversed",
        "> 1e-6)",
        "< 1e-6)",
    ),
    Mutant(
        "uses_future",
        "returns_the_size_of_the_change",
        "return bool(np.max(np.abs(after - before)) > 1e-6)",
        "return float(np.max(np.abs(after - before)))",
    ),
    Mutant(
        "uses_future",
        "changes_only_the_next_step",
        "changed[:, t + 1 :, :]",
        "changed[:, t + 1 : t + 2, :]",
        count=2,
    ),
    # Exercise 3: clipping
    Mutant(
        "clip_by_global_norm",
        "clips_each_tensor_separately",
        "np.asarray(g, dtype=np.float64) * scale for g in grads",
        "np.asarray(g, dtype=np.float64) * (max_norm / max(np.linalg.norm(g), max_norm)) "
        "for g in grads",
    ),
    Mutant(
        "clip_by_global_norm",
        "always_rescales_to_the_threshold",
        "scale = max_norm / max(global_norm, max_norm)",
        "scale = max_norm / (global_norm + 1e-12)",
    ),
    Mutant(
        "clip_by_global_norm",
        "norm_is_the_sum_of_norms",
        "global_norm = float(np.sqrt(np.sum(squares)))",
        "global_norm = float(np.sum(np.sqrt(squares)))",
    ),
    Mutant(
        "clip_by_global_norm",
        "drops_missing_gradients",
        "None if g is None else np.asarray(g, dtype=np.float64) * scale for g in grads",
        "np.asarray(g, dtype=np.float64) * scale for g in grads if g is not None",
    ),
    Mutant(
        "clip_by_global_norm",
        "scales_the_inputs_in_place",
        "    clipped = [None if g is None else np.asarray(g, dtype=np.float64) * scale "
        "for g in grads]\n",
        "    for g in grads:\n"
        "        if g is not None:\n"
        "            g *= scale\n"
        "    clipped = list(grads)\n",
    ),
    Mutant(
        "clip_by_global_norm",
        "a_threshold_of_zero_is_accepted",
        "if max_norm <= 0:",
        "if max_norm < 0:",
    ),
    Mutant(
        "clip_by_global_norm",
        "returns_the_norm_after_clipping",
        "return clipped, global_norm",
        "return clipped, min(global_norm, max_norm)",
    ),
    # A training step with clipping
    Mutant(
        "train_step_clipped",
        "returns_the_norm_after_clipping",
        "return float(loss), float(global_norm)",
        "return float(loss), float(tf.linalg.global_norm(clipped))",
    ),
    Mutant(
        "train_step_clipped",
        "clips_each_tensor_separately",
        "clipped, global_norm = tf.clip_by_global_norm(grads, max_norm)",
        "clipped = [tf.clip_by_norm(g, max_norm) for g in grads]\n"
        "    global_norm = tf.linalg.global_norm(grads)",
    ),
    Mutant(
        "train_step_clipped",
        "applies_the_unclipped_gradients",
        "zip(clipped, variables, strict=True)",
        "zip(grads, variables, strict=True)",
    ),
    Mutant(
        "train_step_clipped",
        "never_clips_and_returns_a_made_up_norm",
        "clipped, global_norm = tf.clip_by_global_norm(grads, max_norm)",
        "clipped, global_norm = grads, 123.0",
    ),
    Mutant(
        "train_step_clipped",
        "returns_tensors",
        "return float(loss), float(global_norm)",
        "return loss, global_norm",
    ),
    Mutant(
        "train_step_clipped",
        "clips_by_value",
        "clipped, global_norm = tf.clip_by_global_norm(grads, max_norm)",
        "clipped = [tf.clip_by_value(g, -max_norm, max_norm) for g in grads]\n"
        "    global_norm = tf.linalg.global_norm(grads)",
    ),
    # Exercise 4: parameter counts
    Mutant(
        "count_rnn_params",
        "forgets_the_recurrent_bias",
        "fan_in * width + width * width + width",
        "fan_in * width + width * width",
    ),
    Mutant(
        "count_rnn_params",
        "every_layer_reads_the_input",
        "        fan_in = width\n",
        "        fan_in = input_dim\n",
    ),
    Mutant(
        "count_rnn_params",
        "dense_layer_copied_per_step",
        "int(recurrent * (1 if shared else timesteps) + dense)",
        "int((recurrent + dense) * (1 if shared else timesteps))",
    ),
    Mutant(
        "count_rnn_params",
        "units_must_be_a_list",
        "[units] if isinstance(units, (int, np.integer)) else list(units)",
        "list(units)",
    ),
    Mutant(
        "count_rnn_params",
        "returns_a_float",
        "return int(recurrent * (1 if shared else timesteps) + dense)",
        "return float(recurrent * (1 if shared else timesteps) + dense)",
    ),
    Mutant(
        "count_rnn_params",
        "forgets_the_recurrent_weights",
        "fan_in * width + width * width + width",
        "fan_in * width + width",
    ),
    # Forward pass
    Mutant("rnn_forward", "recurrent_kernel_transposed", "h @ W_hh + b", "h @ W_hh.T + b"),
    Mutant("rnn_forward", "forgets_the_bias", "h @ W_hh + b", "h @ W_hh"),
    Mutant("rnn_forward", "ignores_the_initial_state", "h = h0\n", "h = np.zeros_like(h0)\n"),
    Mutant(
        "rnn_forward",
        "stores_the_previous_state",
        "        h = np.tanh(x[:, t] @ W_xh + h @ W_hh + b)\n        H_all[:, t] = h\n",
        "        H_all[:, t] = h\n        h = np.tanh(x[:, t] @ W_xh + h @ W_hh + b)\n",
    ),
    Mutant("rnn_forward", "the_first_input_at_every_step", "x[:, t] @ W_xh", "x[:, 0] @ W_xh"),
    # Backpropagation through time
    Mutant(
        "rnn_backward",
        "bias_gradient_of_the_first_step_only",
        "db += da.sum(axis=0)",
        "db = da.sum(axis=0)",
    ),
    Mutant(
        "rnn_backward",
        "no_gradient_through_time",
        "da = (dH[:, t] + dh_next) * ",
        "da = dH[:, t] * ",
    ),
    Mutant(
        "rnn_backward",
        "current_state_in_the_recurrent_gradient",
        "h_prev = H_all[:, t - 1] if t > 0 else h0",
        "h_prev = H_all[:, t]",
    ),
    Mutant(
        "rnn_backward",
        "tanh_derivative_without_the_square",
        "(1.0 - H_all[:, t] ** 2)",
        "(1.0 - H_all[:, t])",
    ),
    Mutant(
        "rnn_backward",
        "truncated_after_two_steps",
        "dh_next = da @ W_hh.T",
        "dh_next = da @ W_hh.T if t >= x.shape[1] - 2 else np.zeros_like(h0)",
    ),
    Mutant(
        "rnn_backward",
        "returns_a_zero_dh0",
        "return dx, dh_next, dW_xh, dW_hh, db",
        "return dx, np.zeros_like(h0), dW_xh, dW_hh, db",
    ),
    Mutant(
        "rnn_backward",
        "recurrent_weight_gradient_not_summed_over_steps",
        "dW_hh += h_prev.T @ da",
        "dW_hh = h_prev.T @ da",
    ),
    Mutant(
        "rnn_backward",
        "recurrent_matrix_not_transposed_going_back",
        "dh_next = da @ W_hh.T",
        "dh_next = da @ W_hh",
    ),
    # The Keras cell
    Mutant(
        "my_simple_rnn_cell",
        "recurrent_kernel_transposed",
        "keras.ops.matmul(h_prev, self.recurrent_kernel)",
        "keras.ops.matmul(h_prev, keras.ops.transpose(self.recurrent_kernel))",
    ),
    Mutant("my_simple_rnn_cell", "forgets_the_bias", "            + self.bias\n", "\n"),
    Mutant("my_simple_rnn_cell", "relu_instead_of_tanh", "keras.ops.tanh(", "keras.ops.relu("),
    Mutant(
        "my_simple_rnn_cell",
        "bias_created_first",
        "        self.kernel = self.add_weight(",
        "        self.bias = self.add_weight("
        'shape=(self.units,), name="bias", initializer="zeros")\n'
        "        self.kernel = self.add_weight(",
    ),
]
