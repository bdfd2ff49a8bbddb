# The two commands a newcomer needs: `make dev` (local stack) and `make test` (whole suite).
# Both create the virtualenv and install everything they need first.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing

.PHONY: dev test venv lint bench clean stripe-event seed

$(STAMP): requirements.txt requirements-dev.txt requirements-infra.txt requirements-browser.txt requirements-providers.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q "pip<26.3"
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

dev: $(STAMP)
	$(BIN)/python -m chalicelib.local

test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/accounting.py
	$(BIN)/python bench/coldstart.py
	$(BIN)/python bench/generation.py

# Two demo workspaces with two weeks of jobs, into the running `make dev` stack
# (or start it seeded: SEED_DEMO=1 make dev).
seed: $(STAMP)
	$(BIN)/python -m chalicelib.local.seed $(if $(DAYS),--days $(DAYS))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts

# Send a signed Stripe test event to the running local stack, e.g.
#   make stripe-event TYPE=checkout.session.completed WORKSPACE=ws_... PACK=pack_1000
stripe-event: $(STAMP)
	$(BIN)/python scripts/stripe_event.py --type $(TYPE) --workspace $(WORKSPACE) \
		$(if $(PACK),--pack $(PACK)) $(if $(PLAN),--plan $(PLAN)) $(if $(INTERVAL),--interval $(INTERVAL))

# --- infra (CDK) -------------------------------------------------------------------------------
# `make synth`: both stages into cdk.out/ (PACKAGE=app-only skips the dependency wheels: template
# checks only, never deploy that). `make deploy STAGE=dev`: needs AWS credentials, a bootstrapped
# account (`npx aws-cdk@2 bootstrap`) and the SSM parameters of docs/infra.md.
# `make access-audit`: re-record which AWS calls each function makes (tests/infra/observed_access.json).
.PHONY: synth deploy access-audit
STAGE ?=
PACKAGE ?= full
CDK_CONTEXT = -c package=$(PACKAGE) $(if $(STAGE),-c stage=$(STAGE))

synth: $(STAMP)
	$(BIN)/python infra/app.py $(CDK_CONTEXT)
	$(BIN)/cfn-lint cdk.out/*.template.json

deploy: $(STAMP)
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=dev|prod"; exit 2; }
	@# the dummy keys this Makefile exports for moto must not shadow a real profile
	if [ "$$AWS_ACCESS_KEY_ID" = testing ]; then unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; fi; \
	npx --yes aws-cdk@2 deploy --app "$(BIN)/python infra/app.py" $(CDK_CONTEXT) $(STAGE)

access-audit: $(STAMP)
	$(BIN)/python -m pytest -q -p tests.infra.access_audit --access-audit=tests/infra/observed_access.json \
		tests/functional tests/infra/test_access.py::test_every_entry_point_runs_within_its_role
