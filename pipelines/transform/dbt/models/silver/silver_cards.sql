-- One row per card id (its latest version), typed: months as dates, the credit limit as a decimal.
with cards as (
    {{ latest_version(source('landing', 'cards'), 'id') }}
)

select
    id as card_id,
    client_id,
    card_brand,
    card_type,
    card_number,
    cast(expires || '-01' as date) as expires_month,
    cvv,
    has_chip,
    num_cards_issued,
    cast(credit_limit as decimal(18, 2)) as credit_limit,
    cast(acct_open_date || '-01' as date) as account_opened_month,
    year_pin_last_changed,
    card_on_dark_web
from cards
