"""What botocore (the AWS CLI's own resolver) makes of one AWS profile, and whom STS says a
set of keys belongs to. The reference for imds-spoof's `source = "profile"`.

    profile_check.py resolve PROFILE   botocore resolves PROFILE from AWS_CONFIG_FILE and
                                       AWS_SHARED_CREDENTIALS_FILE (HOME for the SSO cache),
                                       then asks STS whom the keys belong to
    profile_check.py whoami            the same question for keys in AWS_ACCESS_KEY_ID,
                                       AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN

STS is AWS_ENDPOINT_URL_STS (moto's server in the tests). The last stdout line is JSON:
{"ok": true, "arn": ..., "access_key": ...} or {"ok": false, "error": ...}; exit 0 either
way (1 only for a check that cannot be made), 3 for a bug in this script.
"""

import argparse
import json
import os

import botocore.exceptions
import botocore.session

from check_common import run


def whoami(credentials):
    session = botocore.session.get_session()
    sts = session.create_client(
        "sts",
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        endpoint_url=os.environ["AWS_ENDPOINT_URL_STS"],
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )
    return sts.get_caller_identity()["Arn"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["resolve", "whoami"])
    parser.add_argument("profile", nargs="?")
    args = parser.parse_args()
    if args.mode == "resolve":
        try:
            session = botocore.session.Session(profile=args.profile)
            credentials = session.get_credentials()
            if credentials is None:
                raise botocore.exceptions.NoCredentialsError()
            credentials = credentials.get_frozen_credentials()
        except botocore.exceptions.BotoCoreError as err:
            print(json.dumps({"ok": False, "error": str(err)}))
            return 0
        except botocore.exceptions.ClientError as err:
            print(json.dumps({"ok": False, "error": str(err)}))
            return 0
    else:
        credentials = botocore.credentials.ReadOnlyCredentials(
            os.environ["AWS_ACCESS_KEY_ID"],
            os.environ["AWS_SECRET_ACCESS_KEY"],
            os.environ.get("AWS_SESSION_TOKEN"),
        )
    print(json.dumps({"ok": True, "arn": whoami(credentials), "access_key": credentials.access_key}))
    return 0


if __name__ == "__main__":
    run(main, "profile_check")
