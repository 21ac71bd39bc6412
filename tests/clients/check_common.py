"""What the client check scripts share: a clean environment, how they report secrets and
how they exit.

Exit codes: 0 all expectations met, 1 a check failed, 2 bad usage (argparse), 3 a bug in
the script itself, so that a script error never reads as a server finding.
"""

import hashlib
import os
import sys
import traceback


def clear_aws_environment():
    """No AWS or botocore setting of the caller's, no proxy, no config or credentials file:
    the endpoint under test is the only place the SDK can find anything."""
    for key in list(os.environ):
        upper = key.upper()
        if upper.startswith("AWS_") or upper.startswith("BOTO_") or upper.endswith("_PROXY"):
            del os.environ[key]
    os.environ["AWS_CONFIG_FILE"] = "/dev/null"
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
    os.environ["BOTO_CONFIG"] = "/dev/null"


def sha_prefix(value):
    """The first 16 hex digits of sha256(value): a secret reported without revealing it."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    return hashlib.sha256(value).hexdigest()[:16]


def run(main, name):
    """Exits with main()'s status, or 3 with the traceback when main() raises."""
    try:
        sys.exit(main())
    except Exception:  # noqa: BLE001 - a bug here must not look like a server failure
        traceback.print_exc()
        print(name + ": internal error (exit 3)", file=sys.stderr)
        sys.exit(3)
