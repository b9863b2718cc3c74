"""``visionplay serve --ray --replicas 2``: a local Ray, two replicas behind Ray's proxy, the
same REST routes; requests reach both; SIGTERM shuts it all down. And ``--address`` of a
running cluster (two Ray nodes on this machine): the replicas spread over the nodes, and
SIGTERM takes down our application but leaves the cluster's Serve running."""

from __future__ import annotations

import http.client
import json
import socket
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import visionplay
from visionplay.bench import digit_drawing, free_port, png_bytes, start_server, stop_server
from visionplay.cli.serve import APP_NAME
from visionplay.inference import list_exported, models_dir

pytest.importorskip("ray.serve", reason="Ray Serve is the optional extra visionplay[ray]")


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
    server, _ = start_server(models_dir(), port, tmp_path / "ray.log", timeout=300,
                             options=options, ready="v2/health/ready")  # fmt: skip
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

        # Every shipped model travelled to the replicas: an FP32 infer on each.
        for name in list_exported():
            model = visionplay.load(name)
            batch = np.zeros((1, *model.cfg.input_size), np.float32)
            tensor = {"name": "input", "datatype": "FP32", "shape": list(batch.shape),
                      "data": batch.ravel().tolist()}  # fmt: skip
            status, _, answer = post(port, f"/v2/models/{name}/infer",
                                     json.dumps({"inputs": [tensor]}).encode())  # fmt: skip
            assert status == 200 and answer["model_name"] == name, answer

        status, _, answer = post(port, "/v2/models/mnist/infer", b"{not json")
        assert status == 400 and "not JSON" in answer["error"]
        assert post(port, "/predict/mnist", digit)[0] == 200
    finally:
        code = stop_server(server)
    assert code == 0, "SIGTERM did not shut it down cleanly"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # Ray's proxy is gone with it


@pytest.mark.ray
@pytest.mark.slow
def test_on_a_cluster_the_replicas_spread_over_its_nodes(tmp_path):
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster
    from ray.util.state import list_actors

    # Two nodes of one CPU each: two replicas of one CPU fit only one on each.
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        port = free_port()
        options = ["--ray", "--address", cluster.address, "--replicas", "2"]
        # The replicas read the models from the job's working_dir, unpacked on each node.
        server, _ = start_server(models_dir(), port, tmp_path / "ray.log", timeout=300,
                                 options=options, ready="v2/health/ready")  # fmt: skip
        try:
            digit = png_bytes(digit_drawing())
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda _: post(port, "/predict/mnist", digit), range(32)))
            assert {status for status, _, _ in answers} == {200}
            assert len({replica for _, replica, _ in answers}) == 2
            ray.init(address=cluster.address)
            replicas = list_actors(filters=[("class_name", "=", f"ServeReplica:{APP_NAME}:Models"),
                                            ("state", "=", "ALIVE")])  # fmt: skip
            assert len({actor.node_id for actor in replicas}) == 2, replicas
        finally:
            code = stop_server(server)
        assert code == 0, (tmp_path / "ray.log").read_text()[-2000:]
        assert APP_NAME not in serve.status().applications
        assert any(a.class_name == "ServeController" for a in list_actors(
            filters=[("state", "=", "ALIVE")]))  # fmt: skip
    finally:
        ray.shutdown()
        cluster.shutdown()
