from pathlib import Path

import pytest

from pulumi_djangoapp.settings.checks import (
    Problem,
    ValidationError,
    dns_label_problem,
    image_problem,
)


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/acme/shop:1.4.2",
        "postgres:17.6-bookworm",
        "localhost:5000/team/app:v2",
        "registry.example.com/a/b/c@sha256:" + "a" * 64,
        "acme/shop:latest@sha256:" + "b" * 64,
        "acme/shop@sha512:" + "c" * 128,
    ],
)
def test_pinned_image_references_are_accepted(image):
    assert image_problem(image) is None


@pytest.mark.parametrize(
    "image, reason",
    [
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("ghcr.io/acme/shop", "pinned"),
        ("ghcr.io/acme/shop:latest", "latest"),
        ("ghcr.io/acme/shop:LATEST", "latest"),
        ("Upper/Case:1", "not a valid"),
        ("shop:1 .2", "not a valid"),
        ("shop@sha256:short", "64 lower-case hex"),
        ("shop@sha512:" + "c" * 127, "128 lower-case hex"),
        ("shop@sha512:" + "c" * 129, "128 lower-case hex"),
        ("shop@md5:" + "c" * 32, "sha256, sha512"),
        (42, "non-empty"),
    ],
)
def test_unpinned_or_malformed_images_are_refused_with_a_reason(image, reason):
    assert reason in image_problem(image)


def test_dns_labels_accept_lowercase_names_and_refuse_the_rest():
    assert dns_label_problem("shop-web") is None
    assert dns_label_problem("Shop") is not None
    assert dns_label_problem("-shop") is not None
    assert dns_label_problem("a" * 64) is not None
    assert dns_label_problem("a" * 10, max_length=9) is not None


def test_validation_error_lists_every_problem_with_field_value_and_rule():
    error = ValidationError(
        "DjangoApp 'x'", [Problem("replicas", 0, "must be >= 1"), Problem("port", 0, "1-65535")]
    )
    text = str(error)
    assert "2 invalid arguments" in text
    assert "replicas = 0: must be >= 1" in text
    assert "port = 0: 1-65535" in text


def test_a_storage_class_name_valid_only_as_a_prefix_is_refused():
    from pulumi_djangoapp.settings.checks import Problems, storage_problems

    for name, refused in (
        ("fast-gp3", False),
        ("fast-", True),
        ("fast.gp3", False),
        ("-fast", True),
    ):
        problems = Problems()
        storage_problems(problems, "database", "10Gi", name, "10Gi")
        assert bool(problems.items) is refused, name


# --- What the user reads: each message names the field, the value as given, what is allowed --

from typing import NotRequired, TypedDict  # noqa: E402

from pulumi_djangoapp.settings.checks import Problems, given_args, storage_problems, unknown_keys  # noqa: E402


def test_a_problem_shows_values_as_a_stack_file_spells_them():
    assert str(Problem("protect_data", True, "must be x")) == "protect_data = true: must be x"
    assert str(Problem("protect_data", False, "must be x")) == "protect_data = false: must be x"
    assert str(Problem("image", None, "is required")) == "image is empty: is required"
    assert (
        str(Problem("replicas", "two", "must be an integer"))
        == "replicas = 'two': must be an integer"
    )


def test_a_validation_error_counts_its_problems_and_keeps_its_subject():
    one = ValidationError("DjangoApp 'shop'", [Problem("a", 1, "x")])
    assert str(one) == "DjangoApp 'shop': 1 invalid argument:\n  - a = 1: x"
    two = ValidationError("DjangoApp 'shop'", [Problem("a", 1, "x"), Problem("b", 2, "y")])
    assert str(two) == "DjangoApp 'shop': 2 invalid arguments:\n  - a = 1: x\n  - b = 2: y"
    assert two.subject == "DjangoApp 'shop'" and [p.field for p in two.problems] == ["a", "b"]
    problems = Problems()
    problems.add("a", 1, "x")
    with pytest.raises(ValidationError) as caught:
        problems.raise_if_any("stack config of project 'p'")
    assert caught.value.subject == "stack config of project 'p'"
    Problems().raise_if_any("nothing to raise")


def test_image_problems_say_why_in_words_a_user_can_act_on():
    assert (
        image_problem("") == "must be a non-empty image reference such as 'ghcr.io/acme/shop:1.4.2'"
    )
    assert (
        image_problem("Upper/Case:1")
        == "is not a valid image reference ([registry/]path[:tag][@sha256:digest])"
    )
    assert (
        image_problem("ghcr.io/acme/shop")
        == "must be pinned with a tag or a digest (an untagged image means ':latest')"
    )
    assert (
        image_problem("ghcr.io/acme/shop:latest")
        == "must not use ':latest'; pin a version tag or a digest so every pod runs the same code"
    )


def test_a_dns_label_problem_states_the_rule():
    assert dns_label_problem("Shop", 40) == (
        "must be a DNS-1123 label: at most 40 characters of lower-case letters, digits and '-', "
        "starting and ending with a letter or digit"
    )


class AppleArgs(TypedDict):
    size: NotRequired[int]


class PearArgs(TypedDict):
    size: NotRequired[int]


def test_an_args_mapping_of_the_wrong_shape_is_named_with_its_type_and_article():
    problems = Problems()
    assert given_args(problems, ["x"], AppleArgs, "apple") is None
    assert given_args(problems, "x", PearArgs, "pear") is None
    assert [str(p) for p in problems.items] == [
        "apple = ['x']: must be an AppleArgs mapping",
        "pear = 'x': must be a PearArgs mapping",
    ]


def test_given_args_drop_unset_values_and_name_unknown_keys_under_their_field():
    problems = Problems()
    assert given_args(problems, None, PearArgs, "pear") is None
    assert given_args(problems, {"size": None, "colour": "green"}, PearArgs, "pear") == {
        "colour": "green"
    }
    assert [str(p) for p in problems.items] == [
        "pear.colour = 'green': is not a known argument; known: size"
    ]


class TwoArgs(TypedDict):
    b: int
    a: int


def test_unknown_keys_lists_every_known_key_in_order():
    problems = Problems()
    unknown_keys(problems, {"x": 1, "a": 2}, TwoArgs, "p.")
    assert [str(p) for p in problems.items] == ["p.x = 1: is not a known argument; known: a, b"]


def test_storage_sizes_must_be_whole_positive_bytes_and_the_message_shows_the_value_given():
    for size, refused in (
        ("1", False),
        ("10Gi", False),
        ("0", True),
        ("0.5", True),
        ("1.5", True),
        ("ten", True),
    ):
        problems = Problems()
        storage_problems(problems, "database", size, None, "10Gi")
        assert bool(problems.items) is refused, size
        if refused:
            assert (
                str(problems.items[0])
                == f"database.storage_size = {size!r}: must be a positive whole-byte quantity such as '10Gi'"
            )
    problems = Problems()
    storage_problems(problems, "broker", "1Gi", "Fast_SSD", "1Gi")
    assert [str(p) for p in problems.items] == [
        "broker.storage_class = 'Fast_SSD': must be a StorageClass name (DNS-1123 subdomain)"
    ]


def test_unknown_top_level_keys_are_named_bare():
    problems = Problems()
    unknown_keys(problems, {"replica": 2}, TwoArgs)
    assert [p.field for p in problems.items] == ["replica"]


def test_a_non_boolean_flag_is_one_problem_and_the_field_keeps_its_default():
    from pulumi_djangoapp.settings.checks import Problems, checked_bool

    problems = Problems()
    assert checked_bool(problems, "broker.persistence", "yes", True) is True
    assert checked_bool(problems, "protect_data", 1, False) is False
    assert [(p.field, p.value, p.allowed) for p in problems.items] == [
        ("broker.persistence", "yes", "must be true or false"),
        ("protect_data", 1, "must be true or false"),
    ]


def test_a_boolean_flag_cannot_be_replaced_by_its_default():
    from pulumi_djangoapp.settings.checks import Problems, checked_bool

    problems = Problems()
    assert checked_bool(problems, "protect_data", True, False) is True and problems.items == []


def test_the_boolean_check_is_written_once():
    root = Path(__file__).resolve().parents[1] / "components" / "pulumi_djangoapp" / "settings"
    assert [
        p.name for p in sorted(root.glob("*.py")) if "must be true or false" in p.read_text()
    ] == ["checks.py"]
