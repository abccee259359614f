-- One fraud label per transaction id (its latest version).
with labels as (
    {{ latest_version(source('landing', 'fraud_labels'), 'id') }}
)

select
    id as transaction_id,
    is_fraud
from labels
