"""Clients speaking devpi's JSON API, shared by the plugin tests."""

import pytest

from satchel.testing.client import DevpiClient


@pytest.fixture
def client(app):
    return DevpiClient(app)


@pytest.fixture
def alice(client):
    """A client logged in as alice, who owns alice/dev."""
    client.put("/alice", {"password": "secret", "email": "alice@example.org"}, status=201)
    client.login("alice", "secret")
    client.put("/alice/dev", {}, status=200)
    return client
