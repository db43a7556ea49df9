# Papyr: `make demo` runs the sample mailbox end to end and serves the dashboard; `make test` runs the suite.
VENV := .venv
STAMP := $(VENV)/.setup-done
DEMO_DIR ?= .papyr/demo
DEMO_PASSWORD ?= papyr-demo
# The approvers named in samples/approval-policy.yaml are demo users, so they can sign in and decide.

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml package.json scripts/setup.sh
	scripts/setup.sh
	touch $(STAMP)

demo: setup
	rm -rf $(DEMO_DIR)
	echo '$(DEMO_PASSWORD)' | $(VENV)/bin/papyr users add clerk@papyr.example --role clerk --name "Demo Clerk" --password-stdin --data-dir $(DEMO_DIR)
	echo '$(DEMO_PASSWORD)' | $(VENV)/bin/papyr users add approver@papyr.example --role approver --name "Demo Approver" --password-stdin --data-dir $(DEMO_DIR)
	echo '$(DEMO_PASSWORD)' | $(VENV)/bin/papyr users add it.manager@papyr.example --role approver --name "Demo IT Manager" --password-stdin --data-dir $(DEMO_DIR)
	echo '$(DEMO_PASSWORD)' | $(VENV)/bin/papyr users add cfo@papyr.example --role approver --name "Demo CFO" --password-stdin --data-dir $(DEMO_DIR)
	echo '$(DEMO_PASSWORD)' | $(VENV)/bin/papyr users add admin@papyr.example --role admin --name "Demo Admin" --password-stdin --data-dir $(DEMO_DIR)
	$(VENV)/bin/papyr vendors import samples/vendors.csv --data-dir $(DEMO_DIR)
	PAPYR_APPROVAL_POLICY=samples/approval-policy.yaml $(VENV)/bin/papyr process samples/mailbox --mailbox ap@papyr.example --data-dir $(DEMO_DIR)
	PAPYR_APPROVAL_POLICY=samples/approval-policy.yaml $(VENV)/bin/papyr serve --data-dir $(DEMO_DIR) --port 7071

test: setup
	scripts/test.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: setup
	$(VENV)/bin/python -m bench.run_all

clean:
	rm -rf .papyr .azurite
