"""Job templates a user can start a new job from.

The one documented example (../shared/kuscia-api.md §10): PSI of alice's and bob's demo tables,
then a train/test split of the intersection. task_input_config is the SecretFlow image's JSON
document (datasource, cluster description, component call, input/output ids), composed here
from the documented facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kuscia.types import JobSpec, Party, TaskSpec

APP_IMAGE = "secretflow-image"


@dataclass(frozen=True)
class JobTemplate:
    slug: str
    title: Promise  # in the reader's language
    description: Promise
    spec: JobSpec


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def cluster_desc(parties: list[str]) -> dict[str, Any]:
    """sf_cluster_desc for SecretFlow: SPU (SEMI2K/FM128) and HEU (Paillier) over all parties.
    Device configs are themselves JSON strings, as the image expects."""
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
        "parties": list(parties),
        "devices": [
            {"name": "spu", "type": "spu", "parties": list(parties), "config": _dumps(spu)},
            {"name": "heu", "type": "heu", "parties": list(parties), "config": _dumps(heu)},
        ],
        "ray_fed_config": {"cross_silo_comm_backend": "brpc_link"},
    }


def task_input_config(
    *,
    parties: list[str],
    eval_param: dict[str, Any],
    input_ids: list[str],
    output_ids: list[str],
    output_uris: list[str],
) -> str:
    document = {
        "sf_datasource_config": {p: {"id": "default-data-source"} for p in parties},
        "sf_cluster_desc": cluster_desc(parties),
        "sf_node_eval_param": eval_param,
        "sf_input_ids": input_ids,
        "sf_output_ids": output_ids,
        "sf_output_uris": output_uris,
    }
    return json.dumps(document, indent=2)


def psi_eval_param(
    keys1: str = "id1", keys2: str = "id2", receivers: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "domain": "data_prep",
        "name": "psi",
        "version": "1.0.0",
        "attr_paths": [
            "input/input_ds1/keys",
            "input/input_ds2/keys",
            "protocol",
            "sort_result",
            "receiver_parties",
            "allow_empty_result",
            "join_type",
            "input_ds1_keys_duplicated",
            "input_ds2_keys_duplicated",
        ],
        "attrs": [
            {"ss": [keys1]},
            {"ss": [keys2]},
            {"s": "PROTOCOL_RR22"},
            {"b": True},
            {"ss": list(receivers)},
            {"is_na": True},
            {"s": "inner_join"},
            {"b": True},
            {"b": True},
        ],
    }


def example_spec(
    job_id: str = "job-best-effort-linear", *, alice: str = "alice", bob: str = "bob"
) -> JobSpec:
    """The documented job-best-effort-linear: job-psi, then job-split depending on it."""
    parties = [alice, bob]
    psi = TaskSpec(
        alias="job-psi",
        task_id="job-psi",
        app_image=APP_IMAGE,
        parties=tuple(Party(domain_id=p) for p in parties),
        dependencies=(),
        priority=100,
        task_input_config=task_input_config(
            parties=parties,
            eval_param=psi_eval_param(receivers=tuple(parties)),
            input_ids=[f"{alice}-table", f"{bob}-table"],
            output_ids=["psi-output-0", "psi-output-1"],
            output_uris=["psi-output-0", "psi-output-1"],
        ),
    )
    split = TaskSpec(
        alias="job-split",
        task_id="job-split",
        app_image=APP_IMAGE,
        parties=tuple(Party(domain_id=p) for p in parties),
        dependencies=("job-psi",),
        priority=100,
        task_input_config=task_input_config(
            parties=parties,
            eval_param={"domain": "data_prep", "name": "train_test_split", "version": "1.0.0"},
            input_ids=["psi-output-0"],
            output_ids=["train-dataset", "test-dataset"],
            output_uris=["train-dataset.csv", "test-dataset.csv"],
        ),
    )
    return JobSpec(job_id=job_id, initiator=alice, max_parallelism=2, tasks=(psi, split))


TEMPLATES: dict[str, JobTemplate] = {
    "psi-split": JobTemplate(
        slug="psi-split",
        title=_("PSI → train/test split (alice, bob)"),
        description=_(
            "The documented example job-best-effort-linear: private set intersection of "
            "alice-table and bob-table, then a train/test split of the result."
        ),
        spec=example_spec(),
    ),
}


def get_template(slug: str) -> JobTemplate | None:
    return TEMPLATES.get(slug)
