"""The ``kg`` command as a user meets it: bad input gives one clear line and a non-zero exit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    # NEO4J_URI from CI must not send the embedded cases to the server
    return {
        "KG_CACHE": str(tmp_path / "cache"),
        "KG_HOME": str(tmp_path / "home"),
        "NEO4J_URI": None,
    }


def run(args: list[str], env: dict[str, str | None]):
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def one_line_error(result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output + result.stderr
    return lines[0]


def test_an_attack_bundle_that_is_not_json(tmp_path, env):
    bundle = tmp_path / "enterprise-attack.json"
    bundle.write_text("<html>not a bundle</html>")
    result = run(
        ["build", "--only", "attack", "--attack", str(bundle), "--db", str(tmp_path / "g")], env
    )
    line = one_line_error(result)
    assert str(bundle) in line and "JSON" in line


def test_a_missing_attack_bundle(tmp_path, env):
    missing = tmp_path / "nowhere" / "enterprise-attack.json"
    result = run(
        ["build", "--only", "attack", "--attack", str(missing), "--db", str(tmp_path / "g")], env
    )
    assert str(missing) in one_line_error(result)


def test_a_broken_object_is_reported_and_the_rest_loads(tmp_path, env):
    report = tmp_path / "report.json"
    args = ["build", "--only", "attack", "--attack", str(FIXTURES / "attack_mini.json")]
    result = run([*args, "--db", str(tmp_path / "g"), "--report", str(report)], env)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert len(data["attack_errors"]) == 2
    assert any("'id' is missing" in line for line in data["attack_errors"])
    assert data["counts"]["Technique"] >= 4
    assert "ATT&CK objects could not be read" in result.output


def test_an_unknown_canned_query(tmp_path, env):
    run(
        [
            "build",
            "--only",
            "attack",
            "--attack",
            str(FIXTURES / "attack_mini.json"),
            "--db",
            str(tmp_path / "g"),
        ],
        env,
    )
    result = run(["query", "no_such_query", "--db", str(tmp_path / "g")], env)
    assert "unknown query 'no_such_query'" in one_line_error(result)


def test_querying_before_building(tmp_path, env):
    result = run(["info", "--db", str(tmp_path / "never-built")], env)
    assert "build it first" in one_line_error(result)


@pytest.mark.neo4j
def test_a_wrong_neo4j_password(env):
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        pytest.skip("NEO4J_URI is not set: no Neo4j server to test against")
    result = run(["info", "--neo4j", uri, "--password", "certainly-not-the-password"], env)
    line = one_line_error(result)
    assert uri in line and "password" in line.lower()
