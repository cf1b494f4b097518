"""The open-data API never answers 500 to what a client sends: any value of rows, start, fq, q,
sort, id, limit, offset (in the query string, or as any JSON value in a POST body) gets a
CKAN-shaped answer, `success` true, or false with an `error.__type`, and a status below 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from starlette.testclient import TestClient

from portal.app import create_app
from portal.client import Identities, NodeClient
from portal_support import publish_all, small_catalog

ACTIONS = ("package_search", "package_show", "package_list", "organization_list", "organization_show", "status_show")
PARAMS = ("rows", "start", "fq", "q", "sort", "id", "limit", "offset", "all_fields", "include_datasets")

# What a client might put in a value: numbers of every shape, fq clauses, dates at the ends of
# the calendar, and any text at all (a URL carries no lone surrogates; a JSON body may).
NUMBERISH = st.one_of(st.integers().map(str), st.floats().map(str), st.sampled_from(
    ["", "-1", "1e9", "9" * 30, "9" * 5000, "0x10", " 5 ", "١٢", "1_000", "NaN", "Infinity"]))
FQ = st.one_of(st.sampled_from([
    "organization:130100005", "owner_org:130100005\n", "metadata_modified:[0001-01-01T00:00:00+14:00 TO *]",
    "metadata_modified:[9999-12-31T23:59:59-14:00 TO *]", "metadata_modified:[* TO *]",
    "metadata_modified:[2024-02-30 TO *]", "-organization:130100005", 'tags:"社保"', "res_format:CSV AND",
    "metadata_modified:[1970-01-01T00:00:00Z TO NOW]", ":", "organization:", "((", "\x00",
]), st.text(max_size=60))
URL_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
QUERY_VALUE = st.one_of(NUMBERISH, FQ, URL_TEXT)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=50), QUERY_VALUE),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from conftest import node_config
    from node.server import Node

    import grpc

    node = Node(node_config(tmp_path_factory.mktemp("fuzz"), "hebei", "provincial", "130000",
                            departments=["130100005", "130000001"])).start()
    channel = grpc.insecure_channel(node.address)
    from conftest import Client

    publish_all(Client(node, channel), small_catalog())
    with TestClient(create_app(NodeClient(node.address, Identities())), raise_server_exceptions=False) as browser:
        yield browser
    channel.close()
    node.stop(0)


def assert_ckan_answer(reply, what):
    assert reply.status_code < 500, f"{what}: {reply.status_code} {reply.text[:300]}"
    body = reply.json()
    if reply.status_code == 200:
        assert body["success"] is True, what
    else:
        assert body["success"] is False and body["error"]["__type"], what


FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                       HealthCheck.function_scoped_fixture])


@FUZZ
@given(action=st.sampled_from(ACTIONS), params=st.dictionaries(st.sampled_from(PARAMS), QUERY_VALUE, max_size=4))
def test_query_strings_never_get_a_500(api, action, params):
    assert_ckan_answer(api.get(f"/api/3/action/{action}", params=params), (action, params))


@FUZZ
@given(action=st.sampled_from(ACTIONS), params=st.dictionaries(st.sampled_from(PARAMS), JSON_VALUE, max_size=4))
def test_json_bodies_never_get_a_500(api, action, params):
    body = json.dumps(params, ensure_ascii=True)  # lone surrogates travel as \ud800 escapes
    reply = api.post(f"/api/3/action/{action}", content=body, headers={"content-type": "application/json"})
    assert_ckan_answer(reply, (action, params))


@pytest.mark.parametrize("body", [b"\xff\xfe", b"[1]", b"{", b'{"rows": 1e400}', b'{"q": "\\ud800"}',
                                  b'{"rows": Infinity}', b'{"fq": ["organization:130100005"]}'])
def test_bodies_a_parser_chokes_on_are_validation_errors(api, body):
    reply = api.post("/api/3/action/package_search", content=body, headers={"content-type": "application/json"})
    assert_ckan_answer(reply, body)


@pytest.mark.parametrize("params", [
    {"fq": "metadata_modified:[0001-01-01T00:00:00+14:00 TO *]"},
    {"fq": "metadata_modified:[9999-12-31T23:59:59-14:00 TO *]"},
    {"fq": "owner_org:130100005\n"},
    {"rows": "9" * 5000}, {"start": "1e3"}, {"q": "\x00"}, {"q": "社" * 5000}, {"id": "130100005-000001\n"},
    {"id": "\u202e130100005-000001"}, {"q": "*:*", "rows": "0"}, {"limit": "-0"}, {"offset": "99999999999999999999"},
])
def test_values_at_the_edges_are_answered_in_ckan_shape(api, params):
    for action in ACTIONS:
        assert_ckan_answer(api.get(f"/api/3/action/{action}", params=params), (action, params))
