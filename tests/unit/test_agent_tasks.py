"""The benchmark's coding tasks (bench/agent_tasks): they load, the tester sees their tests, and
their repositories get the same commit id everywhere."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bdg_tester.detection.detect import Framework, Kind, Language, detect_projects
from bench.agent_bench import select
from bench.agent_tasks.tasks import AgentTask, TaskError, load_tasks, make_repo, split_of

pytestmark = pytest.mark.timeout(30)

TASKS = load_tasks()
GOOD_TOML = """\
goal = "make add() handle negative numbers"
language = "python"
hidden_test = ["python3", "-m", "unittest"]
visible_tests_pass_before = true
"""


def test_every_task_loads_with_a_unique_id_and_enough_of_each_language() -> None:
    ids = [t.id for t in TASKS]
    assert ids == sorted(set(ids))
    languages = Counter(t.language for t in TASKS)
    assert languages["python"] >= 6
    assert languages["javascript"] >= 6
    assert {t.difficulty for t in TASKS} >= {"trivial", "hard"}


def test_the_halves_are_even_per_language_and_fixed_by_the_id() -> None:
    assert len(TASKS) >= 26
    halves = Counter((t.language, t.split) for t in TASKS)
    # 6 per language and half on the first 24; of the two added on 2026-12-06, one each way
    assert halves == {
        ("python", "dev"): 6,
        ("python", "heldout"): 7,
        ("javascript", "dev"): 7,
        ("javascript", "heldout"): 6,
    }
    # Pinned: a changed rule would move held-out tasks into dev after results were seen there.
    assert [split_of(i) for i in ("py-roman-parse", "js-chunk", "py-config-port")] == [
        "heldout",
        "heldout",
        "dev",
    ]


def test_the_bench_runs_one_half_unless_tasks_are_named() -> None:
    dev, held = select(TASKS, "", "dev"), select(TASKS, "", "heldout")
    assert {t.split for t in dev} == {"dev"}
    assert {t.split for t in held} == {"heldout"}
    assert len(dev) + len(held) == len(select(TASKS, "", "all")) == len(TASKS)
    named = held[0].id
    assert [t.id for t in select(TASKS, named, "dev")] == [named]


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_a_task_is_complete_and_small(task: AgentTask) -> None:
    repo, hidden = task.repo_files(), task.hidden_files()
    assert task.id.startswith({"python": "py-", "javascript": "js-"}[task.language])
    assert len(task.goal) > 40
    sources = [p for p in repo if p.endswith((".py", ".js")) and "test" not in p]
    assert 1 <= len(sources) <= 4
    assert all(len(repo[p].splitlines()) <= 80 for p in sources)
    assert hidden
    assert not set(hidden) & set(repo)  # the hidden tests never overwrite the agent's files
    changed = re.findall(r"^\+\+\+ b/(.+)$", task.solution(), re.M)
    assert changed
    assert not set(changed) & set(hidden)
    # A file the solution adds (a refactor's new module) is one the goal names.
    assert all(path in task.goal for path in set(changed) - set(repo))


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_the_tester_finds_one_project_with_tests(task: AgentTask) -> None:
    projects = detect_projects(task.repo_files())
    assert len(projects) == 1, projects
    project = projects[0]
    assert project.has_tests
    assert project.test
    if task.language == "python":
        assert (project.kind, project.framework) == (Kind.python, Framework.pytest)
        assert ("python", "-m", "pip", "install", "-r", "requirements-dev.txt") in project.install
    else:
        assert (project.kind, project.language) == (Kind.node, Language.javascript)
        assert project.framework is Framework.node_test
        assert project.test[:2] == ("node", "--test")


def test_make_repo_gives_the_same_commit_twice(tmp_path: Path) -> None:
    task = TASKS[0]
    first = make_repo(task, tmp_path / "first")
    second = make_repo(task, tmp_path / "second")
    assert first == second
    assert re.fullmatch(r"[0-9a-f]{40}", first)
    assert (tmp_path / "first" / ".git").is_dir()
    assert {p for p in task.repo_files() if (tmp_path / "second" / p).is_file()} == set(
        task.repo_files()
    )


def test_make_repo_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(FileExistsError):
        make_repo(TASKS[0], tmp_path)


def _task_folder(root: Path, toml: str, name: str = "py-sample") -> Path:
    folder = root / name
    (folder / "repo").mkdir(parents=True)
    (folder / "hidden").mkdir()
    (folder / "solution.patch").write_text("")
    (folder / "task.toml").write_text(toml)
    return folder


def test_a_well_formed_folder_loads(tmp_path: Path) -> None:
    _task_folder(tmp_path, GOOD_TOML)
    (tmp_path / "_notes").mkdir()  # not a task
    [task] = load_tasks(tmp_path)
    assert (task.id, task.language, task.hidden_test[0]) == ("py-sample", "python", "python3")
    assert (task.visible_tests_pass_before, task.difficulty) == (True, "medium")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (GOOD_TOML.replace("goal = ", "aim = "), "missing key 'goal'"),
        (GOOD_TOML.replace('"python"', '"rust"'), "language 'rust' is not one of"),
        (GOOD_TOML.replace('["python3", "-m", "unittest"]', "[]"), "'hidden_test' must be a non-"),
        (GOOD_TOML.replace('["python3", "-m", "unittest"]', '"python3"'), "must be a list"),
        (GOOD_TOML.replace("true", '"yes"'), "'visible_tests_pass_before' must be a bool"),
        (GOOD_TOML.replace("visible_tests_pass_before = true\n", ""), "missing key 'visible_"),
        (GOOD_TOML + 'difficulty = "epic"\n', "difficulty 'epic'"),
        ("goal = \n", "not valid TOML"),
    ],
)
def test_a_malformed_task_toml_is_named_in_the_error(
    tmp_path: Path, toml: str, message: str
) -> None:
    folder = _task_folder(tmp_path, toml)
    with pytest.raises(TaskError, match=re.escape(message)) as raised:
        load_tasks(tmp_path)
    assert str(raised.value).startswith(str(folder / "task.toml"))


def test_a_folder_without_task_toml_or_its_parts_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "js-empty").mkdir()
    with pytest.raises(TaskError, match=r"no task\.toml"):
        load_tasks(tmp_path)
    (tmp_path / "js-empty").rmdir()
    folder = _task_folder(tmp_path, GOOD_TOML)
    (folder / "solution.patch").unlink()
    with pytest.raises(TaskError, match=r"no solution\.patch"):
        load_tasks(tmp_path)
