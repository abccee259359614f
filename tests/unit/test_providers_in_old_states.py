"""A Pulumi state names each dynamic resource's provider by the module it was pickled from, and refresh and
delete unpickle that one: states written before a provider moved must still load it."""

from __future__ import annotations

import base64

import dill
import pytest

from components.airflow.provider import ConnectionProvider, VariableProvider
from components.kafka_topic import TopicProvider
from components.schema_subject import SubjectProvider

#: the `__provider` of each kind in a devstack state written at 3def48d, before components/airflow/,
#: components/kafka_topic/ and components/schema_subject/ were packages
PROVIDERS_IN_AN_OLD_STATE = {
    "gASVNgAAAAAAAACMGmNvbXBvbmVudHMuYWlyZmxvd19vYmplY3RzlIwQVmFyaWFibGVQcm92aWRlcpSTlCmBlC4=": VariableProvider,
    "gASVOAAAAAAAAACMGmNvbXBvbmVudHMuYWlyZmxvd19vYmplY3RzlIwSQ29ubmVjdGlvblByb3ZpZGVylJOUKYGULg==": ConnectionProvider,
    "gASVLwAAAAAAAACMFmNvbXBvbmVudHMua2Fma2FfdG9waWOUjA1Ub3BpY1Byb3ZpZGVylJOUKYGULg==": TopicProvider,
    "gASVNAAAAAAAAACMGWNvbXBvbmVudHMuc2NoZW1hX3N1YmplY3SUjA9TdWJqZWN0UHJvdmlkZXKUk5QpgZQu": SubjectProvider,
}


@pytest.mark.parametrize(("serialized", "provider"), PROVIDERS_IN_AN_OLD_STATE.items())
def test_a_provider_pickled_under_its_old_module_still_loads(serialized: str, provider: type) -> None:
    # dill is what pulumi.dynamic unpickles a state's `__provider` with
    assert type(dill.loads(base64.b64decode(serialized))) is provider
