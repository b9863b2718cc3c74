"""``visionplay serve --ray --replicas 2``: a local Ray, two replicas behind Ray's proxy, the
same REST routes; requests reach both; SIGTERM shuts it all down. And ``--address`` of a
running cluster (two Ray nodes on this machine): the replicas spread over the nodes, and
SIGTERM takes down our application but leaves the cluster's Serve running. Both Rays keep
to 127.0.0.1: nothing they open listens or connects anywhere else."""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import visionplay
from visionplay.bench.inputs import digit_drawing, png_bytes
from visionplay.bench.server import free_port, start_server, stop_server
from visionplay.cli.serve import APP_NAME, LOCAL_RAY_ENV, LOOPBACK
from visionplay.inference import list_exported, models_dir

pytest.importorskip("ray.serve", reason="Ray Serve is the optional extra visionplay[ray]")
ON_LINUX = sys.platform == "linux"  # the sockets are read from /proc
LISTEN = "0A"  # the state /proc/net/tcp gives a listening socket
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def post(port: int, path: str, body: bytes) -> tuple[int, str | None, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=body)
        response = connection.getresponse()
        return response.status, response.getheader("x-served-by"), json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.ray
@pytest.mark.slow
def test_two_replicas_share_the_requests_and_shut_down(tmp_path):
    port, options = free_port(), ["--ray", "--replicas", "2"]
    server, _ = start_server(
        models_dir(),
        port,
        tmp_path / "ray.log",
        timeout=300,
        options=options,
        ready="v2/health/ready",
    )
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", "/v2/health/ready")
        assert json.loads(connection.getresponse().read())["models"] == list_exported()

        digit = png_bytes(digit_drawing())
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: post(port, "/predict/mnist", digit), range(48)))
        assert {status for status, _, _ in answers} == {200}
        assert {answer["predictions"][0]["label"] for _, _, answer in answers} == {"7"}
        assert len({replica for _, replica, _ in answers}) == 2, "one replica took them all"

        # Every shipped model travelled to the replicas: an infer of its own inputs on each.
        for name in list_exported():
            model = visionplay.load(name)
            tensors = [
                {
                    "name": input_name,
                    "datatype": "INT64" if x.dtype == np.int64 else "FP32",
                    "shape": list(x.shape),
                    "data": x.ravel().tolist(),
                }
                for input_name, x in zip(
                    model.input_names(), type(model).example_inputs(model.cfg, 1), strict=True
                )
            ]
            status, _, answer = post(
                port, f"/v2/models/{name}/infer", json.dumps({"inputs": tensors}).encode()
            )
            assert status == 200 and answer["model_name"] == name, answer

        status, _, answer = post(port, "/v2/models/mnist/infer", b"{not json")
        assert status == 400 and "not JSON" in answer["error"]
        assert post(port, "/predict/mnist", digit)[0] == 200
        if ON_LINUX:  # Ray's processes are the server's children, and theirs
            assert not off_loopback(tcp_sockets(process_tree(server.pid)))
    finally:
        code = stop_server(server)
    assert code == 0, "SIGTERM did not shut it down cleanly"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # Ray's proxy is gone with it


@pytest.mark.ray
@pytest.mark.slow
def test_on_a_cluster_the_replicas_spread_over_its_nodes(tmp_path, monkeypatch):
    import ray
    from ray import serve
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster
    from ray.util.state import list_actors

    # The cluster's nodes listen on 127.0.0.1 only. Whoever joins it must keep that address:
    # Ray would rewrite it to this machine's interface address, where nothing listens, unless
    # its cluster switch is off: in the server's environment, and in this process, whose Ray
    # read that environment when it was imported.
    for name, value in LOCAL_RAY_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
    # Two nodes of one CPU each: two replicas of one CPU fit only one on each.
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": LOOPBACK}
    )
    try:
        cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
        cluster.wait_for_nodes()
        port = free_port()
        options = ["--ray", "--address", cluster.address, "--replicas", "2"]
        # The replicas read the models from the job's working_dir, unpacked on each node.
        server, _ = start_server(
            models_dir(),
            port,
            tmp_path / "ray.log",
            timeout=300,
            options=options,
            ready="v2/health/ready",
        )
        try:
            digit = png_bytes(digit_drawing())
            # Serve prefers the replica on the proxy's own node until it is busy: rounds of
            # 16 at once, at most 8, until both have answered.
            answered: set[str] = set()
            with ThreadPoolExecutor(16) as pool:
                for _ in range(8):
                    answers = list(
                        pool.map(lambda _: post(port, "/predict/mnist", digit), range(32))
                    )
                    assert {status for status, _, _ in answers} == {200}
                    answered |= {replica for _, replica, _ in answers}
                    if len(answered) == 2:
                        break
            assert len(answered) == 2, answered
            ray.init(address=cluster.address)
            replicas = list_actors(
                filters=[
                    ("class_name", "=", f"ServeReplica:{APP_NAME}:Models"),
                    ("state", "=", "ALIVE"),
                ]
            )
            assert len({actor.node_id for actor in replicas}) == 2, replicas
            assert {node["NodeManagerAddress"] for node in ray.nodes()} == {LOOPBACK}
            if ON_LINUX:  # the nodes, the server and their workers all descend from this test
                assert not off_loopback(tcp_sockets(process_tree(os.getpid())))
        finally:
            code = stop_server(server)
        assert code == 0, (tmp_path / "ray.log").read_text()[-2000:]
        assert APP_NAME not in serve.status().applications
        assert any(
            a.class_name == "ServeController"
            for a in list_actors(filters=[("state", "=", "ALIVE")])
        )
    finally:
        ray.shutdown()
        cluster.shutdown()


class Socket(NamedTuple):
    state: str  # as /proc/net/tcp writes it: LISTEN, or another
    local: Address
    remote: Address
    process: str  # its name, as /proc/PID/comm holds it


def process_tree(root: int) -> set[int]:
    """``root`` and every process descended from it, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:  # the fields after the command's name, which may hold spaces
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # it ended meanwhile
    tree: set[int] = set()
    grown = {root}
    while grown:
        tree |= grown
        grown = {pid for pid, parent in parents.items() if parent in grown} - tree
    return tree


def tcp_sockets(pids: set[int]) -> list[Socket]:
    """Each TCP socket the processes hold, from /proc."""
    owners = {}  # socket inode -> the name of a process holding it
    for pid in pids:
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue  # it ended meanwhile
        inodes = [link[len("socket:[") : -1] for link in links if link.startswith("socket:[")]
        owners |= dict.fromkeys(inodes, name)
    sockets = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[9] in owners:
                sockets.append(
                    Socket(
                        fields[3],
                        proc_address(fields[1]),
                        proc_address(fields[2]),
                        owners[fields[9]],
                    )
                )
    assert sockets, "found no sockets of these processes: the check would prove nothing"
    return sockets


def proc_address(field: str) -> Address:
    """/proc/net/tcp's "0100007F:1F90" -> 127.0.0.1 (each 32-bit word in host byte order)."""
    raw = bytes.fromhex(field.split(":")[0])
    return ipaddress.ip_address(b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4)))


def off_loopback(sockets: list[Socket]) -> list[Socket]:
    """The sockets listening or connected anywhere but loopback (0.0.0.0 and :: included),
    less the one listener Ray Serve opens on every interface whatever the node's address:
    each replica's inter-deployment gRPC server (serve/_private/replica.py binds "[::]:0")."""

    def loopback(address: Address) -> bool:
        mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
        return address.is_loopback or bool(mapped and mapped.is_loopback)

    def serve_replica_listener(socket: Socket) -> bool:
        return socket.state == LISTEN and socket.process.startswith("ray::ServeRepli")

    return [
        socket
        for socket in sockets
        if (not loopback(socket.local) and not serve_replica_listener(socket))
        or (socket.state != LISTEN and not loopback(socket.remote))
    ]
