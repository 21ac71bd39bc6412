"""An application container under test, given an EC2 identity by imds-spoof, with
testcontainers (PyPI `testcontainers`). Run `imds-spoof up --detach` first; the container
joins the imds-spoof network and reads its instance id as an SDK would.

    APP_IMAGE=curlimages/curl EXPECTED_INSTANCE_ID=i-0123456789abcdef0 pytest test_identity.py

IMDS_IDENTITY names the identity the container plays (its imds-spoof.identity label);
without it the container plays the active identity. tests/testcontainers_example.rs runs
this file against the real engine.
"""

import json
import os

from testcontainers.core.container import DockerContainer

IMDS = "http://169.254.169.254/latest"


def app_container():
    labels = {"imds-spoof.test": "1"}
    if os.environ.get("IMDS_IDENTITY"):
        labels["imds-spoof.identity"] = os.environ["IMDS_IDENTITY"]
    # IMDSv2, as current SDKs do it: a token first, then the read.
    script = (
        f"T=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' {IMDS}/api/token)"
        f" && curl -sf -H \"X-aws-ec2-metadata-token: $T\" {IMDS}/meta-data/instance-id"
    )
    container = (
        DockerContainer(os.environ.get("APP_IMAGE", "curlimages/curl"))
        .with_command(["sh", "-c", script])
        .with_kwargs(network="imds-spoof", labels=labels)
    )
    # Host paths the image borrows (the offline test image has no curl of its own).
    for host, inside in json.loads(os.environ.get("EXTRA_MOUNTS", "[]")):
        container = container.with_volume_mapping(host, inside, "ro")
    return container


def test_the_container_plays_its_identity():
    container = app_container()
    container.start()
    try:
        status = container.get_wrapped_container().wait(timeout=60)
        out, err = container.get_logs()
        assert status["StatusCode"] == 0, err.decode()
        assert out.decode().strip() == os.environ["EXPECTED_INSTANCE_ID"]
    finally:
        container.stop()


if __name__ == "__main__":
    test_the_container_plays_its_identity()
    print("ok: the container played its identity")
