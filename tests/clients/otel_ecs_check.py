"""OpenTelemetry's ECS resource detector (opentelemetry-sdk-extension-aws) against the
ECS door's task metadata v4: prints the attributes it detected as one JSON object.

Run inside a container on the imds-spoof network with ECS_CONTAINER_METADATA_URI_V4 set.
Exits 1 when the detector found nothing (it logs and returns an empty resource on errors,
so an empty answer is the failure to look for).
"""

import json
import sys

from opentelemetry.sdk.extension.aws.resource.ecs import AwsEcsResourceDetector


def main() -> int:
    resource = AwsEcsResourceDetector(raise_on_error=True).detect()
    attributes = {key: list(value) if isinstance(value, tuple) else value
                  for key, value in resource.attributes.items()}
    print(json.dumps(attributes, sort_keys=True))
    return 0 if attributes else 1


if __name__ == "__main__":
    sys.exit(main())
