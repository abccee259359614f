-- One row per client id (its latest version), money as decimals.
with users as (
    {{ latest_version(source('landing', 'users'), 'id') }}
)

select
    id as client_id,
    current_age,
    retirement_age,
    birth_year,
    birth_month,
    gender,
    address,
    latitude,
    longitude,
    cast(per_capita_income as decimal(18, 2)) as per_capita_income,
    cast(yearly_income as decimal(18, 2)) as yearly_income,
    cast(total_debt as decimal(18, 2)) as total_debt,
    credit_score,
    num_credit_cards
from users
