#!/usr/bin/env python3
"""Resolve credentials from a container credentials endpoint (ECS or EKS Pod
Identity) with botocore's REAL ContainerProvider, as an SDK in a task or pod
does, and compare them with what the test expects.

    python container_check.py (--full-uri URL --token-file PATH | --relative-uri PATH) \
        --expect-access-key AK --expect-secret SK --expect-token TOK \
        [--expect-account-id ID] [--rewrite-token-to PATH]

Prints ONE JSON line (secret and session token only as sha256 prefixes) and
exits 0 when everything matched, 1 otherwise (reasons on stderr and in the
JSON "problems" list), 2 on bad usage, 3 on an internal error of this script.

What botocore does (botocore 1.44.8, credentials.py ContainerProvider and
utils.py ContainerMetadataFetcher):

* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI wins over ..._FULL_URI when both are
  set; this script sets only one: RELATIVE_URI (appended to http://169.254.170.2,
  no Authorization, as in an ECS task) or FULL_URI with the token file.
* FULL_URI over plain http must name an allowed host
  (ContainerMetadataFetcher._ALLOWED_HOSTS: loopback, 169.254.170.2,
  169.254.170.23, fd00:ec2::23).
* Authorization: the contents of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, read
  again on EVERY fetch, sent verbatim; a value with a newline raises
  ValueError ("Auth token value is not a legal header value").
* The answer must be JSON with AccessKeyId, SecretAccessKey, Token and
  Expiration; AccountId is read when present. 2 s timeout, 3 attempts.

The environment is wiped of AWS_* variables first, and the shared config and
credentials files point at /dev/null, so only the container provider can
answer; the full session chain must report method "container-role".

--rewrite-token-to PATH: after the first resolution, copy PATH's contents
over the token file and resolve once more with a fresh provider; the summary's
"after_rewrite" says what that got (credentials or the error), so a test can
show the file is read on every fetch (case 60).
"""

import argparse
import json
import os
import shutil
import sys

from check_common import clear_aws_environment, run, sha_prefix


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full-uri")
    p.add_argument("--token-file")
    p.add_argument("--relative-uri")
    p.add_argument("--expect-access-key", required=True)
    p.add_argument("--expect-secret", required=True)
    p.add_argument("--expect-token", required=True)
    p.add_argument("--expect-account-id")
    p.add_argument("--rewrite-token-to")
    args = p.parse_args(argv)
    if bool(args.relative_uri) == bool(args.full_uri):
        p.error("give --relative-uri or --full-uri (with --token-file), not both")
    if args.full_uri and not args.token_file:
        p.error("--full-uri needs --token-file")
    return args


def isolate_environment(args):
    """Leave the container endpoint as the only source of credentials."""
    clear_aws_environment()
    # IMDS must not answer in its place if the container provider fails.
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    if args.relative_uri:
        os.environ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = args.relative_uri
    else:
        os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = args.full_uri
        os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = args.token_file


def describe(creds):
    frozen = creds.get_frozen_credentials()
    return {
        "access_key": frozen.access_key,
        "secret_sha256": sha_prefix(frozen.secret_key),
        "token_sha256": sha_prefix(frozen.token),
        "account_id": getattr(frozen, "account_id", None),
        "method": getattr(creds, "method", None),
    }


def check(name, got, args, problems):
    if got is None:
        problems.append(name + ": no credentials")
        return
    if got["access_key"] != args.expect_access_key:
        problems.append("%s: access key %r" % (name, got["access_key"]))
    if got["secret_sha256"] != sha_prefix(args.expect_secret):
        problems.append(name + ": secret key differs")
    if got["token_sha256"] != sha_prefix(args.expect_token):
        problems.append(name + ": session token differs")
    if args.expect_account_id and got["account_id"] != args.expect_account_id:
        problems.append("%s: account id %r" % (name, got["account_id"]))


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    isolate_environment(args)
    # Import only now: nothing must have read the environment before.
    import botocore.credentials
    import botocore.session

    problems = []
    summary = {}

    provider = botocore.credentials.ContainerProvider()
    creds = provider.load()
    summary["provider"] = describe(creds) if creds else None
    check("provider", summary["provider"], args, problems)

    session = botocore.session.get_session()
    creds = session.get_credentials()
    summary["session"] = describe(creds) if creds else None
    check("session", summary["session"], args, problems)
    if summary["session"] and summary["session"]["method"] != "container-role":
        problems.append("session: method %r" % summary["session"]["method"])

    if args.rewrite_token_to:
        shutil.copyfile(args.rewrite_token_to, args.token_file)
        try:
            fresh = botocore.credentials.ContainerProvider().load()
            summary["after_rewrite"] = describe(fresh) if fresh else None
        except Exception as err:  # noqa: BLE001 - the refusal is the finding
            summary["after_rewrite"] = {"error": type(err).__name__ + ": " + str(err)}

    summary["problems"] = problems
    print(json.dumps(summary, sort_keys=True))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    run(main, "container_check.py")
