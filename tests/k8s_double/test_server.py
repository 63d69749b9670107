"""The double over HTTP with lightkube's client: field selectors on lists and watches."""

from __future__ import annotations

import asyncio

import pytest
from lightkube import ApiError

from bgplb.adapters.k8s_watch import namespaced_resource
from tests.k8s_double.helpers import serving
from tests.k8s_double.store import KIND_BY_PATH

SECRET = namespaced_resource("", "v1", "Secret", "secrets")
SECRETS = KIND_BY_PATH[("", "secrets")]


async def test_list_and_watch_honour_a_field_selector_on_the_name() -> None:
    async with serving() as (api, client):
        for ns, name in (("a", "auth"), ("a", "other"), ("b", "auth")):
            api.seed("Secret", "secrets", {"metadata": {"name": name, "namespace": ns}, "data": {}})
        listing = client.list(SECRET, namespace="a", fields={"metadata.name": "auth"})
        listed = [dict(obj)["metadata"]["name"] async for obj in listing]
        assert listed == ["auth"]
        stream = client.watch(
            SECRET, namespace="a", fields={"metadata.name": "auth"}, resource_version=listing.resourceVersion
        )
        try:
            api.store.patch(SECRETS, "a", "other", {"data": {"x": "eA=="}})  # not selected
            api.store.patch(SECRETS, "b", "auth", {"data": {"x": "eA=="}})  # another namespace
            api.store.patch(SECRETS, "a", "auth", {"data": {"x": "eQ=="}})
            async with asyncio.timeout(5):
                event, obj = await anext(aiter(stream))
            assert event == "MODIFIED"
            assert (obj["metadata"]["namespace"], obj["metadata"]["name"]) == ("a", "auth")
            assert obj["data"] == {"x": "eQ=="}
        finally:
            await stream.aclose()  # type: ignore[attr-defined]


async def test_unsupported_field_is_a_bad_request() -> None:
    async with serving() as (_api, client):
        with pytest.raises(ApiError) as raised:
            _ = [obj async for obj in client.list(SECRET, namespace="a", fields={"type": "Opaque"})]
        assert raised.value.status.code == 400
