"""schemathesis, a property-based API fuzzer made by others, over an API's own OpenAPI document on
a real server: the loop shared by the dashboard's and the cloud API's fuzz tests. No tests live here.

Every operation gets `examples` generated requests per generation mode with schemathesis's checks:
no 5xx, every status, header and body as the document says, a request the document forbids
refused; and, through `fingerprint`, nothing stored by a refused write.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

# The suite (and CI) draws the same requests every run, so a red run names a change, not luck;
# POWERGW_FUZZ_EXPLORE=1 draws new ones each run (with POWERGW_FUZZ_EXAMPLES, the way to hunt).
EXPLORE = os.environ.get("POWERGW_FUZZ_EXPLORE") == "1"


def fuzz(
    doc: dict,
    base_url: str,
    headers: dict,
    *,
    examples: int,
    modes: Iterable[GenerationMode] = (GenerationMode.POSITIVE,),
    skip: Iterable[tuple[str, str]] = (),
    excluded_checks: Iterable[Any] = (),
    fingerprint: Callable[[], Any] | None = None,
    path_parameters: dict | None = None,
) -> dict:
    """Every operation of `doc` but those in `skip` ((METHOD, path) pairs), `examples` times per mode.

    `path_parameters` fixes those parameters in half of the requests of an operation that has them
    (a token's own household), so they reach more than the refusal of someone else's. Returns
    {"requests", "operations", "statuses": {status: count}, "failures": {"METHOD path": first failure}}.
    """
    schema = schemathesis.openapi.from_dict(doc)
    modes, skip, excluded = list(modes), set(skip), list(excluded_checks)
    out: dict[str, Any] = {"requests": 0, "operations": 0, "failures": {}, "statuses": {}}
    for result in schema.get_all_operations():
        op = result.ok()
        key = (op.method.upper(), op.path)
        if key in skip:
            continue
        out["operations"] += 1
        # Our headers (the token) are fixed, not generated: a negative case that left out
        # Authorization would get it back from `call` and look like a bad request accepted.
        fixed_headers = dict(headers) or None
        strategies = [op.as_strategy(mode, headers=fixed_headers) for mode in modes]
        fixed = {name: value for name, value in (path_parameters or {}).items() if "{" + name + "}" in op.path}
        if fixed:
            strategies += [op.as_strategy(mode, headers=fixed_headers, path_parameters=fixed) for mode in modes]

        @given(case=st.one_of(strategies))
        @settings(
            max_examples=examples * len(modes),
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=not EXPLORE,
        )
        def run(case, op, key) -> None:
            before = fingerprint() if fingerprint is not None and op.method.upper() != "GET" else None
            try:
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                out["requests"] += 1
                out["statuses"][response.status_code] = out["statuses"].get(response.status_code, 0) + 1
                case.validate_response(response, excluded_checks=excluded, headers=headers)
                if before is not None and response.status_code >= 400:
                    assert fingerprint() == before, f"a refused {key} changed the database"
            except BaseException as err:  # noqa: BLE001 - schemathesis raises an exception group: keep the first per operation
                out["failures"].setdefault(f"{key[0]} {key[1]}", str(err)[:2000])

        run(op=op, key=key)  # this iteration's operation, passed in rather than read from the loop
    return out


def report(out: dict) -> str:
    """The failures of `fuzz`, one block per operation, for an assertion message."""
    return "\n\n".join(f"{k}:\n{v}" for k, v in out["failures"].items())
