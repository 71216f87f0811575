from pulumi_djangoapp.builders.security import (
    container,
    container_security_context,
    pod_security_context,
)


def test_every_built_container_carries_the_restricted_context_and_pull_policy():
    built = container("x", "a:1", "Always", 10001, command=["true"])
    assert built["securityContext"] == container_security_context(10001)
    assert (built["name"], built["image"], built["imagePullPolicy"], built["command"]) == (
        "x",
        "a:1",
        "Always",
        ["true"],
    )


def test_a_caller_cannot_override_the_security_context():
    built = container("x", "a:1", "Always", 10001, securityContext={"privileged": True})
    assert built["securityContext"]["privileged"] is False


def test_pod_context_gives_volumes_to_the_non_root_group():
    ctx = pod_security_context(10999)
    assert ctx["fsGroup"] == ctx["runAsUser"] == 10999 and ctx["runAsNonRoot"] is True
