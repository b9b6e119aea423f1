"""Property tests of the live API against its own OpenAPI document, with schemathesis.

Every documented operation is called with generated requests, both ones that fit the
document and ones that do not, by a client holding every scope, with real submission
references mixed in; schemathesis checks each answer against the document (status
codes, content types, bodies, headers) and that none is a server error.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from tests.api.conftest import CHILD_ALLOWANCE, EVERY_SCOPE, bearer

EXAMPLES_PER_MODE = 10  # positive and negative: 20 requests per operation


def _exercise(operation, mode: GenerationMode, token: str, references: list[str]) -> None:
    """Call one operation with generated requests of one mode and check every answer."""

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case, data):
        # Real references only where the path fits the document: in a path made not to
        # fit, a real reference could mend what was broken on purpose.
        path = case.meta.components.get(ParameterLocation.PATH)
        path_fits = path is not None and path.mode is GenerationMode.POSITIVE
        if path_fits and data.draw(st.booleans()):
            case.path_parameters["reference"] = data.draw(st.sampled_from(references))
            if "index" in case.path_parameters and data.draw(st.booleans()):
                case.path_parameters["index"] = 0
        case.call_and_validate(headers=bearer(token))

    check()


def test_every_operation_keeps_to_the_document(child_allowance, filed, issue_client, app):
    token = issue_client(
        departments=["insurance_pension", "ltc_insurance", "child_support"], scopes=EVERY_SCOPE
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Schemathesis leaves out the document it was loaded from.
    assert {operation.label for operation in operations} == {
        "GET /submissions",
        "GET /submissions/{reference}",
        "POST /submissions/{reference}/status",
        "POST /submissions/{reference}/messages",
        "GET /submissions/{reference}/documents/{index}",
    }
    for operation in operations:
        for mode in GenerationMode:
            _exercise(operation, mode, token, [filed.nhi, filed.ltc, CHILD_ALLOWANCE])
