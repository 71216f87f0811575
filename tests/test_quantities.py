from fractions import Fraction

import pytest

from pulumi_djangoapp.settings.quantities import QuantityError, format_quantity, parse_quantity


@pytest.mark.parametrize(
    "text, expected",
    [
        ("250m", Fraction(1, 4)),
        ("1", Fraction(1)),
        ("1.5", Fraction(3, 2)),
        ("128Mi", Fraction(128 * 1024 * 1024)),
        ("1G", Fraction(10**9)),
        ("2e3", Fraction(2000)),
        ("100n", Fraction(1, 10**7)),
        (".5Gi", Fraction(2**29)),
        (3, Fraction(3)),
    ],
)
def test_quantity_strings_parse_to_exact_amounts(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "12XB", "Mi", "1 Gi", True, None, 1.5])
def test_malformed_quantities_cannot_be_parsed(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


@pytest.mark.parametrize(
    "amount, resource, expected",
    [
        (Fraction(7, 20), "cpu", "350m"),
        (Fraction(2), "cpu", "2"),
        (Fraction(320 * 2**20), "memory", "320Mi"),
        (Fraction(3 * 2**30), "memory", "3Gi"),
        (Fraction(1500 * 10**6), "memory", "1500M"),
        (Fraction(1001), "memory", "1001"),
        (Fraction(0), "memory", "0"),
    ],
)
def test_amounts_format_as_people_write_them(amount, resource, expected):
    assert format_quantity(amount, resource) == expected


def test_formatting_round_trips_through_parsing():
    for text in ["350m", "320Mi", "2", "1500M", "64Ki"]:
        resource = "cpu" if text.endswith("m") or text.isdigit() else "memory"
        assert parse_quantity(format_quantity(parse_quantity(text), resource)) == parse_quantity(
            text
        )


@pytest.mark.parametrize(
    "amount, expected",
    [
        (Fraction(1, 10**6), "1u"),  # finer than milli, exact in micro
        (Fraction(5, 10**9), "5n"),
        (Fraction(1, 3 * 10**9), "1n"),  # finer than nano: rounded up, never down to nothing
        (Fraction(2, 3), "666666667n"),  # a third of a core's double, rounded up at the last digit
    ],
)
def test_fractions_below_a_milli_unit_keep_their_suffix_or_round_up(amount, expected):
    assert format_quantity(amount, "cpu") == expected
    assert parse_quantity(expected) >= amount


# k8s.io/apimachinery resource.Quantity: binary suffixes are powers of 2**10, decimal SI
# suffixes powers of 10**3 (n, u and m below one).
KUBERNETES_SUFFIXES = {
    "n": Fraction(1, 1_000_000_000), "u": Fraction(1, 1_000_000), "m": Fraction(1, 1000), "k": 1000,
    "M": 1000**2, "G": 1000**3, "T": 1000**4, "P": 1000**5, "E": 1000**6,
    "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "Pi": 1024**5, "Ei": 1024**6,
}  # fmt: skip


@pytest.mark.parametrize("suffix", sorted(KUBERNETES_SUFFIXES))
def test_every_suffix_has_the_value_kubernetes_gives_it(suffix):
    assert parse_quantity(f"3{suffix}") == 3 * KUBERNETES_SUFFIXES[suffix]


@pytest.mark.parametrize(
    "value, expected",
    [
        (3 * 1024**6, "3Ei"), (3 * 1024**5, "3Pi"), (3 * 1024**4, "3Ti"), (3 * 1024**3, "3Gi"),
        (3 * 1024**2, "3Mi"), (3 * 1024, "3Ki"),
        # Not a multiple of 1024: the largest decimal suffix that divides it.
        (3 * 1000**3, "3G"), (3 * 1000**2, "3M"), (3 * 1000, "3k"), (1001, "1001"),
        # 1000**4 is a multiple of 1024: the binary suffix wins.
        (1000**4, "976562500Ki"),
    ],
)  # fmt: skip
def test_memory_is_written_with_the_largest_suffix_that_divides_it(value, expected):
    assert format_quantity(Fraction(value), "memory") == expected


def test_cpu_is_never_written_with_a_binary_suffix():
    assert format_quantity(Fraction(2048), "cpu") == "2048"
    assert format_quantity(Fraction(2048), "memory") == "2Ki"


@pytest.mark.parametrize(
    "value, message",
    [
        (True, "True is not a quantity"),
        ([1], "[1] is not a quantity string"),
        ("ten", "'ten' is not a quantity"),
        ("", "'' is not a quantity"),
    ],
)
def test_a_bad_quantity_is_named_in_the_error(value, message):
    with pytest.raises(QuantityError) as caught:
        parse_quantity(value)
    assert str(caught.value) == message
