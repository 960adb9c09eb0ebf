"""Downloading through huggingface_hub's client from a loopback Hub: clean runs, resume after a
cancel, a killed process or a broken connection, retries, and each failure's message."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from huggingface_hub import constants

from app.events import DownloadProgress
from app.models import (
    BusyError,
    Cancelled,
    DamagedError,
    DiskFullError,
    GatedError,
    HubError,
    ModelManager,
    NoNetworkError,
    State,
)
from tests.app.models.child import spec_for
from tests.app.models.conftest import BIG, file_size, wait_for
from tests.hubserver import Drop, Flip, HubServer, IgnoreRange, Stall, Status

REPO_ROOT = Path(__file__).resolve().parents[3]


def partial_of(manager: ModelManager, name: str = BIG) -> Path:
    return manager.folder / ".partial" / name


def data_starts(hub: HubServer, name: str = BIG) -> list[int]:
    """Where each successful request for ``name``'s bytes started."""
    return [s.start for s in hub.requests("data") if s.file == name and s.status in (200, 206)]


def assert_ready_with_served_bytes(manager: ModelManager, hub: HubServer) -> None:
    status = manager.status()
    assert status.state is State.READY
    for name, data in hub.files.items():
        assert (manager.folder / name).read_bytes() == data


def test_clean_download_is_verified_and_reports_progress(manager, hub):
    assert manager.status().state is State.MISSING
    events: list[DownloadProgress] = []

    status = manager.download(progress=events.append)

    assert status.ready and manager.path() == manager.folder
    assert_ready_with_served_bytes(manager, hub)
    for name, data in hub.files.items():
        assert hub.served(name) == len(data)  # each byte once
        mine = [e for e in events if e.file == name]
        assert mine[-1].state == "ready" and mine[-1].done == mine[-1].total == len(data)
        downloading = [e for e in mine if e.state == "downloading"]
        assert downloading[0].done == 0 and downloading[-1].done == len(data)
        assert downloading[-1].eta == 0
        assert any(e.state == "verifying" for e in mine)
    big = [e for e in events if e.file == BIG and e.state == "downloading" and e.done]
    assert big[-1].rate > 0
    assert not partial_of(manager).parent.exists()  # nothing left over


def test_token_goes_to_the_hub_but_not_to_the_cdn(manager, hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    manager.download()
    assert {s.authorization for s in hub.requests("resolve")} == {"Bearer hf_secret"}
    for s in hub.requests("data"):
        # LFS bytes come from a signed CDN address: the token must not travel there.
        assert s.authorization == ("" if s.file in hub.lfs else "Bearer hf_secret")


def test_xet_stored_files_are_fetched_through_the_hub_redirect(manager, hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    hub.xet = True
    manager.download()
    assert_ready_with_served_bytes(manager, hub)
    gets = [s for s in hub.requests("resolve") if s.method == "GET"]
    assert sorted(s.file for s in gets) == sorted(hub.lfs)
    assert all(s.authorization == "Bearer hf_secret" for s in gets)
    # The redirect leaves the Hub's origin, and the token stays behind.
    assert all(s.authorization == "" for s in hub.requests("data") if s.file in hub.lfs)


def test_cancel_keeps_partial_file_and_a_new_manager_continues(make_manager, hub):
    first = make_manager()
    cancel, release = threading.Event(), threading.Event()
    hub.fault(BIG, Stall(1_000_000, release))
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            first.download(cancel=cancel)
        except BaseException as e:  # noqa: BLE001 -- handed to the test thread
            outcome.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    wait_for(lambda: file_size(partial_of(first)) == 1_000_000)
    assert first.status().files[-1].state is State.DOWNLOADING  # what the GUI polls meanwhile
    cancel.set()
    release.set()
    worker.join()

    assert isinstance(outcome[0], Cancelled)
    assert "kept" in str(outcome[0])
    status = make_manager().status()
    assert status.state is State.PARTIAL and status.files[-1].done == 1_000_000
    before = hub.served(BIG)

    make_manager().download()  # a restart of the app

    assert data_starts(hub)[-1] == 1_000_000
    assert hub.served(BIG) - before == len(hub.files[BIG]) - 1_000_000
    assert_ready_with_served_bytes(first, hub)


def test_killed_process_resumes_where_it_stopped(make_manager, manifest, hub, hf_cache):
    release = threading.Event()
    hub.fault(BIG, Stall(1_200_000, release))
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.app.models.child",
         spec_for(manifest, hub.url, hf_cache), "download"],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    manager = make_manager()
    try:
        wait_for(lambda: file_size(partial_of(manager)) == 1_200_000)
    finally:
        child.kill()
        child.wait()
        release.set()
    before = hub.served(BIG)

    manager.download()

    assert data_starts(hub)[-1] == 1_200_000
    assert hub.served(BIG) - before == len(hub.files[BIG]) - 1_200_000
    assert_ready_with_served_bytes(manager, hub)


def test_ctrl_c_in_the_terminal_keeps_the_partial_file(make_manager, manifest, hub, hf_cache):
    release = threading.Event()
    hub.fault(BIG, Stall(700_000, release))
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.app.models.child",
         spec_for(manifest, hub.url, hf_cache), "download"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A runner started in the background ignores SIGINT, and so would the child (Python
        # installs its KeyboardInterrupt handler only over the default disposition); a terminal's
        # Ctrl-C reaches a foreground command with the default one.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    manager = make_manager()
    try:
        wait_for(lambda: file_size(partial_of(manager)) == 700_000)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=20)
    finally:
        child.kill()
        release.set()
    assert child.returncode == 130
    assert "Stopped" in err and "continue" in err and "Traceback" not in err
    assert file_size(partial_of(manager)) == 700_000
    manager.download()
    assert data_starts(hub)[-1] == 700_000


def test_dropped_connections_are_resumed_with_range_requests(manager, hub):
    hub.fault(BIG, Drop(500_000), Drop(700_000))
    manager.download()
    assert data_starts(hub) == [0, 500_000, 1_200_000]
    assert hub.served(BIG) == len(hub.files[BIG])
    assert_ready_with_served_bytes(manager, hub)


def test_busy_server_answers_are_retried(manager, hub):
    hub.fault("params.json", Status(502), kind="resolve")
    hub.fault(BIG, Status(503), Status(500))
    manager.download()
    statuses = [s.status for s in hub.requests("data") if s.file == BIG]
    assert statuses == [503, 500, 200]
    assert_ready_with_served_bytes(manager, hub)


def test_lasting_server_errors_are_reported_and_the_partial_file_kept(make_manager, hub):
    hub.fault(BIG, Drop(400_000), Status(503), Status(503), Status(503), Status(503))
    with pytest.raises(HubError) as err:
        make_manager(retries=3).download()
    assert "503" in str(err.value) and "kept" in str(err.value)
    manager = make_manager()
    assert manager.status().files[-1].done == 400_000
    manager.download()
    assert data_starts(hub)[-1] == 400_000
    assert_ready_with_served_bytes(manager, hub)


def test_a_connection_that_keeps_breaking_is_reported(manager, hub):
    hub.fault(BIG, *[Drop(0)] * 4)
    with pytest.raises(NoNetworkError, match="keeps failing"):
        manager.download()


def test_server_ignoring_range_restarts_the_file_cleanly(make_manager, hub):
    partial = partial_of(make_manager())
    partial.parent.mkdir(parents=True)
    partial.write_bytes(hub.files[BIG][:900_000])
    hub.fault(BIG, IgnoreRange())
    manager = make_manager()
    manager.download()
    assert hub.served(BIG) == len(hub.files[BIG])
    assert_ready_with_served_bytes(manager, hub)


def test_corrupted_transfer_is_damaged_and_deleted(manager, hub):
    hub.fault(BIG, Flip(1234))
    with pytest.raises(DamagedError) as err:
        manager.download()
    assert err.value.files == (BIG,) and BIG in str(err.value)
    assert not (manager.folder / BIG).exists()
    assert manager.status().files[-1].state is State.MISSING
    manager.download()
    assert_ready_with_served_bytes(manager, hub)


def test_damaged_partial_from_an_earlier_run_is_fetched_whole(make_manager, hub):
    partial = partial_of(make_manager())
    partial.parent.mkdir(parents=True)
    partial.write_bytes(bytes(1_000_000))  # zeros, as a crash can leave behind
    manager = make_manager()
    manager.download()
    assert data_starts(hub) == [1_000_000, 0]
    assert_ready_with_served_bytes(manager, hub)


@pytest.mark.parametrize("token, code, words", [
    (None, 401, "accept its terms"),
    ("hf_wrong", 403, "refused your token"),
])
def test_gated_repository_says_to_accept_terms_and_log_in(
    manager, hub, monkeypatch, token, code, words
):
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    hub.gated = True
    with pytest.raises(GatedError) as err:
        manager.download()
    message = str(err.value)
    assert words in message and f"{hub.url}/{hub.repo_id}" in message
    assert "hf auth login" in message and f"({code})" in message
    assert hub.requests("data") == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_server_gives_a_no_network_message(make_manager):
    manager = make_manager(endpoint=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(NoNetworkError, match="Cannot connect"):
        manager.download()
    assert manager.status().state is State.MISSING


def test_offline_mode_makes_no_request(manager, hub, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(NoNetworkError, match="HF_HUB_OFFLINE"):
        manager.download()
    assert hub.log == []


def test_too_little_disk_space_stops_before_downloading(manager, hub, monkeypatch):
    monkeypatch.setattr(
        shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**12, 10**12 - 10**6, 10**6)
    )
    with pytest.raises(DiskFullError) as err:
        manager.download()
    assert "1.0 MB is free" in str(err.value)
    assert hub.requests("data") == []


def test_a_second_download_at_the_same_time_is_refused(make_manager, hub):
    release = threading.Event()
    hub.fault(BIG, Stall(300_000, release))
    first: Callable[[], None] = make_manager().download
    worker = threading.Thread(target=first)
    worker.start()
    try:
        wait_for(lambda: file_size(partial_of(make_manager())) == 300_000)
        with pytest.raises(BusyError):
            make_manager().download()
    finally:
        release.set()
        worker.join()
    assert make_manager().status().ready  # the first one went on after its connection broke


def test_environment_endpoint_is_used(hub, manifest, hf_cache, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    manager = ModelManager(manifest, hf_cache=hf_cache, retry_wait=0.01)
    assert manager.download().ready
    assert os.path.samefile(manager.path(), manager.folder)
