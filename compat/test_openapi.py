"""The served OpenAPI document is a valid OpenAPI 3.1 document."""

import json
import urllib.request

from openapi_spec_validator import validate


def test_the_document_is_valid_openapi_3_1(roster):
    with urllib.request.urlopen(f"{roster.base}/openapi.json") as r:
        doc = json.loads(r.read())
    assert doc["openapi"] == "3.1.0"
    validate(doc)
