import json
from dataclasses import replace

import pytest

from kuscia.types import BandwidthLimit, JobResource, Party, ScheduleConfig, TaskSpec
from operate.job_templates import example_spec, get_template
from operate.jobspec import errors, validate_spec, warnings


def fields(problems):
    return {p.field for p in errors(problems)}


def test_example_template_is_valid():
    spec = example_spec()
    assert validate_spec(spec) == []
    assert [t.alias for t in spec.tasks] == ["job-psi", "job-split"]
    assert spec.tasks[1].dependencies == ("job-psi",)
    config = json.loads(spec.tasks[0].task_input_config)
    assert config["sf_input_ids"] == ["alice-table", "bob-table"]
    assert config["sf_output_ids"] == ["psi-output-0", "psi-output-1"]
    assert len(config["sf_node_eval_param"]["attr_paths"]) == 9
    assert len(config["sf_node_eval_param"]["attrs"]) == 9
    spu = config["sf_cluster_desc"]["devices"][0]
    assert json.loads(spu["config"])["runtime_config"]["protocol"] == "SEMI2K"
    split = json.loads(spec.tasks[1].task_input_config)
    assert split["sf_input_ids"] == ["psi-output-0"]
    assert split["sf_output_uris"] == ["train-dataset.csv", "test-dataset.csv"]
    assert get_template("psi-split") is not None


@pytest.mark.parametrize(
    "job_id,ok",
    [
        ("a", True),
        ("job-1.v2", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("-a", False),
        ("a-", False),
        ("Job", False),
        ("job_1", False),
        ("", False),
        ("a.b", True),
    ],
)
def test_job_id_regex(job_id, ok):
    spec = replace(example_spec(), job_id=job_id)
    assert ("job_id" not in fields(validate_spec(spec))) is ok


def test_job_id_in_use():
    problems = validate_spec(example_spec(), existing_job_ids={"job-best-effort-linear"})
    assert fields(problems) == {"job_id"}


@pytest.mark.parametrize("value,ok", [(0, False), (1, True), (128, True), (129, False)])
def test_parallelism_range(value, ok):
    spec = replace(example_spec(), max_parallelism=value)
    assert ("max_parallelism" not in fields(validate_spec(spec))) is ok


def test_task_count_limits():
    spec = example_spec()
    assert "tasks" in fields(validate_spec(replace(spec, tasks=())))
    many = tuple(
        replace(spec.tasks[0], alias=f"t{i}", task_id=f"t{i}", dependencies=()) for i in range(129)
    )
    assert "tasks" in fields(validate_spec(replace(spec, tasks=many)))
    assert "tasks" not in fields(validate_spec(replace(spec, tasks=many[:128])))


def test_custom_fields_label_rules():
    spec = replace(
        example_spec(),
        custom_fields={"ok-key": "v1", "x" * 39: "v", "bad key": "v", "k": "y" * 64, "e": ""},
    )
    assert fields(validate_spec(spec)) == {
        "custom_fields.1.key",
        "custom_fields.2.key",
        "custom_fields.3.value",
    }


def test_dependency_naming_no_alias_and_self():
    spec = example_spec()
    split = replace(spec.tasks[1], dependencies=("job-psix",))
    problems = validate_spec(replace(spec, tasks=(spec.tasks[0], split)))
    assert fields(problems) == {"tasks.1.dependencies"}
    assert "names no task alias" in errors(problems)[0].message
    selfdep = replace(spec.tasks[1], dependencies=("job-split",))
    assert fields(validate_spec(replace(spec, tasks=(spec.tasks[0], selfdep)))) == {
        "tasks.1.dependencies"
    }


def test_dependency_by_task_id_instead_of_alias_is_caught():
    spec = example_spec()
    psi = replace(spec.tasks[0], alias="psi")
    problems = validate_spec(replace(spec, tasks=(psi, spec.tasks[1])))
    assert "tasks.1.dependencies" in fields(problems)


def test_cycle_detected_once():
    spec = example_spec()
    a = replace(spec.tasks[0], dependencies=("job-split",))
    problems = validate_spec(replace(spec, tasks=(a, spec.tasks[1])))
    cycle = [p for p in errors(problems) if "cycle" in p.message]
    assert len(cycle) == 1 and cycle[0].field == "tasks.0.dependencies"


def test_long_cycle_and_dag_without_cycle():
    base = example_spec().tasks[0]
    chain = tuple(
        replace(base, alias=f"t{i}", task_id=f"t{i}", dependencies=(f"t{(i + 1) % 5}",))
        for i in range(5)
    )
    spec = replace(example_spec(), tasks=chain)
    assert sum("cycle" in p.message for p in validate_spec(spec)) == 1
    dag = tuple(
        replace(t, dependencies=tuple(f"t{j}" for j in range(i))) for i, t in enumerate(chain)
    )
    assert fields(validate_spec(replace(spec, tasks=dag))) == set()


def test_duplicates_and_bad_task_ids():
    spec = example_spec()
    dup = replace(spec.tasks[1], alias="job-psi", task_id="job-psi", dependencies=())
    assert fields(validate_spec(replace(spec, tasks=(spec.tasks[0], dup)))) == {
        "tasks.1.alias",
        "tasks.1.task_id",
    }
    for bad in ("Job-Psi", "job_psi", "job.psi", "-x", "x" * 64):
        t = replace(spec.tasks[0], task_id=bad)
        assert "tasks.0.task_id" in fields(validate_spec(replace(spec, tasks=(t,))))
    t = replace(spec.tasks[0], task_id="")
    assert "tasks.0.task_id" in fields(validate_spec(replace(spec, tasks=(t,))))


def test_task_id_in_use_by_other_job():
    spec = example_spec()
    problems = validate_spec(spec, existing_task_ids={"job-psi": "other-job"})
    assert fields(problems) == {"tasks.0.task_id"}


def test_malformed_task_input_config():
    spec = example_spec()
    t = replace(spec.tasks[0], task_input_config='{"sf_input_ids": [}')
    assert fields(validate_spec(replace(spec, tasks=(t, spec.tasks[1])))) == {
        "tasks.0.task_input_config"
    }
    empty = replace(spec.tasks[0], task_input_config="")
    assert fields(validate_spec(replace(spec, tasks=(empty, spec.tasks[1])))) == set()


def test_initiator_not_party_is_warning_only():
    spec = replace(example_spec(), initiator="carol")
    problems = validate_spec(spec)
    assert fields(problems) == set()
    assert [p.field for p in warnings(problems)] == ["initiator"]
    assert fields(validate_spec(replace(spec, initiator=""))) == {"initiator"}
    assert fields(validate_spec(example_spec(), local_domain="bob")) == {"initiator"}


def test_parties_and_resources():
    spec = example_spec()
    t = replace(
        spec.tasks[0],
        parties=(
            Party("alice", resources=JobResource(cpu="500m", memory="2Gi", bandwidth="100")),
            Party("", role=""),
            Party("bob", resources=JobResource(cpu="lots")),
            Party("bob", role="x y"),
            Party("alice", resources=JobResource(memory="2Gi")),
            Party("Carol", bandwidth_limits=(BandwidthLimit("", 0),)),
        ),
    )
    assert fields(validate_spec(replace(spec, tasks=(t, spec.tasks[1])))) == {
        "tasks.0.parties.1.domain_id",
        "tasks.0.parties.2.cpu",
        "tasks.0.parties.3.role",
        "tasks.0.parties.4.domain_id",
        "tasks.0.parties.5.domain_id",
        "tasks.0.parties.5.bandwidth_limits",
    }
    none = replace(spec.tasks[0], parties=())
    assert "tasks.0.parties" in fields(validate_spec(replace(spec, tasks=(none, spec.tasks[1]))))


def test_schedule_and_priority_bounds():
    spec = example_spec()
    t = replace(
        spec.tasks[0],
        priority=2**31,
        schedule_config=ScheduleConfig(task_timeout_seconds=-1, resource_reserved_seconds=30),
    )
    assert fields(validate_spec(replace(spec, tasks=(t, spec.tasks[1])))) == {
        "tasks.0.priority",
        "tasks.0.task_timeout_seconds",
    }


def test_tolerable_parent_warns():
    spec = example_spec()
    psi = replace(spec.tasks[0], tolerable=True)
    problems = validate_spec(replace(spec, tasks=(psi, spec.tasks[1])))
    assert fields(problems) == set()
    assert any(p.field == "tasks.1.dependencies" for p in warnings(problems))


def test_empty_alias():
    spec = example_spec()
    t = TaskSpec(alias="", task_id="x", app_image="img", parties=(Party("alice"),))
    assert "tasks.0.alias" in fields(validate_spec(replace(spec, tasks=(t,))))
