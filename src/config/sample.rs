//! The commented configuration written on first run.

/// Written to the config path when no file exists; every field explained once.
pub const SAMPLE_CONFIG: &str = r##"# imds-spoof configuration.
# Edits here take effect on the next request while imds-spoof runs; an invalid edit is
# reported and the last good configuration stays in force. The dashboard keeps these comments.

# Identity answered to containers that do not choose one with the label
# imds-spoof.identity=NAME.
active_identity = "default"

[imds]
# "optional" serves IMDSv1 and IMDSv2; "required" answers 401 to requests without a token.
tokens = "optional"
# HttpPutResponseHopLimit. 1 reproduces EC2's behaviour for containers behind a bridge:
# the token PUT never gets an answer. 2 lets them through.
hop_limit = 2
# false turns the metadata service off (HttpEndpoint=disabled). disabled_behaviour says how:
# "forbidden" answers every request 403 with an empty body, as EC2 does; "no-answer" never
# answers, so callers time out.
enabled = true
disabled_behaviour = "forbidden"
# Longest session token TTL a client may ask for, in seconds (EC2: 21600).
max_token_ttl = 21600
# Serve tags under meta-data/tags/instance/ (InstanceMetadataTags).
tags_in_metadata = false
# Serve iam/security-credentials-extended/ (credentials with AccountId, asked first by the
# JS v3 and Java v2 SDKs, which fall back to iam/security-credentials/ on its 404).
credentials_extended = true

[network]
name = "imds-spoof"
subnet = "169.254.0.0/16"
gateway = "169.254.0.1"
proxy_ip = "169.254.169.254"
# true adds IMDS's IPv6 endpoint http://[fd00:ec2::254] on a second subnet, fd00:ec2::/64
# (fixed: SDKs know only that address), for SDKs set to AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6.
# The Docker engine must be able to make IPv6 networks (`imds-spoof doctor` checks).
ipv6 = false

[doors]
# The container credential endpoints beside IMDS, each a proxy container on the network:
# ECS task credentials at http://169.254.170.2 (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=
# /v2/credentials/NAME) and EKS Pod Identity at http://169.254.170.23/v1/credentials
# (tokens from `imds-spoof token`). false removes the endpoint; its address stays reserved.
ecs = true
eks = true

[proxy]
# Pulled when missing. Offline: scripts/offline-images.sh builds imds-spoof/nginx-offline:latest.
image = "docker.io/library/nginx:1.27.5-alpine"

[broker]
# Loopback port of the broker (the dashboard without Docker; Docker Desktop). On Linux the
# proxy reaches the broker through a unix socket and no port is opened.
port = 1338
# How the proxy reaches the broker: "auto" (a unix socket on a local engine, TCP through
# host.docker.internal on Docker Desktop), "socket" or "desktop" (docs/docker.md).
# arrangement = "auto"
# Answer requests from this host itself through 169.254.169.254. Off: a web page in your
# browser could otherwise read credentials (DNS rebinding). Containers are not affected.
allow_host = false

# An external program can answer instead of the built-in provider:
# [provider]
# command = ["/usr/local/bin/my-provider", "--verbose"]
# timeout_ms = 2000

# Faults injected into answers, by path prefix ("" for every path). Kinds: latency (ms),
# status (status), hang, drop, malformed-credentials, expired-credentials. Status 429 is
# throttling: IMDS never answers 429, so the connection is closed instead. Faults on
# .../security-credentials/ cover .../security-credentials-extended/ too.
# [[fault]]
# path_prefix = "/latest/meta-data/iam/"
# kind = "latency"
# ms = 1500

[[identity]]
name = "default"
instance_id = "i-0123456789abcdef0"
instance_type = "m5.large"
ami_id = "ami-0abcdef1234567890"
account_id = "123456789012"
region = "us-east-1"
availability_zone = "us-east-1a"
availability_zone_id = "use1-az4"
local_ipv4 = "172.31.0.10"
public_ipv4 = "192.0.2.54"
mac = "0e:49:61:0f:c3:11"
security_groups = ["default"]
security_group_ids = ["sg-0123456789abcdef0"]
subnet_id = "subnet-0123456789abcdef0"
subnet_cidr = "172.31.0.0/20"
vpc_id = "vpc-0123456789abcdef0"
vpc_cidr = "172.31.0.0/16"
interface_id = "eni-0123456789abcdef0"
reservation_id = "r-0123456789abcdef0"
key_name = "dev-key"
public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIImdsSpoofExampleKeyOnlyForLocalTests dev-key"
user_data = "#!/bin/bash\necho hello from imds-spoof\n"

[identity.tags]
Name = "imds-spoof-dev"
Environment = "development"

[identity.role]
name = "imds-spoof-dev-role"
# source = "static" serves these keys with a rolling Expiration (set `expiration` to pin it).
# source = "profile" resolves `profile` as the AWS CLI does (keys, credential_process,
#   role chains, SSO after `aws sso login`), from ~/.aws/config and ~/.aws/credentials.
# source = "command" runs `command` and reads credential_process JSON from its output.
source = "static"
access_key_id = "ASIAIMDSSPOOFEXAMPLE"
secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
session_token = "IQoJb3JpZ2luX2VjEXAMPLETOKENimdsSpoofLocalOnly"

# The ECS task this identity's containers report in task metadata v4
# (ECS_CONTAINER_METADATA_URI_V4). Every key is optional; without the table a container is
# a task of its compose project (or of its own) on cluster "default", revision 1, EC2, in
# this identity's zone, with ARNs in this identity's account and region.
# [identity.ecs]
# cluster = "default"              # short name, or arn:aws:ecs:REGION:ACCOUNT:cluster/NAME
# family = "billing"               # default: the compose project, or the container's name
# revision = 1
# launch_type = "EC2"              # EC2, FARGATE or EXTERNAL
# service_name = "billing-api"     # absent: a task run on its own
# task_arn = "arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef"
# log_driver = "awslogs"           # default: the container's own Docker log driver
# log_options = { "awslogs-group" = "/ecs/billing", "awslogs-region" = "us-east-1" }
# tags = { team = "payments" }     # TaskTags of /taskWithTags

[[identity]]
name = "worker"
instance_id = "i-0fedcba9876543210"
instance_type = "c6g.xlarge"
architecture = "arm64"
ami_id = "ami-0fedcba9876543210"
account_id = "123456789012"
region = "eu-west-1"
availability_zone = "eu-west-1b"
availability_zone_id = "euw1-az2"
instance_life_cycle = "spot"
local_ipv4 = "10.0.1.20"
mac = "0a:1b:2c:3d:4e:5f"
security_groups = ["workers"]
security_group_ids = ["sg-0fedcba9876543210"]
subnet_id = "subnet-0fedcba9876543210"
subnet_cidr = "10.0.1.0/24"
vpc_id = "vpc-0fedcba9876543210"
vpc_cidr = "10.0.0.0/16"
interface_id = "eni-0fedcba9876543210"
reservation_id = "r-0fedcba9876543210"

[identity.role]
name = "imds-spoof-worker-role"
source = "static"
access_key_id = "ASIAIMDSSPOOFWORKER1"
secret_access_key = "workerSecretKeyEXAMPLEimdsSpoofLocalOnly1"
session_token = "IQoJb3JpZ2luX2VjWORKERTOKENimdsSpoofLocalOnly"

# Which identity each container plays: a [[container]] rule (by container name, or by
# compose service for every replica) wins over the container's imds-spoof.identity label,
# which wins over active_identity. The dashboard (Containers pane) and
# `imds-spoof assign CONTAINER IDENTITY` write these rules for you.
# [[container]]
# compose_service = "billing"
# identity = "worker"

[containers]
# A caller on the imds-spoof network that the Docker engine cannot name (engine
# unreachable): "refuse" answers EC2's 500, which SDKs retry; "active" answers with
# active_identity.
unresolved = "refuse"
"##;
