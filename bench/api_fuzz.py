"""The long API fuzz run: schemathesis against the live application, as every role.

    .venv/bin/python bench/api_fuzz.py --examples 200
    .venv/bin/python bench/api_fuzz.py --database-url postgresql://user@host/empty_db

Same harness and checks as tests/integration/crm/test_crm_api_fuzz.py, with many more
generated requests per operation and role. The last line printed is JSON: requests,
server_errors (5xx, /health's designed 503 aside), violations (failed checks).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import FailureGroup

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness lives in tests/

from tests.integration.crm.live_api import ROLES, live_api
from tests.integration.crm.test_crm_api_fuzz import DOCUMENT, EXCLUDED, HEALTH_EXCLUDED

Counts = dict[str, int]


def fuzz(
    operation: Any, base_url: str, role: str, token: str, examples: int, counts: Counts
) -> None:
    """Generated requests to one operation as one role, counted into `counts`."""
    health = operation.path == "/health"
    headers = {"Authorization": f"Bearer {token}"}

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call(base_url=base_url, headers=headers)
        counts["requests"] += 1
        if response.status_code >= 500 and not health:
            counts["server_errors"] += 1
        try:
            case.validate_response(
                response, headers=headers,
                excluded_checks=HEALTH_EXCLUDED if health else EXCLUDED,
                transport_kwargs={"base_url": base_url},
            )  # fmt: skip
        except FailureGroup as failures:
            counts["violations"] += 1
            print(f"{operation.label} as {role}: {failures}", file=sys.stderr)

    run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=200, help="per operation and role")
    parser.add_argument(
        "--database-url", help="an empty database to serve from (default: a new SQLite file)"
    )
    args = parser.parse_args()
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    counts = {"requests": 0, "server_errors": 0, "violations": 0}
    with (
        tempfile.TemporaryDirectory() as tmp,
        live_api(Path(tmp), database_url=args.database_url) as api,
    ):
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]
            for role in ROLES:
                fuzz(operation, api.base_url, role, api.tokens[role], args.examples, counts)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
