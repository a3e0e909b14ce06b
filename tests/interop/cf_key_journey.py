#!/usr/bin/env python3
"""The `calm cf key` journey done with the third-party `cloudfoundry-client` (cf-python-client,
PyPI), for the side-by-side figures in BENCHMARKS.md.

Usage: cf_key_journey.py SIMULATE_JSON ORG SPACE INSTANCE KEY

From a cold start, as a user of that library writes it: discovery and password login
(`CloudFoundryClient(api)`, `init_with_user_credentials`), the org and the space by name, the
instance by name in the space, the key by instance and name, and the key's `/details`. Prints one
JSON line: the HTTP requests sent (counted at the `requests` transport adapter, so every request
of every session, discovery and token included) and the key's client id. Exit 1 when something
is missing.
"""

from __future__ import annotations

import json
import sys

import requests.adapters

SENT: list[str] = []
_send = requests.adapters.HTTPAdapter.send


def _counting_send(self, request, *args, **kwargs):
    SENT.append(f"{request.method} {request.path_url.split('?')[0]}")
    return _send(self, request, *args, **kwargs)


requests.adapters.HTTPAdapter.send = _counting_send

from cloudfoundry_client.client import CloudFoundryClient  # noqa: E402  (after the patch)


def first(pages, what: str) -> dict:
    for item in pages:
        return item
    print(f"not found: {what}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    path, org_name, space_name, instance_name, key_name = sys.argv[1:6]
    with open(path) as f:
        login = json.load(f)["cf_login"]
    client = CloudFoundryClient(login["api_url"].rstrip("/"))
    client.init_with_user_credentials(login["username"], login["password"])
    org = first(client.v3.organizations.list(names=org_name), f"org {org_name}")
    space = first(client.v3.spaces.list(names=space_name, organization_guids=org["guid"]),
                  f"space {space_name}")
    instance = first(client.v3.service_instances.list(names=instance_name,
                                                      space_guids=space["guid"]),
                     f"instance {instance_name}")
    key = first(client.v3.service_credential_bindings.list(
        service_instance_guids=instance["guid"], type="key", names=key_name), f"key {key_name}")
    details = client.v3.service_credential_bindings.get(key["guid"], "details")
    client_id = details["credentials"]["uaa"]["clientid"]
    print(json.dumps({"requests": len(SENT), "sent": SENT, "client_id": client_id}))


if __name__ == "__main__":
    main()
