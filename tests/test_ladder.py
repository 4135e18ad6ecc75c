"""The ladder rules as plain tests: every allowed move, every forbidden one, random walks."""
import itertools
import random

import pytest

from services import ladder
from services.errors import IllegalTransition

ACTIONS = ["dispatch", "transfer", "settle", "terminate", "litigate", "follow_up", "reopen", "close"]


def test_ladders_read_like_the_article():
    assert [ladder.level_name("station", lv) for lv in ladder.LADDERS["station"]] == [
        "现场调解", "驻所母舅调解室", "市综治中心", "引导司法程序"]
    assert [ladder.level_name("village", lv) for lv in ladder.LADDERS["village"]] == [
        "现场调解", "住村母舅工作室", "乡镇综治中心", "市综治中心（线上）", "引导司法程序"]


EXPECTED = {
    # (status, is_last_rung) -> allowed actions (follow-up not yet satisfactory)
    ("registered", False): {"dispatch", "terminate"},
    ("mediating", False): {"settle", "transfer", "terminate"},
    ("mediating", True): {"litigate", "terminate"},
    ("settled", False): {"follow_up", "reopen"},
    ("terminated", False): {"close"},
    ("litigation", True): {"close"},
    ("closed", False): set(),
    ("closed", True): set(),
}


@pytest.mark.parametrize("mode", ["station", "village"])
def test_every_allowed_and_forbidden_move(mode):
    for level in ladder.LADDERS[mode]:
        last = level == "court"
        for status in ladder.STATUSES:
            key = (status, last)
            if key not in EXPECTED:
                continue
            allowed = set(ladder.allowed_moves(mode, level, status))
            assert allowed == EXPECTED[key], (mode, level, status)
            for action in ACTIONS:
                if action in allowed:
                    ladder.check_move(mode, level, status, action)
                else:
                    with pytest.raises(IllegalTransition) as exc:
                        ladder.check_move(mode, level, status, action)
                    assert exc.value.message  # a Chinese reason, not an empty refusal


@pytest.mark.parametrize("mode", ["station", "village"])
def test_transfer_moves_exactly_one_rung_up(mode):
    rungs = ladder.LADDERS[mode]
    for lower, upper in itertools.pairwise(rungs):
        assert ladder.check_move(mode, lower, "mediating", "transfer").to_level == upper
    with pytest.raises(IllegalTransition, match="最后一级|引导司法程序"):
        ladder.check_move(mode, "court", "mediating", "transfer")


def test_close_after_settlement_needs_a_satisfactory_follow_up():
    with pytest.raises(IllegalTransition, match="回访"):
        ladder.check_move("station", "station_room", "settled", "close", followed_up_ok=False)
    assert ladder.check_move("station", "station_room", "settled", "close", followed_up_ok=True).to_status == "closed"


def test_levels_of_the_other_ladder_are_refused():
    assert ladder.allowed_moves("station", "township", "mediating") == {}
    with pytest.raises(IllegalTransition):
        ladder.check_move("station", "village_room", "mediating", "settle")


@pytest.mark.parametrize("seed", range(30))
def test_random_walks_never_reach_an_invalid_state(seed):
    rng = random.Random(seed)
    mode = rng.choice(["station", "village"])
    level, status, followed = "onsite", "registered", False
    for _ in range(40):
        moves = ladder.allowed_moves(mode, level, status, followed)
        action = rng.choice(ACTIONS)
        if action not in moves:
            with pytest.raises(IllegalTransition):
                ladder.check_move(mode, level, status, action, followed)
            continue
        move = moves[action]
        assert ladder.LADDERS[mode].index(move.to_level) >= ladder.LADDERS[mode].index(level) or action == "reopen"
        level, status = move.to_level, move.to_status
        if action == "follow_up":
            followed = rng.random() < 0.8
        if action in ("reopen", "settle"):
            followed = False
        assert level in ladder.LADDERS[mode] and status in ladder.STATUSES
        if status == "closed":
            assert ladder.allowed_moves(mode, level, status) == {}
            break
