"""Sealing My Numbers at rest: encrypted when stored, opened only with the portal's keys."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from portal import create_app
from portal.config import ConfigError, load_settings
from portal.definitions.fields import load_value, seal_data, stored_value
from portal.definitions.schema import GroupField, MyNumberField, TextField
from portal.definitions.sealing import Sealer, SealingError, is_sealed, unsealed
from tests.conftest import app_config

MY_NUMBER = "123456789018"
LABEL = {"ja": "番号", "en": "Number"}
NUMBER = MyNumberField(type="my_number", label=LABEL, legal_basis="番号法第9条")
NAME = TextField(type="text", label=LABEL)
CHILDREN = GroupField(
    type="group",
    label=LABEL,
    repeatable=True,
    fields={"name": NAME, "my_number": NUMBER},
)


def test_a_sealed_value_says_so_and_opens_only_with_the_key():
    sealer = Sealer([Fernet.generate_key().decode()])
    sealed = sealer.seal(MY_NUMBER)
    assert is_sealed(sealed) and MY_NUMBER not in sealed
    assert sealer.seal(MY_NUMBER) != sealed  # a fresh nonce each time: equal numbers look different
    assert sealer.unseal(sealed) == MY_NUMBER
    with pytest.raises(SealingError):
        Sealer([Fernet.generate_key().decode()]).unseal(sealed)
    with pytest.raises(SealingError):
        sealer.unseal("sealed:v1:not-a-token")


def test_keys_rotate_the_newest_seals_and_the_old_still_opens():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_before = Sealer([old]).seal(MY_NUMBER)
    rotated = Sealer([new, old])
    assert rotated.unseal(sealed_before) == MY_NUMBER
    resealed = rotated.reseal(sealed_before)
    assert Sealer([new]).unseal(resealed) == MY_NUMBER


def test_only_my_numbers_are_sealed_also_inside_groups(app):
    with app.app_context():
        assert is_sealed(stored_value(NUMBER, MY_NUMBER))
        assert stored_value(NAME, "鈴木") == "鈴木"
        items = [{"name": "蓮", "my_number": MY_NUMBER}, {"name": "葵"}]
        stored = seal_data(CHILDREN, items)
        assert stored[0]["name"] == "蓮" and is_sealed(stored[0]["my_number"])
        assert stored[1] == {"name": "葵"}
        assert seal_data(NUMBER, stored_value(NUMBER, MY_NUMBER)).count("sealed:v1:") == 1
        # Loading opens them again; plain digits (scenarios, older rows) load as before.
        assert load_value(NUMBER, stored_value(NUMBER, MY_NUMBER)) == MY_NUMBER
        assert load_value(NUMBER, MY_NUMBER) == MY_NUMBER
        assert unsealed(stored) == items


def test_nothing_is_sealed_outside_the_app():
    with pytest.raises(SealingError, match="inside the portal app"):
        stored_value(NUMBER, MY_NUMBER)


def test_production_needs_keys_and_refuses_a_malformed_one(tmp_path, database_url):
    production = app_config(database_url, PORTAL_ENV="production")
    production.pop("MY_NUMBER_KEYS", None)
    with pytest.raises(ConfigError, match="MY_NUMBER_KEYS must be set"):
        load_settings(production, tmp_path)
    with pytest.raises(ConfigError, match="key 2 is not a Fernet key"):
        load_settings(
            {**production, "MY_NUMBER_KEYS": f"{Fernet.generate_key().decode()},short"}, tmp_path
        )
    key = Fernet.generate_key().decode()
    app = create_app(app_config(database_url, MY_NUMBER_KEYS=key))
    with app.app_context():
        sealed = stored_value(NUMBER, MY_NUMBER)
    assert Sealer([key]).unseal(sealed) == MY_NUMBER
