"""The preview notices a viewer that left by polling its socket; select() takes no descriptor at
or above 1024, and its ValueError counted every viewer as gone in a process with that many files
open (several cameras, a long-running service), so the stream stopped for all of them."""

from __future__ import annotations

import os
import resource
import socket

import pytest

from edgefill.sinks.mjpeg import _viewer_left

HIGH_FD = 1500


@pytest.fixture
def high_fd_pair():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= HIGH_FD:
        pytest.skip(f"this machine allows {hard} open files, below the {HIGH_FD} the test needs")
    if soft != resource.RLIM_INFINITY and soft <= HIGH_FD:
        resource.setrlimit(resource.RLIMIT_NOFILE, (HIGH_FD + 1, hard))
    a, b = socket.socketpair()
    os.dup2(b.fileno(), HIGH_FD)
    b.close()
    high = socket.socket(fileno=HIGH_FD)
    yield a, high
    a.close()
    high.close()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_viewer_on_a_high_descriptor_is_still_there(high_fd_pair):
    peer, conn = high_fd_pair
    assert conn.fileno() >= 1024
    assert _viewer_left(conn) is False


def test_a_viewer_on_a_high_descriptor_that_left_is_noticed(high_fd_pair):
    peer, conn = high_fd_pair
    peer.close()
    assert _viewer_left(conn) is True
