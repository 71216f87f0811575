import itertools

import pytest

from .kubelet import Kubelet
from .render import render
from .services import Moto, Postgres

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres():
    server = Postgres().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto():
    server = Moto().start()
    yield server
    server.stop()


@pytest.fixture
def kubelet(tmp_path):
    return Kubelet(tmp_path)


@pytest.fixture
def app(tmp_path, moto, postgres):
    """The component rendered against a fresh, empty database whose role has the generated
    password, as a DBA would set it up for an existing server."""

    def make(**overrides):
        name = f"shop_{next(_databases)}"
        rendered = render(tmp_path, moto, postgres.port, name, **overrides)
        postgres.create_database(name, name, rendered.password)
        return rendered

    return make
