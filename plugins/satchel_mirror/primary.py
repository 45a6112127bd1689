"""A mirror on a replica: the primary fetches from upstream and commits; the result arrives by replication.

A replica never commits anything of its own (core refuses it). Whatever the mirror would fetch from
upstream itself, it asks its primary for instead, then waits until it has imported the primary's
serial that holds the answer.
"""

import requests

from satchel.errors import UpstreamError

from satchel_mirror.upstream import page_deadline

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def primary_url(app) -> str | None:
    """The primary's URL when this node is a replica (core's ``app.node_role``), else None."""
    role = app.node_role
    return role.primary_url if role.is_replica else None


def _ask(state, method: str, url: str, timeout: float, what: str, **kwargs) -> requests.Response:
    # the replica's own credentials: the primary lets it read indexes its anonymous callers may not
    headers = {**kwargs.pop("headers", {}), **state.app.node_role.primary_headers()}
    try:
        response = state.session.request(method, url, timeout=timeout, allow_redirects=False, headers=headers,
                                         **kwargs)
    except requests.RequestException as exc:
        state.stats.failure(f"primary unreachable: {type(exc).__name__}")
        state.upstream_down()
        raise UpstreamError(f"the primary could not be reached for {what}") from None
    response.close()
    if response.status_code not in (200, 404):
        if response.status_code >= 500:
            state.upstream_down()
        raise UpstreamError(f"the primary answered {response.status_code} for {what}")
    return response


def catch_up(state, timeout: float, what: str) -> None:
    """Wait until this replica has every serial the primary had committed when asked now.

    A primary's answer carries the serial its request began at, which precedes what that request
    fetched and committed; a request made afterwards sees those commits.
    """
    primary = primary_url(state.app)
    answer = _ask(state, "HEAD", f"{primary}/+api", timeout, what)
    serial = answer.headers.get("X-Devpi-Serial", "")
    if not serial.isdigit() or not state.app.wait_for_serial(int(serial), timeout):
        raise UpstreamError(f"the primary's answer for {what} did not arrive in time")
    state.upstream_up()


def refresh_page(state, stage, project: str) -> None:
    """Have the primary bring ``project``'s page up to date (from upstream when expired there)."""
    _, timeout, _ = state.options(stage)
    deadline = page_deadline(timeout)
    _ask(state, "GET", f"{primary_url(state.app)}/{stage.name}/+simple/{project}/", deadline, project,
         headers={"Accept": SIMPLE_JSON})
    catch_up(state, deadline, project)


def refresh_names(stage) -> None:
    """Have the primary refresh its upstream project list when expired there (it waits for the first)."""
    state = stage.state
    _, timeout, _ = state.options(stage)
    _ask(state, "HEAD", f"{primary_url(state.app)}/{stage.name}/+simple/", max(timeout, 30) + 5,
         "the project list", headers={"Accept": SIMPLE_JSON})
    catch_up(state, page_deadline(timeout), "the project list")
