"""The benchmark's round orders (benchmarks.tracking.williams_orders): a Williams design, balanced for
place and for the variant run just before."""

from collections import Counter

import pytest

from benchmarks.tracking import design_rounds, round_orders, williams_orders


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7])
def test_every_variant_at_every_place_and_after_every_other_equally_often(n):
    orders = williams_orders(n)
    assert len(orders) == (n if n % 2 == 0 else 2 * n)
    for order in orders:
        assert sorted(order) == list(range(n))  # each round runs every variant once
    copies = len(orders) // n
    for place in range(n):  # a Latin square (twice over for odd n)
        assert Counter(order[place] for order in orders) == dict.fromkeys(range(n), copies)
    pairs = Counter((a, b) for order in orders for a, b in zip(order, order[1:]))
    assert set(pairs) == {(a, b) for a in range(n) for b in range(n) if a != b}
    assert set(pairs.values()) == {copies}  # carry-over balanced: no variant always after the same one


def test_the_six_variants_of_the_mlp_scenario_in_williams_first_order():
    assert williams_orders(6)[0] == [0, 1, 5, 2, 4, 3]
    assert williams_orders(6)[1] == [1, 2, 0, 3, 5, 4]


def test_one_variant_and_none():
    assert williams_orders(1) == [[0]]
    with pytest.raises(ValueError, match="at least one variant, got n=0"):
        williams_orders(0)


def test_rounds_take_every_order_equally_often_and_no_variant_always_follows_one_across_rounds():
    n = 6
    assert design_rounds(n, 50) == 54 and design_rounds(n, 48) == 48 and design_rounds(5, 1) == 10
    sequence = round_orders(n, 48)
    assert Counter(tuple(o) for o in sequence) == {tuple(o): 8 for o in williams_orders(n)}
    # across rounds: what each round's first variant follows (the round before's last) varies
    follows = Counter((a[-1], b[0]) for a, b in zip(sequence, sequence[1:]))
    for variant in range(n):
        before = {prev for prev, first in follows if first == variant}
        assert len(before) >= 3, (variant, follows)
    assert round_orders(n, 48) == sequence  # (seeded: the same design every run)
    with pytest.raises(ValueError, match="multiple of 6"):
        round_orders(n, 50)
