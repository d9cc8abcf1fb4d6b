"""The documented example job, the demo jobs and the demo network the simulator starts with
(kuscia-api.md §10)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .world import World

JSON = dict[str, Any]


def _cluster_desc(parties: list[str]) -> JSON:
    spu = {
        "runtime_config": {"protocol": "SEMI2K", "field": "FM128"},
        "link_desc": {
            "connect_retry_times": 60,
            "connect_retry_interval_ms": 1000,
            "brpc_channel_protocol": "http",
            "brpc_channel_connection_type": "pooled",
            "recv_timeout_ms": 1200000,
            "http_timeout_ms": 1200000,
        },
    }
    heu = {"mode": "PHEU", "schema": "paillier", "key_size": 2048}
    return {
        "parties": parties,
        "devices": [
            {"name": "spu", "type": "spu", "parties": parties, "config": json.dumps(spu)},
            {"name": "heu", "type": "heu", "parties": parties, "config": json.dumps(heu)},
        ],
        "ray_fed_config": {"cross_silo_comm_backend": "brpc_link"},
    }


def task_input_config(
    parties: list[str],
    component: tuple[str, str],
    inputs: list[str],
    outputs: list[str],
    uris: list[str] | None = None,
    attrs: list[tuple[str, JSON]] | None = None,
) -> str:
    node: JSON = {"domain": component[0], "name": component[1], "version": "1.0.0"}
    if attrs:
        node["attr_paths"] = [p for p, _ in attrs]
        node["attrs"] = [a for _, a in attrs]
    return json.dumps(
        {
            "sf_datasource_config": {p: {"id": "default-data-source"} for p in parties},
            "sf_cluster_desc": _cluster_desc(parties),
            "sf_node_eval_param": node,
            "sf_input_ids": inputs,
            "sf_output_ids": outputs,
            "sf_output_uris": uris if uris is not None else outputs,
        }
    )


PSI_ATTRS: list[tuple[str, JSON]] = [
    ("input/input_ds1/keys", {"is_na": False, "ss": ["id1"]}),
    ("input/input_ds2/keys", {"is_na": False, "ss": ["id2"]}),
    ("protocol", {"is_na": False, "s": "PROTOCOL_RR22"}),
    ("sort_result", {"is_na": False, "b": True}),
    ("receiver_parties", {"is_na": False, "ss": ["alice", "bob"]}),
    ("allow_empty_result", {"is_na": True}),
    ("join_type", {"is_na": False, "s": "inner_join"}),
    ("input_ds1_keys_duplicated", {"is_na": False, "b": True}),
    ("input_ds2_keys_duplicated", {"is_na": False, "b": True}),
]


def _party_list(parties: list[str]) -> list[JSON]:
    return [{"domain_id": p} for p in parties]


def example_job(job_id: str = "job-best-effort-linear", *, prefix: str = "job") -> JSON:
    """The docs' CreateJob request: job-psi → job-split between alice and bob. Task ids name
    cluster-wide objects, so a second such job running at once needs another `prefix`
    (<prefix>-psi → <prefix>-split)."""
    ab = ["alice", "bob"]
    psi, split = f"{prefix}-psi", f"{prefix}-split"
    return {
        "job_id": job_id,
        "initiator": "alice",
        "max_parallelism": 2,
        "tasks": [
            {
                "task_id": psi,
                "alias": psi,
                "app_image": "secretflow-image",
                "parties": _party_list(ab),
                "dependencies": [],
                "priority": 100,
                "task_input_config": task_input_config(
                    ab,
                    ("data_prep", "psi"),
                    ["alice-table", "bob-table"],
                    ["psi-output-0", "psi-output-1"],
                    attrs=PSI_ATTRS,
                ),
            },
            {
                "task_id": split,
                "alias": split,
                "app_image": "secretflow-image",
                "parties": _party_list(ab),
                "dependencies": [psi],
                "priority": 100,
                "task_input_config": task_input_config(
                    ab,
                    ("data_prep", "train_test_split"),
                    ["psi-output-0"],
                    ["train-dataset", "test-dataset"],
                    ["train-dataset.csv", "test-dataset.csv"],
                ),
            },
        ],
    }


def _task(
    task_id: str, parties: list[str], deps: list[str], component: tuple[str, str], **kw: Any
) -> JSON:
    return {
        "task_id": task_id,
        "alias": task_id,
        "app_image": "secretflow-image",
        "parties": _party_list(parties),
        "dependencies": deps,
        "priority": kw.pop("priority", 100),
        "task_input_config": task_input_config(
            parties, component, kw.pop("inputs", []), kw.pop("outputs", [f"{task_id}-out"])
        ),
        **kw,
    }


def demo_jobs() -> list[JSON]:
    """Jobs the simulator starts with unless demo=False: they run over a few minutes."""
    ab = ["alice", "bob"]
    abc = ["alice", "bob", "carol"]
    failing = example_job("job-psi-fails-at-bob", prefix="fails")
    failing["custom_fields"] = {
        "sim-fail-task": "fails-psi",
        "sim-fail-party": "bob",
        "sim-fail-reason": "exit-code",
    }
    three = {
        "job_id": "job-three-party",
        "initiator": "carol",
        "max_parallelism": 2,
        "tasks": [
            _task("tp-psi", abc, [], ("data_prep", "psi"), inputs=["alice-table", "bob-table"]),
            _task("tp-stats", abc, ["tp-psi"], ("stats", "table_statistics")),
            _task("tp-lr", abc, ["tp-psi"], ("ml.train", "ss_sgd_train"), priority=200),
            _task("tp-predict", abc, ["tp-lr"], ("ml.predict", "ss_sgd_predict")),
        ],
    }
    branches = [
        _task(
            f"wd-feature-{i:02d}",
            ab,
            ["wd-psi"],
            ("preprocessing", "binary_op"),
            priority=100 + (i % 3),
        )
        for i in range(1, 19)
    ]
    wide = {
        "job_id": "job-wide-dag",
        "initiator": "alice",
        "max_parallelism": 4,
        "tasks": [
            _task("wd-psi", ab, [], ("data_prep", "psi"), inputs=["alice-table", "bob-table"]),
            *branches,
            _task(
                "wd-union",
                ab,
                [b["alias"] for b in branches],
                ("data_prep", "union"),
                tolerable=False,
            ),
        ],
    }
    return [example_job(), failing, three, wide]


def demo_network(world: World) -> None:
    """dave joins with two nodes, the second of which goes NotReady for 2 of every 8 minutes
    (simulated), and a certificate that expires in 20 days; it has routes with alice and bob
    but none with carol; the route alice->dave fails (HeartBeatTimeout) in step with the
    node."""
    world.add_domain("dave", nodes=2, cert_days=20)
    world.disconnect("carol", "dave")
    world.disconnect("dave", "carol")
    world.flap_node("dave", "root-kuscia-lite-dave-2", up=360, down=120)
    if ("alice", "dave") in world.routes:
        world.flap_route("alice", "dave", up=360, down=120, reason="HeartBeatTimeout")
