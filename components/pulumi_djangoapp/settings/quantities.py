"""Kubernetes resource quantities ("250m", "1.5Gi", "2e3") as exact numbers.

Exact arithmetic (``Fraction``) keeps sums such as ``100m + 200m`` free of float error, so the
effective pod resources we report are the ones the scheduler computes.
"""

from __future__ import annotations

import re
from fractions import Fraction

_SUFFIXES: dict[str, Fraction] = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}

# The grammar of k8s.io/apimachinery resource.Quantity: signed decimal number, then an optional
# binary suffix, decimal SI suffix or decimal exponent.
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<exponent>[eE][+-]?[0-9]+)|(?P<suffix>[KMGTPE]i|[numkMGTPE]))?$"
)

_BINARY_DESCENDING = ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki")

# After the binary suffixes: a multiple of 10**12 or more is a multiple of 2**12, so Ki (or a
# larger binary suffix) already took it; T, P and E can never be the answer.
_DECIMAL_DESCENDING = ("G", "M", "k")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(text: object) -> Fraction:
    """Parse a quantity string (or an int) into an exact number of base units."""
    if isinstance(text, bool):
        raise QuantityError(f"{text!r} is not a quantity")
    if isinstance(text, int):
        return Fraction(text)
    if not isinstance(text, str):
        raise QuantityError(f"{text!r} is not a quantity string")
    match = _QUANTITY.match(text.strip())
    if not match or not text.strip():
        raise QuantityError(f"{text!r} is not a quantity")
    number = Fraction(match.group("number"))
    if match.group("exponent"):
        return number * Fraction(10) ** int(match.group("exponent")[1:])
    return number * _SUFFIXES[match.group("suffix") or ""]


def format_quantity(value: Fraction, resource: str) -> str:
    """Format an exact quantity the way a person writes it for ``resource``.

    CPU is written in cores or millicores; everything else in the largest binary suffix that
    divides it exactly (``320Mi``), else a decimal suffix, else a plain integer. Fractions finer
    than a milli-unit round up, as the API server does.
    """
    if value.denominator != 1:
        for suffix, scale in (("m", 10**3), ("u", 10**6), ("n", 10**9)):
            scaled = value * scale
            if scaled.denominator == 1:
                return f"{scaled.numerator}{suffix}"
        return f"{-((-value.numerator * 10**9) // value.denominator)}n"
    whole = value.numerator
    if resource == "cpu" or whole == 0:
        return str(whole)
    for suffix in _BINARY_DESCENDING:
        scale = _SUFFIXES[suffix].numerator
        if whole % scale == 0:
            return f"{whole // scale}{suffix}"
    for suffix in _DECIMAL_DESCENDING:
        scale = _SUFFIXES[suffix].numerator
        if whole % scale == 0:
            return f"{whole // scale}{suffix}"
    return str(whole)
