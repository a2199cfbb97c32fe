"""The linkage model's configuration: each model trains on its own EM blocks, and a conf that does not
say which blocks belong to which model stops with a message naming the key (no Spark needed)."""
from __future__ import annotations

import pytest

from dtsen.config import ConfigError
from dtsen.resolve.matcher import Matcher


def test_registry_and_agency_models_train_on_their_own_blocks(conf):
    em = conf.get("resolve.probabilistic.em_blocking_rules")
    assert Matcher(None, conf, dedupe=True).em_rules == em["dedupe"]
    assert Matcher(None, conf, dedupe=False).em_rules == em["link"]
    # agency records carry no KK: a block on it would hold no agency pair to train on
    assert not any("kk_token" in rule for rule in em["link"])


@pytest.mark.parametrize("bad", [[["name_key_token", "birth_date"]], {"dedupe": "name_key_token"},
                                 {"dedupe": [["name_key_token"]], "link": []}])
def test_em_blocks_without_a_list_per_model_stop_the_run(conf, bad):
    broken = conf.with_overrides({"resolve": {"probabilistic": {"em_blocking_rules": bad}}})
    with pytest.raises(ConfigError, match="em_blocking_rules.*`dedupe`.*`link`"):
        Matcher(None, broken, dedupe=True)


def test_an_unknown_column_in_an_em_block_is_named(conf):
    em = {"dedupe": [["name_key_token", "mother_name"]], "link": [["birth_date", "regency"]]}
    broken = conf.with_overrides({"resolve": {"probabilistic": {"em_blocking_rules": em}}})
    with pytest.raises(ConfigError, match="mother_name"):
        Matcher(None, broken, dedupe=True)
