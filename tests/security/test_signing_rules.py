"""The pure seal check: rotation, freshness window, tampering, and secrets kept out of repr."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.actors import Actor, Role
from domain.commands import SignConsent, Submission
from domain.signing import MAX_AGE, MAX_SKEW, Keyring, SignatureRefused, seal_model, verify_seal
from system.keys import KeyConfigError, load_keyring, parse_inline

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OLD = Keyring(active="k1", keys={"k1": b"1" * 32})
ROTATED = Keyring(active="k2", keys={"k1": b"1" * 32, "k2": b"2" * 32})


def _submission() -> Submission:
    return Submission(
        command=SignConsent(
            occurred_at=NOW,
            consent_version="1.0",
            signed_on=NOW.date(),
            childbearing_potential=False,
        ),
        actor=Actor(user_id="cora", role=Role.COORDINATOR),
    )


def _check(model: Submission, keyring: Keyring, now: datetime = NOW) -> None:
    verify_seal(model, model.seal, purpose="p", target="t", keyring=keyring, now=now)


def test_a_seal_made_with_the_old_key_still_verifies_after_rotation() -> None:
    sealed = seal_model(_submission(), purpose="p", target="t", keyring=OLD, issued_at=NOW)
    _check(sealed, ROTATED)
    new = seal_model(_submission(), purpose="p", target="t", keyring=ROTATED, issued_at=NOW)
    assert new.seal is not None and new.seal.key_id == "k2"
    with pytest.raises(SignatureRefused, match="unknown signing key 'k2'"):
        _check(new, OLD)


def test_the_seal_survives_the_json_round_trip_temporal_puts_it_through() -> None:
    sealed = seal_model(_submission(), purpose="p", target="t", keyring=OLD, issued_at=NOW)
    _check(Submission.model_validate_json(sealed.model_dump_json()), OLD)


def test_seals_outside_the_window_are_refused_at_both_ends() -> None:
    sealed = seal_model(_submission(), purpose="p", target="t", keyring=OLD, issued_at=NOW)
    _check(sealed, OLD, NOW + MAX_AGE)
    _check(sealed, OLD, NOW - MAX_SKEW)
    with pytest.raises(SignatureRefused, match="minutes ago"):
        _check(sealed, OLD, NOW + MAX_AGE + timedelta(seconds=1))
    with pytest.raises(SignatureRefused, match="in the future"):
        _check(sealed, OLD, NOW - MAX_SKEW - timedelta(seconds=1))


def test_a_missing_seal_or_another_purpose_is_refused() -> None:
    with pytest.raises(SignatureRefused, match="not signed"):
        _check(_submission(), OLD)
    sealed = seal_model(_submission(), purpose="other", target="t", keyring=OLD, issued_at=NOW)
    with pytest.raises(SignatureRefused, match="does not verify"):
        _check(sealed, OLD)


def test_keys_are_never_shown_and_short_keys_are_refused() -> None:
    assert "1111" not in repr(OLD)
    with pytest.raises(ValueError, match="shorter than 32 bytes"):
        Keyring(active="k", keys={"k": b"short"})
    with pytest.raises(KeyConfigError, match="not hexadecimal"):
        parse_inline("k1:zz", "JY231_SUBMISSION_KEYS")


def test_keys_come_from_the_environment_or_the_key_file(tmp_path: Path) -> None:
    inline = load_keyring(
        "submission", env={"JY231_SUBMISSION_KEYS": f"a:{'00' * 32},b:{'11' * 32}"}
    )
    assert inline.active == "a" and inline.key_ids == ("a", "b")
    path = tmp_path / "keys.toml"
    path.write_text(
        f'[payload]\nactive = "p2"\nkeys = {{ p1 = "{"22" * 32}", p2 = "{"33" * 32}" }}\n'
    )
    from_file = load_keyring("payload", env={"JY231_KEYS_FILE": str(path)})
    assert from_file.active == "p2" and from_file.keys["p1"] == b"\x22" * 32
    with pytest.raises(KeyConfigError, match="no \\[submission\\] section"):
        load_keyring("submission", env={"JY231_KEYS_FILE": str(path)})
