#!/usr/bin/env python3
"""Points the third-party Cloud Foundry client `cloudfoundry-client` (cf-python-client, PyPI) at
the simulator's Cloud Foundry v3 API and checks every answer's shape.

Starts nothing itself. Usage:

    cf_python_client.py SIMULATE_JSON      # a file holding what `calm simulate` printed
    cf_python_client.py -                  # the same on standard input

Prints one line per check ("ok   <check>: <detail>") and exits 1 on the first failure with a
message saying what was expected and what came back. Exit 2: bad input.

What a client written by someone else does here, through the library's own code paths:
discovery (`GET /`), the password grant with HTTP Basic `cf:` at the discovered login link, the
refresh grant after a `CF-InvalidAuthToken` 401, organizations, spaces, service offerings and
plans, service instances and service credential bindings (every list followed page by page with
`per_page=1`, navigable `links` followed), a service instance and a service key created through
202 + job, the key's `/details`, both deleted through 202 + job, and the CF error body.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any, Callable

from cloudfoundry_client.client import CloudFoundryClient
from cloudfoundry_client.errors import InvalidStatusCode

GUID_LEN = 36
# The last request the library sent, named in failure messages.
LAST_REQUEST = ["(none yet)"]


class CheckFailed(Exception):
    """A check saw something real Cloud Foundry would not send."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def ok(check: str, detail: str) -> None:
    print(f"ok   {check}: {detail}", flush=True)


def is_guid(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != GUID_LEN:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def expect_resource(kind: str, r: dict, relationships: list[str]) -> None:
    """The fields every v3 resource carries, plus the named to-one relationships."""
    what = f"{kind} {r.get('name', r.get('guid'))!r}"
    expect(is_guid(r.get("guid")), f"{what}: guid is not a GUID: {r.get('guid')!r}")
    for field in ("created_at", "updated_at"):
        expect(isinstance(r.get(field), str) and r[field].endswith("Z"),
               f"{what}: {field} is not an ISO 8601 UTC time: {r.get(field)!r}")
    metadata = r.get("metadata")
    expect(isinstance(metadata, dict) and isinstance(metadata.get("labels"), dict)
           and isinstance(metadata.get("annotations"), dict),
           f"{what}: metadata must hold labels and annotations objects: {metadata!r}")
    links = r.get("links")
    expect(isinstance(links, dict), f"{what}: no links object")
    expect(isinstance(links.get("self"), dict) and isinstance(links["self"].get("href"), str),
           f"{what}: links.self.href missing")
    for name, link in links.items():
        expect(isinstance(link, dict) and isinstance(link.get("href"), str),
               f"{what}: links.{name} must be an object with an href: {link!r}")
    rels = r.get("relationships", {})
    for rel in relationships:
        data = rels.get(rel, {}).get("data") if isinstance(rels.get(rel), dict) else None
        expect(isinstance(data, dict) and is_guid(data.get("guid")),
               f"{what}: relationships.{rel}.data.guid missing: {rels.get(rel)!r}")


def paged(manager, check: str, **filters) -> list:
    """Lists with per_page=1 so that the library follows `pagination.next.href` to the end, and
    checks that it got `total_results` distinct resources."""
    pagination = manager.list(per_page=1, **filters)
    items = list(pagination)
    total = pagination.total_results
    guids = [i["guid"] for i in items]
    expect(len(items) == total,
           f"{check}: followed pagination.next to {len(items)} resources, total_results says {total}")
    expect(len(set(guids)) == len(guids), f"{check}: a page repeated resources: {guids}")
    return items


def cf_error(exc: InvalidStatusCode) -> dict:
    body = exc.body
    expect(isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"],
           f"error body is not the v3 errors list: {body!r}")
    error = body["errors"][0]
    expect(isinstance(error.get("code"), int) and isinstance(error.get("title"), str)
           and isinstance(error.get("detail"), str),
           f"v3 error needs code (int), title and detail: {error!r}")
    return error


def expect_status(call: Callable[[], Any], status: int, title: str, what: str) -> dict:
    try:
        call()
    except InvalidStatusCode as exc:
        expect(exc.status_code.value == status,
               f"{what}: expected HTTP {status} {title}, got {exc.status_code.value}: {exc.body!r}")
        error = cf_error(exc)
        expect(error["title"] == title, f"{what}: expected {title}, got {error!r}")
        return error
    raise CheckFailed(f"{what}: expected HTTP {status} {title}, the call succeeded")


def wait_job(client: CloudFoundryClient, job_guid: str, operation: str, what: str) -> dict:
    expect(is_guid(job_guid), f"{what}: the Location header named no job GUID: {job_guid!r}")
    job = client.v3.jobs.wait_for_job_completion(job_guid, step=0.1,
                                                 step_function=lambda s: min(s * 2, 1.0),
                                                 timeout=30)
    expect(job["state"] == "COMPLETE", f"{what}: job ended {job['state']}: {job!r}")
    expect(job.get("operation") == operation,
           f"{what}: job operation {job.get('operation')!r}, expected {operation!r}")
    expect(job.get("guid") == job_guid, f"{what}: job guid {job.get('guid')!r} != {job_guid!r}")
    expect(isinstance(job.get("errors"), list) and isinstance(job.get("warnings"), list),
           f"{what}: job errors and warnings must be lists: {job!r}")
    return job


def run(sim: dict) -> None:
    login = sim["cf_login"]
    api_url = login["api_url"].rstrip("/")
    tenants = {t["subdomain"]: t for t in sim["tenants"]}

    # Discovery and login through the library's own flow.
    kwargs = {}
    if login.get("origin"):
        # The library passes login_hint as a form field, which requests encodes once; so the
        # JSON goes in raw (its docstring's "URL-encoded" would double-encode it).
        kwargs["login_hint"] = json.dumps({"origin": login["origin"]})
    client = CloudFoundryClient(api_url, **kwargs)
    expect(client.info.api_v3_url == f"{api_url}/v3",
           f"discovery: cloud_controller_v3 is {client.info.api_v3_url!r}, expected {api_url}/v3")
    expect(client.info.api_v2_url is None, "discovery: cloud_controller_v2 should be absent (null)")
    token_url = client.service_information.token_service
    expect(token_url.startswith("http") and "//oauth" not in token_url,
           f"discovery: token endpoint built from links.login is malformed: {token_url}")
    ok("discovery", f"GET / -> v3 {client.info.api_v3_url}, token endpoint {token_url}")

    client.init_with_user_credentials(login["username"], login["password"])
    expect(client.refresh_token, "password grant: no refresh_token in the answer")
    expect(client._access_token and client._access_token.count(".") == 2,
           "password grant: access_token is not a JWT")
    ok("password grant", f"user {login['username']} via Basic cf: at {token_url}")
    client._session.hooks["response"].append(
        lambda r, *args, **kwargs: LAST_REQUEST.__setitem__(0, f"{r.request.method} {r.url} -> {r.status_code}"))

    # Organizations: every org of the login, pages followed.
    orgs = paged(client.v3.organizations, "organizations")
    by_name = {o["name"]: o for o in orgs}
    expect(sorted(by_name) == sorted(login["orgs"]),
           f"organizations: listed {sorted(by_name)}, the login has {sorted(login['orgs'])}")
    for org in orgs:
        expect_resource("organization", org, ["quota"])
        expect(org.get("suspended") is False, f"organization {org['name']}: suspended must be false")
    some_org = orgs[0]
    found = list(client.v3.organizations.list(names=some_org["name"].upper()))
    expect([o["guid"] for o in found] == [some_org["guid"]],
           f"organizations: names filter is case-insensitive in CF, got {found!r}")
    again = client.v3.organizations.get(some_org["guid"])
    expect(again["name"] == some_org["name"], "organizations: GET by guid differs from the list")
    ok("organizations", f"{len(orgs)} orgs over {len(orgs)} pages; names filter; GET by guid")

    # Spaces: one per org, relationship back to the org, link navigable.
    spaces = paged(client.v3.spaces, "spaces")
    for space in spaces:
        expect_resource("space", space, ["organization"])
    for name, org in by_name.items():
        in_org = list(client.v3.spaces.list(organization_guids=org["guid"], names=login["space"]))
        expect(len(in_org) == 1, f"spaces: expected one space {login['space']!r} in org {name}, got {len(in_org)}")
        space_org = in_org[0].organization()
        expect(space_org["guid"] == org["guid"], f"spaces: links.organization of {name}/{login['space']} leads elsewhere")
    ok("spaces", f"{len(spaces)} spaces; organization_guids + names filters; links.organization followed")

    # Service offerings and plans.
    offerings = paged(client.v3.service_offerings, "service_offerings")
    for offering in offerings:
        expect_resource("service offering", offering, ["service_broker"])
        features = offering.get("broker_catalog", {}).get("features", {})
        expect(isinstance(features.get("bindable"), bool),
               f"service offering {offering['name']}: broker_catalog.features.bindable missing")
        offering_again = client.v3.service_offerings.get(offering["guid"])
        expect(offering_again["name"] == offering["name"], "service_offerings: GET by guid differs")
    ok("service offerings", f"{sorted(o['name'] for o in offerings)}; GET by guid")

    plans = paged(client.v3.service_plans, "service_plans")
    for plan in plans:
        expect_resource("service plan", plan, ["service_offering"])
        expect(plan.get("visibility_type") in ("public", "admin", "organization", "space"),
               f"service plan {plan['name']}: visibility_type {plan.get('visibility_type')!r}")
        expect(isinstance(plan.get("broker_catalog", {}).get("features", {}).get("bindable"), bool),
               f"service plan {plan['name']}: broker_catalog.features.bindable missing")
        parent = plan.service_offering()
        expect(parent["guid"] == plan["relationships"]["service_offering"]["data"]["guid"],
               f"service plan {plan['name']}: links.service_offering leads elsewhere")
    for offering in offerings:
        of_offering = list(offering.service_plans())
        expect(of_offering and all(p["relationships"]["service_offering"]["data"]["guid"] == offering["guid"]
                                   for p in of_offering),
               f"service offering {offering['name']}: links.service_plans lists other plans: {of_offering!r}")
    ok("service plans", f"{len(plans)} plans; links.service_offering and offering links.service_plans followed")

    # Service instances: the seeded ones in the space of each tenant's org.
    instances = paged(client.v3.service_instances, "service_instances")
    for instance in instances:
        expect_resource("service instance", instance, ["space", "service_plan"])
        expect(instance.get("type") == "managed", f"service instance {instance['name']}: type {instance.get('type')!r}")
        op = instance.get("last_operation", {})
        expect(op.get("type") in ("create", "update", "delete")
               and op.get("state") in ("initial", "in progress", "succeeded", "failed"),
               f"service instance {instance['name']}: last_operation {op!r}")
        expect(instance.space()["guid"] == instance["relationships"]["space"]["data"]["guid"],
               f"service instance {instance['name']}: links.space leads elsewhere")
        expect(instance.service_plan()["guid"] == instance["relationships"]["service_plan"]["data"]["guid"],
               f"service instance {instance['name']}: links.service_plan leads elsewhere")
    seeded = [t for t in tenants.values() if t["tier"] != "manual"]
    expect(len(instances) >= len(seeded),
           f"service instances: {len(instances)} listed, {len(seeded)} tenants should have one")
    ok("service instances", f"{len(instances)} instances; links.space and links.service_plan followed")

    # Service credential bindings (keys).
    bindings = paged(client.v3.service_credential_bindings, "service_credential_bindings", type="key")
    for binding in bindings:
        expect_resource("service credential binding", binding, ["service_instance"])
        expect(binding.get("type") == "key", f"binding {binding['name']}: type {binding.get('type')!r}")
        expect("details" in binding["links"], f"binding {binding['name']}: links.details missing")
        details = binding.details()
        expect(isinstance(details.get("credentials"), dict) and details["credentials"],
               f"binding {binding['name']}: /details has no credentials object: {details!r}")
    ok("service credential bindings", f"{len(bindings)} keys; /details of each via links.details")

    # Pick an entitled tenant with an instance and create what a client would.
    tenant = next((t for t in seeded if t["cf_org"] in by_name), None)
    expect(tenant is not None, "no seeded tenant with a CF org to create a key in")
    org = by_name[tenant["cf_org"]]
    space = next(iter(client.v3.spaces.list(organization_guids=org["guid"], names=tenant["cf_space"])))
    instance = next(iter(client.v3.service_instances.list(space_guids=space["guid"])), None)
    expect(instance is not None, f"no service instance in {tenant['cf_org']}/{tenant['cf_space']}")

    key_name = f"interop-{uuid.uuid4().hex[:8]}"
    job_guid = client.v3.service_credential_bindings.create(
        key_name, "key", instance["guid"], None, None, {"purpose": "interop"}, None, asynchronous=True)
    # The key row exists before the 202 (cf-v3-api.md §6); while the job runs, /details is a 404.
    early = list(client.v3.service_credential_bindings.list(
        service_instance_guids=instance["guid"], type="key", names=key_name))
    expect(len(early) == 1, f"create key: no key named {key_name} right after the 202: {early!r}")
    first = client.v3.jobs.get(job_guid)
    expect(first["state"] in ("PROCESSING", "POLLING", "COMPLETE", "FAILED"),
           f"create key: job state {first['state']!r}")
    if early[0]["last_operation"]["state"] != "succeeded":
        error = expect_status(lambda: client.v3.service_credential_bindings.get(early[0]["guid"], "details"),
                              404, "CF-ResourceNotFound", "details of a key being created")
        expect(error["detail"].startswith("Creation of service key "),
               f"details of a key being created: {error['detail']!r}")
        ok("key in progress", f"job {first['state']}, key {early[0]['last_operation']['state']}, "
                              f"/details 404 {error['detail']!r}")
    job = wait_job(client, job_guid, "service_keys.create", "create key")
    created = job.service_credential_binding()
    expect(created.get("name") == key_name and created.get("type") == "key",
           f"create key: job links.service_credential_binding leads to {created!r}")
    expect(created["relationships"]["service_instance"]["data"]["guid"] == instance["guid"],
           "create key: the key's relationships.service_instance is not the instance")
    expect(created["last_operation"] == {**created["last_operation"], "type": "create", "state": "succeeded"},
           f"create key: last_operation after COMPLETE is {created['last_operation']!r}")
    expect(created["metadata"]["labels"] == {"purpose": "interop"},
           f"create key: labels not kept: {created['metadata']!r}")
    error = expect_status(lambda: created.parameters(), 400,
                          "CF-ServiceFetchBindingParametersNotSupported", "key links.parameters")
    expect(error["code"] == 90007, f"key links.parameters: code {error['code']}, expected 90007")
    ok("create key", f"POST -> 202 + job {job_guid} COMPLETE -> key {created['guid']}; "
                     "links.parameters 400 (90007)")

    listed = list(client.v3.service_credential_bindings.list(
        service_instance_guids=instance["guid"], type="key", names=key_name))
    expect([k["guid"] for k in listed] == [created["guid"]],
           f"list key by instance, type and name: {listed!r}")
    details = client.v3.service_credential_bindings.get(created["guid"], "details")
    credentials = details.get("credentials")
    expect(isinstance(credentials, dict) and isinstance(credentials.get("uaa"), dict)
           and credentials["uaa"].get("clientid"),
           f"key details: credentials.uaa.clientid missing: {list((credentials or {}).keys())}")
    expect("syslog_drain_url" in details and details.get("volume_mounts") == [],
           f"key details: syslog_drain_url and volume_mounts expected: {sorted(details)}")
    ok("key details", f"credentials with {sorted(credentials)}")

    error = expect_status(
        lambda: client.v3.service_credential_bindings.create(
            key_name, "key", instance["guid"], None, None, None, None),
        422, "CF-UnprocessableEntity", "duplicate key name")
    expect(error["code"] == 10008 and "Key binding names must be unique" in error["detail"],
           f"duplicate key name: {error!r}")
    ok("duplicate key", f"422 {error['title']} ({error['code']}): {error['detail']}")

    client.v3.service_credential_bindings._remove(created["guid"], asynchronous=False)
    expect_status(lambda: client.v3.service_credential_bindings.get(created["guid"]),
                  404, "CF-ResourceNotFound", "deleted key")
    gone = list(client.v3.service_credential_bindings.list(service_instance_guids=instance["guid"], names=key_name))
    expect(gone == [], f"deleted key is still listed: {gone!r}")
    ok("delete key", "DELETE -> 202 + job COMPLETE; GET 404 CF-ResourceNotFound; no longer listed")

    # A service instance through the library's create (202 body-less answer + Location).
    plan = next(iter(client.v3.service_plans.list(
        service_offering_guids=instance.service_plan()["relationships"]["service_offering"]["data"]["guid"],
        space_guids=space["guid"])))
    si_name = f"interop-si-{uuid.uuid4().hex[:8]}"
    accepted = client.v3.service_instances.create(si_name, space["guid"], plan["guid"], tags=["interop"])
    expect("job" in accepted.get("links", {}),
           f"create instance: the 202 carried no Location the library could read: {accepted!r}")
    si_job_guid = client.v3.service_instances._extract_job_guid(accepted["links"]["job"]["href"])
    expect(accepted["links"]["job"]["href"].startswith("http"),
           f"create instance: Location must be absolute: {accepted['links']['job']['href']}")
    wait_job(client, si_job_guid, "service_instance.create", "create instance")
    new_si = next(iter(client.v3.service_instances.list(names=si_name, space_guids=space["guid"])), None)
    expect(new_si is not None and new_si["tags"] == ["interop"]
           and new_si["last_operation"]["state"] == "succeeded",
           f"create instance: listed as {new_si!r}")
    client.v3.service_instances.remove(new_si["guid"], asynchronous=False)
    expect_status(lambda: client.v3.service_instances.get(new_si["guid"]),
                  404, "CF-ResourceNotFound", "deleted instance")
    ok("service instance create/delete", f"{si_name}: 202 + job COMPLETE, then DELETE 202 + job, GET 404")

    # Errors the library turns into InvalidStatusCode with the v3 body.
    error = expect_status(lambda: list(client.v3.organizations.list(per_page=5001)),
                          400, "CF-BadQueryParameter", "per_page=5001")
    expect(error["code"] == 10005, f"per_page=5001: code {error['code']}")
    expect_status(lambda: client.v3.service_instances.get(str(uuid.uuid4())),
                  404, "CF-ResourceNotFound", "unknown instance")
    ok("errors", "400 CF-BadQueryParameter for per_page=5001; 404 CF-ResourceNotFound")

    # An invalid token: the library refreshes on 401 CF-InvalidAuthToken (code 1000) and retries.
    old_refresh = client.refresh_token
    client._session.headers["Authorization"] = "Bearer not-a-valid-token"
    org_again = client.v3.organizations.get(some_org["guid"])
    expect(org_again["guid"] == some_org["guid"], "refresh: the retried request failed")
    expect(client._access_token != "not-a-valid-token" and client.refresh_token == old_refresh,
           "refresh: the library did not take a new access token")
    ok("token refresh", "401 CF-InvalidAuthToken -> refresh_token grant -> request retried")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        text = sys.stdin.read() if argv[1] == "-" else open(argv[1], encoding="utf-8").read()
        sim = json.loads(text)
        sim["cf_login"]["api_url"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: cannot read the JSON of `calm simulate` from {argv[1]}: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        run(sim)
    except CheckFailed as exc:
        print(f"FAIL {exc} (last request: {LAST_REQUEST[0]})", file=sys.stderr)
        return 1
    except InvalidStatusCode as exc:
        print(f"FAIL unexpected HTTP {exc.status_code.value} for {LAST_REQUEST[0]}: {exc.body!r}",
              file=sys.stderr)
        return 1
    except Exception as exc:  # the library choking on a response is a finding too
        import traceback
        traceback.print_exc()
        print(f"FAIL the library raised {type(exc).__name__}: {exc} (last request: {LAST_REQUEST[0]})",
              file=sys.stderr)
        return 1
    print(f"cf-python-client interop: all checks passed in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
