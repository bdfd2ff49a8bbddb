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

.PHONY: dev test venv lint bench clean stripe-event seed mutation mutation-sample client

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

# Mutation testing of the money paths (pyproject.toml [tool.mutmut]; docs/mutation.md). Hours on
# 2 cores, so not part of `make test`; MUTMUT_CHILDREN sets the parallelism.
mutation: $(STAMP)
	rm -rf mutants
	PATH="$(abspath $(VENV))/bin:$$PATH" $(BIN)/mutmut run --max-children $${MUTMUT_CHILDREN:-2}
	$(BIN)/python scripts/mutation_report.py

# The same over a seeded uniform sample (SAMPLE mutants, default 400, SEED 1): the mutants are
# generated first (scripts/mutation_generate.py) so that one `mutmut run` pays for the clean
# test run once; the report gives the score with its 95% interval.
mutation-sample: $(STAMP)
	rm -rf mutants
	$(BIN)/python scripts/mutation_generate.py
	$(BIN)/python scripts/mutation_sample.py --size $${SAMPLE:-400} --seed $${SEED:-1} > mutants/sample.txt
	PATH="$(abspath $(VENV))/bin:$$PATH" $(BIN)/mutmut run --max-children $${MUTMUT_CHILDREN:-2} $$(cat mutants/sample.txt)
	$(BIN)/python scripts/mutation_report.py --names mutants/sample.txt

# Two demo workspaces with two weeks of jobs, into the running `make dev` stack
# (or start it seeded: SEED_DEMO=1 make dev).
seed: $(STAMP)
	$(BIN)/python -m chalicelib.local.seed $(if $(DAYS),--days $(DAYS))

# The Python client generated from the app's OpenAPI document (openapi-python-client, offline),
# into build/client/imagegen_client; never committed (it follows every route change).
client: $(STAMP)
	$(BIN)/python scripts/generate_client.py build/client

clean:
	rm -rf build $(VENV) .pytest_cache .ruff_cache test-artifacts

# Send a signed Stripe test event to the running local stack, e.g.
#   make stripe-event TYPE=checkout.session.completed WORKSPACE=ws_... PACK=pack_1000
stripe-event: $(STAMP)
	$(BIN)/python scripts/stripe_event.py --type $(TYPE) --workspace $(WORKSPACE) \
		$(if $(PACK),--pack $(PACK)) $(if $(PLAN),--plan $(PLAN)) $(if $(INTERVAL),--interval $(INTERVAL))

# --- infra (CDK) -------------------------------------------------------------------------------
# `make synth`: both stages into cdk.out/, then cfn-lint and checkov on the templates. The Lambda
# package is built for python3.12 (infra/runtime.py): it needs a CPython 3.12 (pyenv's is found)
# and PyPI the first time per requirements.txt (then .cache/lambda/). PACKAGE=app-only skips the
# dependencies: template checks only, never deploy that.
# `make package-check`: build the real package and prove it loads on the runtime (docs/infra.md).
# `make deploy STAGE=dev [CONTEXT="-c alarm_email=... -c default_provider=..."]`: needs AWS
# credentials, `make bootstrap` once and the SSM parameters of docs/infra.md; then
# `make stripe-setup STAGE=dev` and `make smoke STAGE=dev` (docs/infra.md, "The first deploy").
# `make access-audit`: re-record which AWS calls each function makes (tests/infra/observed_access.json).
.PHONY: synth deploy bootstrap package-check smoke stripe-setup access-audit
STAGE ?=
PACKAGE ?= full
CONTEXT ?=
CDK_CONTEXT = -c package=$(PACKAGE) $(if $(STAGE),-c stage=$(STAGE)) $(CONTEXT)
# The CDK CLI, pinned: it must read the cloud assembly aws-cdk-lib (requirements-infra.txt) writes.
CDK := npx --yes aws-cdk@2.1148.1
CHECKOV_VENV := .cache/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
TEMPLATES = $(if $(STAGE),cdk.out/$(STAGE).template.json,cdk.out/dev.template.json cdk.out/prod.template.json)
# the dummy keys this Makefile exports for moto must not shadow a real profile
REAL_AWS = if [ "$$AWS_ACCESS_KEY_ID" = testing ]; then unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; fi;

$(CHECKOV_STAMP): requirements-checkov.txt
	test -d $(CHECKOV_VENV) || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q -r requirements-checkov.txt
	touch $@

synth: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/python infra/app.py $(CDK_CONTEXT)
	$(BIN)/cfn-lint $(TEMPLATES)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		$(foreach t,$(TEMPLATES),-f $(t))

package-check: $(STAMP)
	$(BIN)/python -m infra.package_check

# (synthesizes app-only to find the account and region: no package build needed for this)
bootstrap: $(STAMP)
	$(REAL_AWS) $(CDK) bootstrap --app "$(BIN)/python infra/app.py" -c package=app-only

deploy: $(STAMP)
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=dev|prod"; exit 2; }
	$(REAL_AWS) $(CDK) deploy --app "$(BIN)/python infra/app.py" $(CDK_CONTEXT) $(STAGE)

# Stripe prices (by lookup key) and the webhook endpoint, created or updated; idempotent.
stripe-setup: $(STAMP)
	@test -n "$(STAGE)" || { echo "usage: make stripe-setup STAGE=dev|prod [URL=https://api.example.com]"; exit 2; }
	$(REAL_AWS) $(BIN)/python scripts/stripe_setup.py --stage $(STAGE) $(if $(URL),--url $(URL))

# The README's curl story against a deployed stage (SMOKE_ADMIN_KEY in the environment).
smoke: $(STAMP)
	@test -n "$(STAGE)$(URL)" || { echo "usage: make smoke STAGE=dev [URL=https://...]"; exit 2; }
	$(REAL_AWS) $(BIN)/python scripts/smoke.py $(if $(STAGE),--stage $(STAGE)) $(if $(URL),--url $(URL))

access-audit: $(STAMP)
	$(BIN)/python -m pytest -q -p tests.infra.access_audit --access-audit=tests/infra/observed_access.json \
		tests/functional tests/infra/test_access.py::test_every_entry_point_runs_within_its_role
