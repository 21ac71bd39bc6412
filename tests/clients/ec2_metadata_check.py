#!/usr/bin/env python3
"""Read EVERY attribute of the `ec2-metadata` package's EC2Metadata class (and
of each NetworkInterface, PublicKey and instance tag it exposes) from an IMDS
endpoint, and report which ones worked.

    python ec2_metadata_check.py --endpoint http://127.0.0.1:PORT \
        [--expect NAME=VALUE]... [--expect-fail NAME]... \
        [--expect-absent NAME]... [--require NAME|all]...

Prints one line per attribute ("ok", "none" or "FAIL"), then ONE JSON summary
line. Exit 0 when nothing raised unexpectedly and every expectation held,
1 otherwise (the failing names are listed), 2 on bad usage, 3 on an
internal error of this script.

NAME is an attribute name as printed, e.g. `instance_id`,
`network_interfaces[0e:49:61:0f:c3:11].subnet_id`, `public_keys[my-key].openssh_key`,
`tags[Name]`; in the --expect* and --require options `*` matches anything,
e.g. `network_interfaces[*].ipv6s`. VALUE is compared with str(value)
(lists joined with ",").
--expect-fail NAME: the attribute must raise because of an HTTP error status
(not a connection or token failure), e.g. `tags` when instance metadata tags
are off: the package reads tags/instance/ without allowing 404.
--expect-absent NAME: the attribute must be None or empty (the package
maps a 404 on an optional path to None, [] or {}).
--require NAME: the attribute must be neither None nor empty; `all` requires
this of every attribute except those named by --expect-absent/--expect-fail.

About ec2-metadata 3.0.0 (read from its source, pinned in requirements.txt):
* The URL is fixed: EC2Metadata.__init__ sets the instance attributes
  service_url = "http://169.254.169.254/latest/", dynamic_url =
  service_url + "dynamic/", metadata_url = service_url + "meta-data/" and
  userdata_url = service_url + "user-data/" (note the trailing slash on
  user-data). There is no env var or argument for it: we construct our own
  EC2Metadata() and rewrite every instance attribute that starts with the
  default base (so future *_url attributes follow too).
* IMDSv2 only: PUT latest/api/token with TTL 21600 (timeout 5 s), refreshed
  60 s before the TTL ends; any non-200 raises (no v1 fallback). GETs send
  the token, timeout 1 s; urllib3's default retries (3) apply to connection
  errors. A 404 raises unless the attribute allows it (then None, [] or {});
  any other status >= 400 raises.
* iam_security_credentials reads iam/security-credentials/<NAME> where NAME is
  the last path segment of iam/info's InstanceProfileArn, NOT the role listed
  under iam/security-credentials/. It only works when the role name equals
  the instance profile name.
* account_id and region come from dynamic/instance-identity/document.
* Optional in the package (404 -> None/[]/{}): autoscaling_target_lifecycle_state,
  availability_zone_id, iam_info (and so instance_profile_arn/_id/_name and
  iam_security_credentials -> None), kernel_id, public_hostname, public_ipv4,
  public_keys ({}), spot_instance_action, user_data, PublicKey.openssh_key;
  per interface: ipv6s, ipv6_prefix, public_hostname, public_ipv4s,
  subnet_ipv4_cidr_block, subnet_ipv6_cidr_blocks, vpc_ipv4_cidr_block,
  vpc_ipv4_cidr_blocks, vpc_ipv6_cidr_blocks. Everything else raises on 404,
  including tags (tags/instance/), instance_action and, for each public IPv4
  of an interface, ipv4_associations (.../ipv4-associations/<public-ip>).
"""

import argparse
import datetime as dt
import functools
import json
import re
import sys

from check_common import run, sha_prefix

DEFAULT_BASE = "http://169.254.169.254/"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:8080")
    p.add_argument("--expect", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--expect-fail", action="append", default=[], metavar="NAME")
    p.add_argument("--expect-absent", "--expect-none", action="append", default=[], metavar="NAME")
    p.add_argument("--require", action="append", default=[], metavar="NAME|all")
    a = p.parse_args(argv)
    a.expect_values = {}
    for item in a.expect:
        if "=" not in item:
            p.error(f"--expect wants NAME=VALUE, got {item!r}")
        name, value = item.split("=", 1)
        a.expect_values[name] = value
    return a


def point_at(md, endpoint):
    """Redirect an EC2Metadata instance from 169.254.169.254 to `endpoint`."""
    base = endpoint.rstrip("/") + "/"
    changed = []
    for attr, value in list(vars(md).items()):
        if isinstance(value, str) and value.startswith(DEFAULT_BASE):
            setattr(md, attr, base + value[len(DEFAULT_BASE):])
            changed.append(attr)
    if "service_url" not in changed:
        raise SystemExit(
            "ec2_metadata_check: cannot redirect ec2-metadata: no service_url attribute "
            f"starting with {DEFAULT_BASE} (package changed?)"
        )
    return changed


def public_attributes(cls):
    """Names of the properties (plain or cached) a class exposes."""
    names = []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        if isinstance(getattr(cls, name, None), (property, functools.cached_property)):
            names.append(name)
    return names


def summarize(name, value):
    """Short printable form; secrets and user-data are hashed."""
    if value is None:
        return None
    if name == "iam_security_credentials" and isinstance(value, dict):
        masked = dict(value)
        for key in ("SecretAccessKey", "Token"):
            if key in masked:
                masked[key] = "sha256:" + sha_prefix(str(masked[key]))
        return masked
    if name == "user_data" and isinstance(value, bytes):
        return {"bytes": len(value), "sha256": sha_prefix(value)}
    if type(value).__name__ == "SpotInstanceAction":
        return {"action": value.action, "time": value.time.isoformat()}
    if type(value).__name__ == "InstanceTags":
        return sorted(value)
    if isinstance(value, dict):
        if value and all(type(v).__name__ in ("NetworkInterface", "PublicKey") for v in value.values()):
            return sorted(value)
        return value
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return repr(value)


def matches(pattern, name):
    """Exact name, or a pattern where `*` matches anything (brackets literal)."""
    if "*" not in pattern:
        return pattern == name
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def as_text(value):
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def is_empty(value):
    return value is None or (hasattr(value, "__len__") and len(value) == 0)


def main(argv=None):
    args = parse_args(argv)

    import ec2_metadata as pkg
    from ec2_metadata import EC2Metadata, NetworkInterface, PublicKey

    md = EC2Metadata()
    redirected = point_at(md, args.endpoint)

    results = {}  # name -> {"status": ok|none|fail, "value"| "error"}
    raw = {}  # name -> value (for --expect / --require)

    def read(name, getter):
        try:
            value = getter()
        except Exception as exc:  # noqa: BLE001 - any exception is a finding
            message = f"{type(exc).__name__}: {exc}"
            if len(message) > 300:
                message = message[:297] + "..."
            # The package reports an HTTP error status as HTTPError("HTTP 404: url").
            status = re.match(r"HTTP (\d{3}): ", str(exc))
            results[name] = {
                "status": "fail",
                "error": message,
                "http_status": int(status.group(1)) if status else None,
            }
            return None
        raw[name] = value
        results[name] = {"status": "none" if value is None else "ok", "value": summarize(name, value)}
        return value

    top_names = public_attributes(EC2Metadata)
    for name in top_names:
        read(name, lambda name=name: getattr(md, name))

    nic_names = public_attributes(NetworkInterface)
    interfaces = raw.get("network_interfaces") or {}
    for mac, nic in sorted(interfaces.items()):
        # `mac` is a plain attribute (from the listing); check it is echoed.
        for name in nic_names:
            read(f"network_interfaces[{mac}].{name}", lambda nic=nic, name=name: getattr(nic, name))
        read(
            f"network_interfaces[{mac}].mac(leaf)",
            lambda mac=mac: md._get_url(f"{md.metadata_url}network/interfaces/macs/{mac}/mac").data.decode(),
        )

    key_names = public_attributes(PublicKey)
    for key_name, key in sorted((raw.get("public_keys") or {}).items()):
        for name in key_names:
            read(f"public_keys[{key_name}].{name}", lambda key=key, name=name: getattr(key, name))

    tags = raw.get("tags")
    if tags is not None:
        for tag in sorted(tags):
            read(f"tags[{tag}]", lambda tag=tag: tags[tag])

    # ---- judge ------------------------------------------------------------
    problems = []
    patterns = (
        args.expect_fail + args.expect_absent + list(args.expect_values) + [r for r in args.require if r != "all"]
    )
    for pattern in sorted(set(patterns)):
        if not any(matches(pattern, name) for name in results):
            problems.append(f"{pattern}: no such attribute was read")

    def listed(name, names):
        return any(matches(pattern, name) for pattern in names)

    for name, res in results.items():
        expect_fail = listed(name, args.expect_fail)
        expect_absent = listed(name, args.expect_absent)
        if res["status"] == "fail" and not expect_fail:
            problems.append(f"{name}: raised {res['error']}")
        if expect_fail and res["status"] != "fail":
            problems.append(f"{name}: expected to raise, but returned {res['value']!r}")
        if expect_fail and res["status"] == "fail" and res["http_status"] is None:
            problems.append(f"{name}: expected an HTTP error status, but raised {res['error']}")
        if expect_absent and (res["status"] == "fail" or not is_empty(raw[name])):
            problems.append(f"{name}: expected None/empty, got {res.get('value', res.get('error'))!r}")
        for pattern, want in args.expect_values.items():
            if matches(pattern, name) and res["status"] != "fail":
                got = as_text(raw[name])
                if got != want:
                    problems.append(f"{name}: is {got!r}, expected {want!r}")
        required = listed(name, [r for r in args.require if r != "all"]) or (
            "all" in args.require and not expect_absent and not expect_fail
        )
        if required and res["status"] != "fail" and is_empty(raw[name]):
            problems.append(f"{name}: required but {'None' if raw[name] is None else 'empty'}")

    hint = None
    if results.get("iam_security_credentials", {}).get("status") == "fail":
        try:
            roles = md._get_url(f"{md.metadata_url}iam/security-credentials/").data.decode()
            profile = raw.get("instance_profile_name")
            if profile is not None and roles.strip() != profile:
                hint = (
                    f"ec2-metadata asks for iam/security-credentials/{profile} (instance profile name) "
                    f"but the server lists role {roles.strip()!r}; ec2-metadata only works when they match"
                )
        except Exception:  # noqa: BLE001 - hint only
            pass

    for name in sorted(results):
        res = results[name]
        if res["status"] == "fail":
            tag = "xfail" if listed(name, args.expect_fail) and res["http_status"] else "FAIL"
            print(f"{tag:5} {name}: {res['error']}")
        else:
            print(f"{res['status']:5} {name} = {json.dumps(res['value'], default=str)}")

    failed = sorted(n for n, r in results.items() if r["status"] == "fail")
    summary = {
        "endpoint": args.endpoint,
        "ec2_metadata_version": getattr(pkg, "__version__", None) or _dist_version("ec2-metadata"),
        "redirected_attributes": redirected,
        "attributes_checked": len(results),
        "ok": not problems,
        "raised": failed,
        "none": sorted(n for n, r in results.items() if r["status"] == "none"),
        "problems": problems,
    }
    if hint:
        summary["hint"] = hint
    print(json.dumps(summary, sort_keys=True), flush=True)
    for problem in problems:
        print("ec2_metadata_check: FAIL: " + problem, file=sys.stderr)
    if hint:
        print("ec2_metadata_check: hint: " + hint, file=sys.stderr)
    return 0 if not problems else 1


def _dist_version(dist):
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # noqa: BLE001
        return None


if __name__ == "__main__":
    run(main, "ec2_metadata_check")
