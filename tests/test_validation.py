import pytest

from pulumi_djangoapp.validation import Problem, ValidationError, dns_label_problem, image_problem


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
    error = ValidationError("DjangoApp 'x'", [Problem("replicas", 0, "must be >= 1"), Problem("port", 0, "1-65535")])
    text = str(error)
    assert "2 invalid arguments" in text
    assert "replicas = 0: must be >= 1" in text
    assert "port = 0: 1-65535" in text


def test_a_storage_class_name_valid_only_as_a_prefix_is_refused():
    from pulumi_djangoapp.validation import Problems, storage_problems

    for name, refused in (("fast-gp3", False), ("fast-", True), ("fast.gp3", False), ("-fast", True)):
        problems = Problems()
        storage_problems(problems, "database", "10Gi", name, "10Gi")
        assert bool(problems.items) is refused, name
