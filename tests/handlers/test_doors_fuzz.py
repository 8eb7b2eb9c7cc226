"""Issue 14 acceptance: generated requests against the web-chat API, /tra-cuu and the Open311
endpoints (hypothesis) through real HTTP on 127.0.0.1 and a real database. Never a 500; every
JSON answer strict (no Infinity/NaN), every XML answer well-formed.

The slow test sends at least 10,000 requests; the fast one a few hundred of the same kinds."""

from __future__ import annotations

import json
import re
from collections import Counter
from xml.etree import ElementTree as ET

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.interop.api_keys import create_api_key
from storage.engine import write_session
from testkit.web_server import ServerThread
from testkit.web_driver import with_doors, with_portal

CSRF_RE = re.compile(r'name="csrf-token" content="([0-9a-f]+)"')
ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
NUMBERS = st.one_of(st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, 90, 180, -90, 999]))
JSON_VALUES = st.recursive(st.none() | st.booleans() | NUMBERS | ANY_TEXT,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
                           max_leaves=12)
CLIENT_IDS = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{8,40}", fullmatch=True), JSON_VALUES)
MESSAGES = st.fixed_dictionaries({}, optional={
    "client_id": CLIENT_IDS, "text": st.one_of(ANY_TEXT, JSON_VALUES, st.sampled_from(["/start", "/tracuu XG-2026-1 123456"])),
    "payload": st.one_of(ANY_TEXT, JSON_VALUES),
    "location": st.one_of(st.fixed_dictionaries({"latitude": NUMBERS, "longitude": NUMBERS}), JSON_VALUES)})
SEND_BODIES = st.one_of(MESSAGES.map(lambda d: json.dumps(d).encode()), JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                        st.binary(max_size=60), st.sampled_from([b"", b"{", b"[1,2]", b'"x"', b"null", b"NaN",
                                                                 b'{"client_id":"abcdefgh12","location":{"latitude":Infinity,"longitude":1}}']))
QUERY_KEYS = st.sampled_from(["jurisdiction_id", "service_request_id", "service_code", "start_date", "end_date",
                              "status", "after", "embed", "x"])
QUERIES = st.dictionaries(QUERY_KEYS, st.one_of(ANY_TEXT, st.integers().map(str), st.just("9" * 5000)), max_size=4)
FORM_KEYS = st.sampled_from(["api_key", "service_code", "description", "lat", "long", "attribute[type]",
                             "attribute[hamlet]", "address_string", "first_name", "last_name", "phone",
                             "jurisdiction_id", "code", "pin", "csrf"])
FORMS = st.dictionaries(FORM_KEYS, st.one_of(ANY_TEXT, NUMBERS.map(str), st.just("9" * 5000),
                                             st.sampled_from(["ha_tang", "phan_anh", "0", "Infinity", "nan"])),
                        max_size=8)
FMT = st.sampled_from(["json", "xml"])


@st.composite
def requests_(draw) -> tuple[str, str, dict]:  # noqa: ANN001 - hypothesis draw
    """(method, path, requests kwargs) of one generated request."""
    kind = draw(st.sampled_from(["send", "send", "send", "messages", "upload", "end", "lookup", "lookup_form",
                                 "o_get", "o_get", "o_one", "o_post", "o_post"]))
    csrf = draw(st.sampled_from(["good", "good", "good", "none", "bad"]))
    headers = {}
    if draw(st.booleans()):
        headers["X-Forwarded-For"] = draw(st.sampled_from(["198.51.100.7", "junk", "1.2.3.4, 127.0.0.1", ""]))
    if kind == "send":
        headers["Content-Type"] = draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
        return "POST", "/chat/api/send", {"data": draw(SEND_BODIES), "headers": headers, "csrf": csrf}
    if kind == "messages":
        return "GET", "/chat/api/messages", {"params": {"after": draw(st.one_of(ANY_TEXT, st.integers().map(str)))},
                                             "headers": headers, "csrf": csrf}
    if kind == "upload":
        files = {"photo": ("a.jpg", draw(st.binary(max_size=200)))} if draw(st.booleans()) else None
        return "POST", "/chat/api/upload", {"files": files, "data": draw(st.dictionaries(
            st.sampled_from(["client_id", "caption"]), ANY_TEXT, max_size=2)) or None, "headers": headers, "csrf": csrf}
    if kind == "end":
        return "POST", "/chat/ket-thuc", {"data": draw(FORMS), "headers": headers, "csrf": csrf}
    if kind == "lookup":
        return "POST", "/tra-cuu", {"data": draw(FORMS), "headers": headers, "csrf": csrf}
    if kind == "lookup_form":
        return "GET", draw(st.sampled_from(["/tra-cuu", "/chat", "/"])), {"params": draw(QUERIES), "headers": headers}
    fmt = draw(FMT)
    if kind == "o_get":
        path = draw(st.sampled_from(["discovery", "services", "requests", "services/ha_tang", "services/khong_co",
                                     "tokens/abc"]))
        return "GET", f"/open311/v2/{path}.{fmt}", {"params": draw(QUERIES), "headers": headers}
    if kind == "o_one":
        ident = draw(st.one_of(st.from_regex(r"[A-Za-z0-9-]{1,80}", fullmatch=True), st.just("XG-2026-000001")))
        return "GET", f"/open311/v2/requests/{ident}.{fmt}", {"headers": headers}
    return "POST", f"/open311/v2/requests.{fmt}", {"data": draw(FORMS), "headers": headers, "key": draw(st.booleans())}


def check_answer(response: requests.Response, method: str, path: str) -> None:
    assert response.status_code != 500 and response.status_code < 600, (method, path, response.status_code,
                                                                        response.text[:300])
    kind = response.headers.get("Content-Type", "")
    if "json" in kind:
        json.loads(response.text, parse_constant=lambda name: pytest.fail(f"{name} in JSON of {path}"))
    elif "xml" in kind:
        ET.fromstring(response.content)


def fuzz(services, examples: int) -> Counter:  # noqa: ANN001
    with_doors(services, messages_per_address_per_hour=10 ** 6, messages_per_address_per_day=10 ** 6,
               uploads_per_address_per_hour=10 ** 6, uploads_per_address_per_day=10 ** 6,
               uploads_per_session_per_day=10 ** 6, petitions_per_address_per_hour=10 ** 6,
               petitions_per_address_per_day=10 ** 6, secret_failures_per_client=10 ** 6)
    with_portal(services, chat_messages_per_minute=10 ** 6, lookup_attempts_per_hour=10 ** 6)
    with write_session(services.engine) as session:
        _, api_key = create_api_key(session, name="fuzz", now=services.clock.now())
    statuses: Counter = Counter()
    with ServerThread(services) as base, requests.Session() as http:
        page = http.get(base + "/chat", timeout=30)
        current = [CSRF_RE.search(page.text).group(1)]     # the session's token (renewed after ket-thuc)

        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(requests_())
        def one(request: tuple[str, str, dict]) -> None:
            method, path, options = request
            options = dict(options)
            choice, csrf = options.pop("csrf", "good"), current[0]
            headers = dict(options.pop("headers", {}))
            if choice == "good":
                headers["X-CSRF-Token"] = csrf
            elif choice == "bad":
                headers["X-CSRF-Token"] = "0" * 64
            if options.pop("key", False):
                options["data"] = {**options["data"], "api_key": api_key}
            if path in ("/tra-cuu", "/chat/ket-thuc") and choice == "good" and isinstance(options.get("data"), dict):
                options["data"] = {**options["data"], "csrf": csrf}
            response = http.request(method, base + path, headers=headers, timeout=60,
                                    allow_redirects=False, **options)
            statuses[response.status_code] += 1
            check_answer(response, method, path)
            if path == "/chat/ket-thuc" and response.status_code == 303:       # a new session, as a browser would
                csrf_page = http.get(base + "/chat", timeout=30)
                current[0] = CSRF_RE.search(csrf_page.text).group(1)

        one()
    return statuses


def test_fuzz_doors_never_500_fast(services):
    statuses = fuzz(services, 300)
    assert sum(statuses.values()) >= 300 and 500 not in statuses


@pytest.mark.slow
def test_fuzz_doors_never_500_ten_thousand(services, capsys):
    statuses = fuzz(services, 10_000)
    with capsys.disabled():
        print(f"\nfuzz of the doors: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) >= 10_000 and 500 not in statuses
