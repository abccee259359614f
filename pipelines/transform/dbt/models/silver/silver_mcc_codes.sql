-- One row per merchant category code (its latest version).
with codes as (
    {{ latest_version(source('landing', 'mcc_codes'), 'mcc') }}
)

select
    mcc,
    description as mcc_description
from codes
