#!/usr/bin/env python3
"""Resolve credentials and region from an IMDS endpoint with botocore's REAL
instance-metadata code, and compare them with what the test expects.

    python botocore_check.py --endpoint http://127.0.0.1:PORT \
        --expect-access-key AK --expect-secret SK --expect-token TOK \
        --expect-region R [--expect-role NAME] [--v1-disabled] \
        [--expect-imds-version 1|2] [--allow-expired] [--expect-fail] \
        [--timeout S] [--attempts N] [--endpoint-mode IPv6]
        [--expect-base-url URL]

Prints ONE JSON line (secret and session token only as sha256 prefixes) and
exits 0 when everything matched, 1 (with the reasons on stderr and in the
JSON "problems" list) otherwise, 2 on bad usage, 3 on an internal error
of this script.

With --expect-fail the script succeeds only if NO path gets credentials or a
region from the endpoint (e.g. v1 disabled and the token PUT refused).

What botocore does (read from botocore 1.44.8's source, botocore/utils.py,
credentials.py, configprovider.py, session.py; pinned in requirements.txt):

* Endpoint: IMDSFetcher._select_base_url: explicit base_url argument, else
  config `ec2_metadata_service_endpoint` (env AWS_EC2_METADATA_SERVICE_ENDPOINT
  / config-file key, read through the SESSION: a bare IMDSFetcher() with no
  config dict ignores the env var), else IPv6 http://[fd00:ec2::254]/ when
  endpoint mode is ipv6 (AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, or
  AWS_IMDS_USE_IPV6), else http://169.254.169.254/. Paths are appended with a
  '/' if the base lacks one. Env proxies apply (get_environ_proxies), so this
  script removes *_PROXY variables.
* AWS_EC2_METADATA_DISABLED=true (read from the env, not the session): every
  call fails at once, no request is sent.
* Token: PUT latest/api/token with header
  x-aws-ec2-metadata-token-ttl-seconds: 21600 (IMDSFetcher._TOKEN_TTL, a
  string). A token is fetched afresh for EVERY credentials/region retrieval;
  botocore does not cache it or track its TTL.
  - 200: body is the token.
  - 403, 404, 405: no token -> IMDSv1 fallback (GETs without token).
  - 400: BadIMDSRequestError -> credentials fetch returns {} (no creds); NO
    fallback. (The region fetcher does not catch it: it propagates.)
  - read timeout: no token -> v1 fallback immediately (no retry).
  - any other status (401, 5xx...) and connect errors/timeouts/closed
    connections: tried again up to num_attempts, then no token -> v1 fallback.
  - v1 fallback with AWS_EC2_METADATA_V1_DISABLED=true (config
    ec2_metadata_v1_disabled): the GET raises MetadataRetrievalError("Unable
    to retrieve token for use in IMDSv2 call and IMDSv1 has been disabled"),
    which is NOT caught by the fetcher: session.get_credentials() raises it.
* Timeouts/attempts: metadata_service_timeout (env
  AWS_METADATA_SERVICE_TIMEOUT, default 1 s, used as BOTH connect and read
  timeout of a urllib3 session) and metadata_service_num_attempts (env
  AWS_METADATA_SERVICE_NUM_ATTEMPTS, default 1). There is no backoff.
* Credentials: GET latest/meta-data/iam/security-credentials/ -> the body
  is used VERBATIM as the role name (a trailing newline or a second line would
  end up in the next URL); then GET .../security-credentials/<role>.
  Retried (same token) on non-200, empty body, or (for the credentials) body
  that is not JSON; after num_attempts -> no credentials.
  401 is NOT special: botocore does not refetch a token on 401, it just
  counts it as a failed attempt (same token), so an expired/invalid token
  yields "no credentials" for that retrieval; the next refresh gets a new one.
  Content-Type is ignored. JSON must contain AccessKeyId, SecretAccessKey,
  Token and Expiration (Code/Type/LastUpdated are not required); a 200 JSON
  missing any of them (e.g. {"Code": "...", "Message": "..."}) -> no creds.
* Expiration: parsed strictly with "%Y-%m-%dT%H:%M:%SZ" for the static
  stability check (a fractional or +00:00 form only logs "Unable to parse"
  and skips the check), then with dateutil for RefreshableCredentials.
  Static stability: if now >= Expiration - (refresh_window + jitter), where
  refresh_window is 600 s for a bare fetcher and 900 s
  (ec2_credential_refresh_window) in the session chain and jitter is random
  120..600 s, expiry_time is REPLACED by now + that offset and an INFO log
  says "Attempting credential expiration extension...". So expired (or
  nearly expired: < ~25 min left) credentials are still handed out. The
  session's RefreshableCredentials refresh when < 15 min (advisory) / 10 min
  (mandatory) remain.
* Region: InstanceMetadataRegionFetcher GETs
  latest/meta-data/placement/availability-zone/ (WITH a trailing slash: the
  server must serve that leaf with a slash) and drops the LAST CHARACTER of
  the AZ ("us-east-1a" -> "us-east-1"). It does not use placement/region nor
  the identity document. Empty/non-200 -> retried, then None.
  In a session, IMDS region is used ONLY by IMDSRegionProvider inside the
  smart-defaults factory, for defaults_mode="auto" (to tell in-region from
  cross-region) and only when AWS_EXECUTION_ENV is unset. The session's
  `region` config (boto3.Session().region_name) NEVER comes from IMDS: it is
  config file / AWS_DEFAULT_REGION only. We check IMDSRegionProvider and
  resolve_auto_mode, and report boto3's region_name for information.
* Credential chain order: env, assume-role, web-identity, SSO, shared
  credentials file, login, process, config file, boto2 ec2 creds file
  (AWS_CREDENTIAL_FILE), boto config (BOTO_CONFIG, /etc/boto.cfg, ~/.boto),
  container (AWS_CONTAINER_CREDENTIALS_*), then IMDS ("iam-role"). The
  script removes every AWS_*/BOTO_* variable, points the config files at
  /dev/null and checks that the session's credentials' method is "iam-role".
"""

import argparse
import json
import os
import sys

from check_common import clear_aws_environment, run, sha_prefix


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--endpoint",
        default=None,
        help="e.g. http://127.0.0.1:8080; omitted: botocore's default (http://169.254.169.254), no env var set",
    )
    p.add_argument("--expect-access-key")
    p.add_argument("--expect-secret")
    p.add_argument("--expect-token")
    p.add_argument("--expect-region")
    p.add_argument("--expect-role", help="role name listed under iam/security-credentials/")
    p.add_argument(
        "--expect-imds-version",
        choices=["1", "2"],
        help="2: botocore must obtain a token; 1: it must fall back to v1",
    )
    p.add_argument("--v1-disabled", action="store_true", help="set AWS_EC2_METADATA_V1_DISABLED=true")
    p.add_argument("--allow-expired", action="store_true", help="accept an Expiration in the past")
    p.add_argument("--expect-fail", action="store_true", help="succeed only if nothing is resolved")
    p.add_argument(
        "--endpoint-mode",
        default=None,
        help="AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, e.g. IPv6 (botocore then calls http://[fd00:ec2::254]/)",
    )
    p.add_argument("--expect-base-url", help="the base URL botocore's fetcher must choose")
    p.add_argument("--timeout", type=int, default=None, help="AWS_METADATA_SERVICE_TIMEOUT (s)")
    p.add_argument("--attempts", type=int, default=None, help="AWS_METADATA_SERVICE_NUM_ATTEMPTS")
    a = p.parse_args(argv)
    if not a.expect_fail:
        missing = [
            n
            for n in ("expect_access_key", "expect_secret", "expect_token", "expect_region")
            if getattr(a, n) is None
        ]
        if missing:
            p.error("required unless --expect-fail: " + ", ".join("--" + m.replace("_", "-") for m in missing))
    return a


def isolate_environment(args):
    """Leave IMDS as the only possible source of credentials and region."""
    clear_aws_environment()
    if args.endpoint is not None:
        os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = args.endpoint
    if args.endpoint_mode is not None:
        os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] = args.endpoint_mode
    if args.v1_disabled:
        os.environ["AWS_EC2_METADATA_V1_DISABLED"] = "true"
    if args.timeout is not None:
        os.environ["AWS_METADATA_SERVICE_TIMEOUT"] = str(args.timeout)
    if args.attempts is not None:
        os.environ["AWS_METADATA_SERVICE_NUM_ATTEMPTS"] = str(args.attempts)


class Probe:
    """Records what botocore's IMDS code saw, by wrapping two methods of the
    real classes (their behaviour is unchanged)."""

    def __init__(self):
        self.token_results = []  # True when a token PUT produced a token
        self.raw_credentials = []  # raw JSON documents botocore parsed

    def install(self, utils):
        probe = self
        orig_token = utils.IMDSFetcher._fetch_metadata_token
        orig_creds = utils.InstanceMetadataFetcher._get_credentials

        def _fetch_metadata_token(self):
            try:
                token = orig_token(self)
            except BaseException:
                probe.token_results.append(False)
                raise
            probe.token_results.append(token is not None)
            return token

        def _get_credentials(self, role_name, token=None):
            doc = orig_creds(self, role_name, token)
            probe.raw_credentials.append(doc)
            return doc

        utils.IMDSFetcher._fetch_metadata_token = _fetch_metadata_token
        utils.InstanceMetadataFetcher._get_credentials = _get_credentials


def describe_error(exc):
    return f"{type(exc).__name__}: {exc}"


def main(argv=None):
    args = parse_args(argv)
    isolate_environment(args)

    # Import only now: nothing must have read the environment before.
    import datetime

    import boto3
    import botocore
    import botocore.credentials
    import botocore.session
    import botocore.utils as butils

    probe = Probe()
    probe.install(butils)

    report = {
        "endpoint": args.endpoint,
        "endpoint_mode": args.endpoint_mode,
        "botocore_version": botocore.__version__,
        "boto3_version": boto3.__version__,
        "token_ttl_requested": butils.IMDSFetcher._TOKEN_TTL,
        "v1_disabled": args.v1_disabled,
    }
    problems = []

    session = botocore.session.get_session()
    report["metadata_service_timeout"] = session.get_config_variable("metadata_service_timeout")
    report["metadata_service_num_attempts"] = session.get_config_variable("metadata_service_num_attempts")
    imds_config = {
        "ec2_metadata_service_endpoint": session.get_config_variable("ec2_metadata_service_endpoint"),
        "ec2_metadata_service_endpoint_mode": butils.resolve_imds_endpoint_mode(session),
        "ec2_metadata_v1_disabled": session.get_config_variable("ec2_metadata_v1_disabled"),
    }
    fetcher_kwargs = dict(
        timeout=report["metadata_service_timeout"],
        num_attempts=report["metadata_service_num_attempts"],
        user_agent=session.user_agent(),
        config=imds_config,
    )

    def cred_view(access_key, secret_key, token, **extra):
        view = {
            "access_key": access_key,
            "secret_sha256": sha_prefix(secret_key),
            "token_sha256": sha_prefix(token),
        }
        view.update(extra)
        return view

    # 1. InstanceMetadataFetcher + InstanceMetadataProvider, built the way
    #    botocore.credentials.create_credential_resolver builds them.
    fetched = None
    try:
        fetcher = butils.InstanceMetadataFetcher(**fetcher_kwargs)
        report["fetcher_base_url"] = fetcher.get_base_url()
        provider = botocore.credentials.InstanceMetadataProvider(iam_role_fetcher=fetcher)
        creds = provider.load()
        if creds is None:
            report["provider"] = {"error": "InstanceMetadataProvider.load() returned None"}
        else:
            frozen = creds.get_frozen_credentials()
            fetched = cred_view(
                frozen.access_key,
                frozen.secret_key,
                frozen.token,
                method=creds.method,
                expiry_time=creds._expiry_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            report["provider"] = fetched
    except Exception as exc:  # noqa: BLE001 - report whatever botocore raised
        report["provider"] = {"error": describe_error(exc)}

    # Role name and raw document as the fetcher saw them (one more retrieval).
    try:
        meta = butils.InstanceMetadataFetcher(**fetcher_kwargs).retrieve_iam_role_credentials()
        report["fetcher_role_name"] = meta.get("role_name") if meta else None
    except Exception as exc:  # noqa: BLE001
        report["fetcher_role_name"] = None
        report["fetcher_error"] = describe_error(exc)

    # 2. The full default chain of a fresh session.
    session_creds = None
    try:
        creds = session.get_credentials()
        if creds is None:
            report["session"] = {"error": "session.get_credentials() returned None"}
        else:
            frozen = creds.get_frozen_credentials()
            session_creds = cred_view(frozen.access_key, frozen.secret_key, frozen.token, method=creds.method)
            report["session"] = session_creds
    except Exception as exc:  # noqa: BLE001
        report["session"] = {"error": describe_error(exc)}

    # 3. Region: the bare fetcher, the session's IMDSRegionProvider, and the
    #    smart-defaults "auto" mode that is the session's only use of it.
    region = {}
    try:
        region["fetcher"] = butils.InstanceMetadataRegionFetcher(**fetcher_kwargs).retrieve_region()
    except Exception as exc:  # noqa: BLE001
        region["fetcher"] = None
        region["fetcher_error"] = describe_error(exc)
    try:
        region["session_provider"] = butils.IMDSRegionProvider(session=session).provide()
    except Exception as exc:  # noqa: BLE001
        region["session_provider"] = None
        region["session_provider_error"] = describe_error(exc)
    try:
        factory = session._get_internal_component("smart_defaults_factory")
        probe_region = args.expect_region or "us-east-1"
        region["auto_mode_for_" + probe_region] = factory.resolve_auto_mode(probe_region)
    except Exception as exc:  # noqa: BLE001 - private API; informational
        region["auto_mode_error"] = describe_error(exc)
    try:
        region["boto3_session_region_name"] = boto3.Session().region_name
    except Exception as exc:  # noqa: BLE001
        region["boto3_session_region_name_error"] = describe_error(exc)
    report["region"] = region

    # What went over the wire, as seen from inside botocore.
    report["token_puts"] = len(probe.token_results)
    report["token_obtained"] = probe.token_results
    raw = probe.raw_credentials[0] if probe.raw_credentials else None
    if raw is not None:
        report["raw_credentials"] = {
            "fields": sorted(raw),
            "Code": raw.get("Code"),
            "Type": raw.get("Type"),
            "Expiration": raw.get("Expiration"),
            "LastUpdated": raw.get("LastUpdated"),
        }

    # ---- judge ------------------------------------------------------------
    if args.expect_fail:
        if fetched is not None:
            problems.append("InstanceMetadataProvider obtained credentials but failure was expected")
        if session_creds is not None and session_creds.get("method") == "iam-role":
            problems.append("session obtained IMDS credentials but failure was expected")
        if region.get("fetcher"):
            problems.append(f"region fetcher obtained {region['fetcher']!r} but failure was expected")
        if region.get("session_provider"):
            problems.append(f"IMDSRegionProvider obtained {region['session_provider']!r} but failure was expected")
    else:
        want = cred_view(args.expect_access_key, args.expect_secret, args.expect_token)
        for label, got in (("InstanceMetadataProvider", fetched), ("session.get_credentials()", session_creds)):
            if got is None:
                err = report["provider" if label.startswith("Instance") else "session"].get("error")
                problems.append(f"{label}: no credentials ({err})")
                continue
            for key in ("access_key", "secret_sha256", "token_sha256"):
                if got[key] != want[key]:
                    problems.append(f"{label}: {key} is {got[key]!r}, expected {want[key]!r}")
            if got.get("method") != "iam-role":
                problems.append(f"{label}: credentials came from {got.get('method')!r}, not 'iam-role' (IMDS)")
        if args.expect_role is not None and report.get("fetcher_role_name") != args.expect_role:
            problems.append(f"role name is {report.get('fetcher_role_name')!r}, expected {args.expect_role!r}")
        for key in ("fetcher", "session_provider"):
            if region.get(key) != args.expect_region:
                problems.append(
                    f"region via {key} is {region.get(key)!r}, expected {args.expect_region!r}"
                    + (f" ({region[key + '_error']})" if key + "_error" in region else "")
                )
        auto_key = "auto_mode_for_" + args.expect_region
        if auto_key in region and region[auto_key] != "in-region":
            problems.append(f"smart defaults resolve_auto_mode({args.expect_region!r}) is {region[auto_key]!r}, expected 'in-region'")
        if raw is not None:
            exp = raw.get("Expiration")
            try:
                when = datetime.datetime.strptime(exp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
            except (TypeError, ValueError):
                problems.append(f"Expiration {exp!r} is not in YYYY-MM-DDTHH:MM:SSZ form")
            else:
                now = datetime.datetime.now(datetime.timezone.utc)
                report["raw_credentials"]["seconds_left"] = int((when - now).total_seconds())
                if when <= now and not args.allow_expired:
                    problems.append(f"Expiration {exp} is in the past (use --allow-expired if intended)")
            if raw.get("Code") not in (None, "Success"):
                problems.append(f"credentials Code is {raw.get('Code')!r}, expected 'Success'")

    if args.expect_base_url is not None and report.get("fetcher_base_url") != args.expect_base_url:
        problems.append(f"fetcher base URL is {report.get('fetcher_base_url')!r}, expected {args.expect_base_url!r}")
    if args.expect_imds_version == "2" and not (probe.token_results and all(probe.token_results)):
        problems.append(f"expected IMDSv2 but token PUTs produced {probe.token_results}")
    if args.expect_imds_version == "1" and any(probe.token_results):
        problems.append(f"expected v1 fallback but a token was obtained {probe.token_results}")

    report["ok"] = not problems
    report["problems"] = problems
    print(json.dumps(report, sort_keys=True), flush=True)
    for problem in problems:
        print("botocore_check: FAIL: " + problem, file=sys.stderr)
    return 0 if not problems else 1


if __name__ == "__main__":
    run(main, "botocore_check")
