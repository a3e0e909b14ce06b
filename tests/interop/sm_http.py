#!/usr/bin/env python3
"""Checks the simulator's token server and Service Manager answers the way an external client
would see them, with nothing but Python's standard library (urllib), against
/work/shared/reference/service-manager-api.md.

Starts nothing itself. Usage:

    sm_http.py SIMULATE_JSON      # a file holding what `calm simulate` printed
    sm_http.py -                  # the same on standard input

Prints one line per check ("ok   <check>: <detail>") and exits 1 on the first failure. Exit 2:
bad input.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

TIMEOUT = 15


class CheckFailed(Exception):
    """A check saw something the reference says the Service Manager would not send."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def ok(check: str, detail: str) -> None:
    print(f"ok   {check}: {detail}", flush=True)


class Reply:
    def __init__(self, status: int, headers: Any, raw: bytes):
        self.status = status
        self.headers = headers
        self.raw = raw

    def json(self) -> Any:
        try:
            return json.loads(self.raw.decode("utf-8"))
        except ValueError as exc:
            raise CheckFailed(f"HTTP {self.status}: body is not JSON ({exc}): {self.raw[:200]!r}")


def request(method: str, url: str, *, token: str | None = None, body: Any = None,
            form: dict | None = None, basic: tuple[str, str] | None = None) -> Reply:
    headers = {"Accept": "application/json"}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if basic is not None:
        pair = f"{basic[0]}:{basic[1]}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.headers, err.read())


def sm_error(reply: Reply, status: int, error: str, what: str) -> dict:
    expect(reply.status == status, f"{what}: expected HTTP {status} {error}, got {reply.status}: {reply.raw[:300]!r}")
    body = reply.json()
    expect(isinstance(body, dict) and body.get("error") == error and isinstance(body.get("description"), str),
           f"{what}: expected {{'error': {error!r}, 'description': …}}, got {body!r}")
    return body


def jwt_claims(token: str) -> dict:
    parts = token.split(".")
    expect(len(parts) == 3, "access_token is not a JWT")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def fetch_all(base: str, path: str, token: str, query: str, max_items: int) -> tuple[list, int]:
    """Follows `token` page by page, replacing (never appending) the parameter."""
    items: list = []
    seen_tokens: set[str] = set()
    page_token = None
    total = None
    for _ in range(100):
        params = f"{query}&max_items={max_items}" if query else f"max_items={max_items}"
        if page_token is not None:
            params += f"&token={q(page_token)}"
        reply = request("GET", f"{base}{path}?{params}", token=token)
        expect(reply.status == 200, f"GET {path}: HTTP {reply.status}: {reply.raw[:300]!r}")
        page = reply.json()
        expect(isinstance(page.get("num_items"), int) and isinstance(page.get("items"), list),
               f"GET {path}: page needs num_items and items: {page!r}")
        expect(total is None or page["num_items"] == total, f"GET {path}: num_items changed between pages")
        total = page["num_items"]
        expect(len(page["items"]) <= max_items, f"GET {path}: {len(page['items'])} items for max_items={max_items}")
        items.extend(page["items"])
        page_token = page.get("token")
        link = reply.headers.get("Link")
        if page_token is None:
            expect(link is None, f"GET {path}: Link header on the last page: {link}")
            return items, total
        expect(page_token not in seen_tokens, f"GET {path}: the paging token repeated")
        seen_tokens.add(page_token)
        expect(link is not None and 'rel="next"' in link and "token=" in link,
               f"GET {path}: a page with a token needs Link rel=\"next\", got {link!r}")
    raise CheckFailed(f"GET {path}: more than 100 pages")


def expect_common(kind: str, item: dict) -> None:
    what = f"{kind} {item.get('name', item.get('id'))!r}"
    expect(isinstance(item.get("id"), str) and item["id"], f"{what}: id missing")
    for field in ("created_at", "updated_at"):
        expect(isinstance(item.get(field), str), f"{what}: {field} missing")
    expect(isinstance(item.get("ready"), bool), f"{what}: ready must be a boolean: {item.get('ready')!r}")
    labels = item.get("labels", {})
    expect(isinstance(labels, dict) and all(isinstance(v, list) and all(isinstance(s, str) for s in v)
                                            for v in labels.values()),
           f"{what}: labels must map keys to string arrays: {labels!r}")


def poll_operation(base: str, location: str, token: str, what: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        reply = request("GET", urllib.parse.urljoin(base + "/", location.lstrip("/")), token=token)
        expect(reply.status == 200, f"{what}: GET {location}: HTTP {reply.status}: {reply.raw[:300]!r}")
        op = reply.json()
        state = str(op.get("state", "")).lower()
        expect(state in ("in progress", "succeeded", "failed", "pending"),
               f"{what}: operation state {op.get('state')!r}")
        if state in ("succeeded", "failed"):
            return op
        expect(time.monotonic() < deadline, f"{what}: operation still {state} after 20 s")
        time.sleep(0.1)


def run(sim: dict) -> None:
    base = sim["sm_url"].rstrip("/")
    tenant = next((t for t in sim["tenants"] if t["tier"] != "manual" and t.get("sm_key")), None)
    expect(tenant is not None, "no seeded tenant with a Service Manager key")
    key = tenant["sm_key"]
    expect(set(key) >= {"clientid", "clientsecret", "url", "sm_url", "xsappname"},
           f"SM key fields: {sorted(key)}")
    expect(key["sm_url"].rstrip("/") == base, f"SM key sm_url {key['sm_url']} != {base}")

    # Token: client credentials in the form body (SAP's documented call), then HTTP Basic.
    token_url = key["url"].rstrip("/") + "/oauth/token"
    reply = request("POST", token_url, form={"grant_type": "client_credentials",
                                             "client_id": key["clientid"],
                                             "client_secret": key["clientsecret"]})
    expect(reply.status == 200, f"token (form): HTTP {reply.status}: {reply.raw[:300]!r}")
    answer = reply.json()
    expect(answer.get("token_type", "").lower() == "bearer", f"token: token_type {answer.get('token_type')!r}")
    expect(isinstance(answer.get("expires_in"), int) and answer["expires_in"] > 0,
           f"token: expires_in {answer.get('expires_in')!r}")
    expect(isinstance(answer.get("scope"), str) and "service-manager!" in answer["scope"],
           f"token: scope should be space-separated and name service-manager: {answer.get('scope')!r}")
    expect("refresh_token" not in answer, "token: client credentials get no refresh token")
    claims = jwt_claims(answer["access_token"])
    expect(claims.get("cid") == key["clientid"], f"token: cid {claims.get('cid')!r}")
    token = answer["access_token"]
    reply = request("POST", token_url, form={"grant_type": "client_credentials"},
                    basic=(key["clientid"], key["clientsecret"]))
    expect(reply.status == 200, f"token (Basic): HTTP {reply.status}: {reply.raw[:300]!r}")
    reply = request("POST", token_url, form={"grant_type": "client_credentials",
                                             "client_id": key["clientid"], "client_secret": "wrong"})
    expect(reply.status == 401 and reply.json().get("error") == "invalid_client",
           f"token with a wrong secret: {reply.status} {reply.raw[:200]!r}")
    ok("token", f"client credentials (form and Basic) at {token_url}; wrong secret 401 invalid_client")

    sm_error(request("GET", f"{base}/v1/service_offerings"), 401, "Unauthorized", "no token")
    ok("unauthenticated", "401 {error: Unauthorized, description}")

    # Offerings: fieldQuery, paging with token.
    offerings, total = fetch_all(base, "/v1/service_offerings", token, "", 1)
    expect(len(offerings) == total, f"offerings: {len(offerings)} collected, num_items {total}")
    expect(len({o["id"] for o in offerings}) == total, "offerings: paging repeated an item")
    for o in offerings:
        expect_common("offering", o)
        for field in ("name", "catalog_id", "catalog_name", "broker_id"):
            expect(isinstance(o.get(field), str) and o[field], f"offering {o.get('name')!r}: {field} missing")
        for field in ("bindable", "instances_retrievable", "bindings_retrievable", "plan_updateable"):
            expect(isinstance(o.get(field), bool), f"offering {o.get('name')!r}: {field} must be a boolean")
    ok("offerings paging", f"{total} offerings at max_items=1, token replaced each page, Link rel=next")

    names = sorted(o["name"] for o in offerings)
    calm = next((o for o in offerings if o["name"] == "SAPCloudALMAPIs"), None)
    expect(calm is not None, f"offerings of an entitled tenant lack SAPCloudALMAPIs: {names}")
    reply = request("GET", f"{base}/v1/service_offerings?fieldQuery=" + q("name eq 'SAPCloudALMAPIs'"), token=token)
    page = reply.json()
    expect(reply.status == 200 and [o["id"] for o in page.get("items", [])] == [calm["id"]] and page["num_items"] == 1,
           f"fieldQuery name eq: {reply.status} {page!r}")
    reply = request("GET", f"{base}/v1/service_offerings/{calm['id']}", token=token)
    expect(reply.status == 200 and reply.json().get("id") == calm["id"], f"GET offering by id: {reply.status}")
    sm_error(request("GET", f"{base}/v1/service_offerings?fieldQuery={q('name eq SAPCloudALMAPIs')}", token=token),
             400, "InvalidFieldQuery", "unquoted string literal")
    sm_error(request("GET", f"{base}/v1/service_offerings?max_items=-1", token=token),
             400, "InvalidMaxItems", "max_items=-1")
    sm_error(request("GET", f"{base}/v1/service_offerings?token=not-a-token", token=token),
             400, "TokenInvalid", "unreadable paging token")
    ok("offerings fieldQuery", "name eq '…' finds one; bad literal 400 InvalidFieldQuery; "
                               "max_items=-1 400 InvalidMaxItems; bad token 400 TokenInvalid")

    # Plans by name and offering.
    plan_query = f"name eq 'standard' and service_offering_id eq '{calm['id']}'"
    reply = request("GET", f"{base}/v1/service_plans?fieldQuery={q(plan_query)}", token=token)
    plans = reply.json().get("items", [])
    expect(reply.status == 200 and len(plans) == 1, f"plan by name and offering: {reply.status} {plans!r}")
    plan = plans[0]
    expect_common("plan", plan)
    expect(plan.get("service_offering_id") == calm["id"] and isinstance(plan.get("bindable"), bool)
           and isinstance(plan.get("free"), bool) and isinstance(plan.get("catalog_name"), str),
           f"plan fields: {sorted(plan)}")
    ok("plans fieldQuery", f"standard of SAPCloudALMAPIs: {plan['id']}")

    # The seeded instance.
    reply = request("GET", f"{base}/v1/service_instances?fieldQuery=" + q("name eq 'cloud-alm-api'"), token=token)
    instances = reply.json().get("items", [])
    expect(reply.status == 200 and len(instances) == 1, f"instance by name: {reply.status} {instances!r}")
    instance = instances[0]
    expect_common("instance", instance)
    expect(instance["ready"] is True and instance.get("service_plan_id") == plan["id"],
           f"instance: ready {instance['ready']}, plan {instance.get('service_plan_id')!r}")
    ok("instances", f"cloud-alm-api {instance['id']} ready, plan standard")

    # Binding create: async=true gives 202 + {} + relative Location; without async, 201 or 202.
    name = f"interop-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "service_instance_id": instance["id"], "parameters": {},
            "labels": {"purpose": ["interop"]}}
    reply = request("POST", f"{base}/v1/service_bindings?async=true", token=token, body=body)
    expect(reply.status == 202, f"create binding async=true: expected 202, got {reply.status}: {reply.raw[:300]!r}")
    expect(reply.json() == {}, f"create binding 202: body must be {{}}, got {reply.raw[:200]!r}")
    location = reply.headers.get("Location", "")
    parts = location.split("/")
    expect(location.startswith("/v1/service_bindings/") and len(parts) == 6 and parts[4] == "operations",
           f"create binding 202: Location must be relative /v1/service_bindings/<id>/operations/<op>, got {location!r}")
    binding_id = parts[3]
    op = poll_operation(base, location, token, "create binding")
    expect(op.get("state") == "succeeded" and op.get("type", "").lower() == "create"
           and op.get("resource_id") == binding_id and op.get("resource_type") == "/v1/service_bindings",
           f"create binding operation: {op!r}")
    reply = request("GET", f"{base}/v1/service_bindings/{binding_id}", token=token)
    binding = reply.json()
    expect(reply.status == 200 and binding.get("name") == name and binding.get("service_instance_id") == instance["id"],
           f"GET binding: {reply.status} {sorted(binding) if isinstance(binding, dict) else binding!r}")
    expect_common("binding", binding)
    credentials = binding.get("credentials")
    expect(isinstance(credentials, dict) and isinstance(credentials.get("uaa"), dict)
           and credentials["uaa"].get("clientid"),
           f"binding: credentials.uaa.clientid missing: {sorted(credentials or {})}")
    expect(binding["labels"].get("purpose") == ["interop"], f"binding labels: {binding['labels']!r}")
    last = binding.get("last_operation", {})
    expect(last.get("state") == "succeeded", f"binding last_operation: {last!r}")
    ok("binding 202", f"202 {{}} Location {location}; operation succeeded; GET has credentials")

    reply = request("POST", f"{base}/v1/service_bindings?async=true", token=token, body=body)
    conflict = sm_error(reply, 409, "Conflict", "binding with a taken name")
    ok("binding conflict", f"409 Conflict: {conflict['description']}")

    name2 = f"{name}-sync"
    reply = request("POST", f"{base}/v1/service_bindings", token=token, body={**body, "name": name2})
    expect(reply.status in (201, 202), f"create binding without async: expected 201 or 202, got {reply.status}")
    if reply.status == 201:
        sync = reply.json()
        expect(sync.get("name") == name2 and isinstance(sync.get("credentials"), dict),
               f"create binding 201: body is not the binding: {sync!r}")
        binding2 = sync["id"]
    else:
        loc = reply.headers.get("Location", "")
        poll_operation(base, loc, token, "create binding (no async)")
        binding2 = loc.split("/")[3]
    ok("binding without async", f"HTTP {reply.status}")

    # Delete both: 200 {} or 202 + Location; then 404 NotFound.
    for bid in (binding_id, binding2):
        reply = request("DELETE", f"{base}/v1/service_bindings/{bid}", token=token)
        expect(reply.status in (200, 202), f"delete binding: HTTP {reply.status}: {reply.raw[:300]!r}")
        if reply.status == 200:
            expect(reply.json() == {}, f"delete binding 200: body must be {{}}, got {reply.raw[:200]!r}")
        else:
            loc = reply.headers.get("Location", "")
            expect(loc.startswith(f"/v1/service_bindings/{bid}/operations/"), f"delete binding 202 Location {loc!r}")
            deadline = time.monotonic() + 20
            while True:
                r = request("GET", urllib.parse.urljoin(base + "/", loc.lstrip("/")), token=token)
                if r.status == 404 or r.json().get("state") in ("succeeded", "failed"):
                    break
                expect(time.monotonic() < deadline, "delete binding: operation never finished")
                time.sleep(0.1)
        sm_error(request("GET", f"{base}/v1/service_bindings/{bid}", token=token), 404, "NotFound", "deleted binding")
    ok("binding delete", "DELETE 200 {} / 202; GET 404 NotFound")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        text = sys.stdin.read() if argv[1] == "-" else open(argv[1], encoding="utf-8").read()
        sim = json.loads(text)
        sim["sm_url"], sim["tenants"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: cannot read the JSON of `calm simulate` from {argv[1]}: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        run(sim)
    except CheckFailed as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"FAIL could not reach the simulator: {exc}", file=sys.stderr)
        return 1
    print(f"Service Manager over HTTP: all checks passed in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
