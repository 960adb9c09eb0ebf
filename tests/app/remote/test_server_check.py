"""``voxcap server check`` and the settings' Test connection, against a fake vLLM server."""
from __future__ import annotations

from app.cli import main
from app.live.remote_check import check_server
from tests.app.remote.fake_server import FakeServer


def test_a_good_server_is_reachable_has_the_model_and_says_its_delay(fake_vllm):
    result = check_server(fake_vllm.url, "tiny", None)
    assert result.ok
    assert result.delay_ms == 480
    assert result.lines == [
        f"Reachable: {fake_vllm.url}/v1/realtime",
        "No API key needed.",
        "Model found: tiny",
        "Delay: set by the server (480 ms).",
    ]


def test_the_only_model_is_chosen_and_a_missing_one_lists_the_others():
    with FakeServer(models=("a", "b")) as server:
        result = check_server(server.url, "c", None)
        assert not result.ok
        assert result.lines[-1] == "Model 'c' not found; the server has: a, b."
        assert check_server(server.url, None, None).lines[-1] == (
            "Choose a model; the server has: a, b.")
    with FakeServer(models=("only",)) as server:
        result = check_server(server.url, None, None)
        assert result.ok and result.model == "only"


def test_key_refused_or_missing_is_said_plainly():
    with FakeServer(api_key="secret-1") as server:
        wrong = check_server(server.url, "tiny", "secret-2")
        assert wrong.reachable and wrong.key_accepted is False and not wrong.ok
        assert "API key refused" in wrong.lines[-1]
        assert "secret" not in " ".join(wrong.lines)
        missing = check_server(server.url, "tiny", None)
        assert "needs an API key" in missing.lines[-1]
        assert check_server(server.url, "tiny", "secret-1").ok


def test_unreachable_says_not_reachable():
    with FakeServer() as server:
        url = server.url
    result = check_server(url, "tiny", None, timeout=3)
    assert not result.reachable and not result.ok
    assert result.lines[0].startswith("Not reachable: cannot reach 127.0.0.1")


def test_the_command_prints_the_findings_and_uses_the_env_key(capsys, monkeypatch):
    with FakeServer(api_key="env-key") as server:
        monkeypatch.setenv("VOXCAP_API_KEY", "env-key")
        assert main(["server", "check", server.url]) == 0
        out = capsys.readouterr().out
        assert "API key accepted." in out and "Model: tiny" in out
        monkeypatch.setenv("VOXCAP_API_KEY", "other")
        assert main(["server", "check", server.url]) == 1
        out = capsys.readouterr()
        assert "API key refused" in out.out and "other" not in out.out + out.err
