"""What every collector's network plumbing does with a host that does not exist: fail once, fast, by name."""

import pytest
import requests

from monitor.collectors.http import RetryPolicy, call_with_retries, classify_requests_error, host_not_found
from monitor.errors import CollectorError


def test_an_unknown_host_fails_at_the_first_try_instead_of_retrying():
    session = requests.Session()
    calls = []

    def call():
        calls.append(1)
        return session.get("http://stance-monitor-no-such-host.invalid/", timeout=5)

    slept = []
    policy = RetryPolicy(attempts=5, sleep=slept.append)
    with pytest.raises(CollectorError, match="host not found"):
        call_with_retries(call, policy, classify_requests_error, "GET no-such-host")
    assert calls == [1] and slept == []


def test_a_refused_connection_is_still_retried():
    calls = []

    def call():
        calls.append(1)
        return requests.get("http://127.0.0.1:9/", timeout=5)  # the discard port: nothing listens here

    policy = RetryPolicy(attempts=3, sleep=lambda s: None)
    with pytest.raises(CollectorError, match="gave up after 3 tries"):
        call_with_retries(call, policy, classify_requests_error, "GET closed port")
    assert len(calls) == 3


def test_host_not_found_looks_through_wrapped_causes():
    import socket

    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as inner:
            raise RuntimeError("client library wrapper") from inner
    except RuntimeError as outer:
        assert host_not_found(outer)
    assert not host_not_found(RuntimeError("plain"))
