"""`user_rng`: with a seed, the n-th user started draws the same values in every run."""

from __future__ import annotations

from loadgen.base_user import reset_catalog, user_rng


def _draws(seed: int | None, worker_index: int = 0) -> list[list[int]]:
    """Three users' first draws, from a test's start."""
    reset_catalog()
    return [
        [rng.randint(1, 10**9) for _ in range(3)]
        for rng in (user_rng(seed, worker_index) for _ in range(3))
    ]


def test_a_seed_repeats_each_users_draws_from_the_tests_start():
    first = _draws(7)
    assert _draws(7) == first
    assert len({tuple(user) for user in first}) == 3  # users differ from one another
    assert _draws(8) != first
    assert _draws(7, worker_index=1) != first  # distributed workers do not repeat each other


def test_without_a_seed_every_run_draws_afresh():
    assert _draws(None) != _draws(None)
