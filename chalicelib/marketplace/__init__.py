"""The template marketplace (API.md "Platform: marketplace"): creators list public templates for
credits, buyers pay from their wallet, creators earn (less the platform fee) and are paid out
through Stripe Connect.

- `rules`: the fee split, the holding period, payout eligibility and the credits→money rate (pure)
- `listings`: list, browse, read, rate, report, and moderation (hide)
- `purchases`: buying (one ledger transaction), admin refunds, and who may use a listed template
- `earnings`: the pools, maturing, onboarding, payouts and the Connect webhook
- `connect`: the Stripe Connect calls; `records`: what the use cases hand out; `errors`
"""
