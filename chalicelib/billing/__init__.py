"""Money in: Stripe (self-serve) or invoices (enterprise), landing in the wallet exactly once.

- `catalog`: what can be bought (packs, plan prices) · `gateway`: every Stripe call · `config`:
  where billing talks to · `errors`: what billing reports.
- `backends`: the stripe | internal seam (checkout, switching a workspace) · `checkout`: Stripe
  Checkout sessions · `topup`: auto top-up and the billing worker · `statements`: invoiced
  workspaces' monthly statements.
- `webhook` (signature, shape) → `events` (dispatch, rejections) → `purchases` (packs, top-ups,
  refunds, disputes) and `subscriptions` (plans); `common` is what those handlers share and
  `stripe_objects` the event shapes they read.
- The settings of a workspace's billing are `chalicelib.store.billing_settings`.

Nothing is imported here: importing the catalog must not load the webhook's dependencies.
"""
