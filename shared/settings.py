"""Settings, read once from the environment (``PAPYR_*``) or a local settings file.

Orchestrators never read settings (they must be deterministic): the starter puts what they need
in the orchestration input.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPYR_", env_file=None, extra="ignore")

    backend: Literal["local", "azure"] = "local"
    data_dir: Path = Path(".papyr")

    # The approval policy file (YAML or JSON; samples/approval-policy.yaml). Unset: the policy the
    # settings below describe (shared.routing.policy.default_policy).
    approval_policy: Path | None = None
    auto_approve_below: Decimal = Decimal("1000")
    second_approver_above: Decimal = Decimal("10000")
    approvers: list[str] = Field(default_factory=lambda: ["ap.clerk@example.com", "cfo@example.com"])
    remind_after_hours: float = 24.0
    escalate_after_hours: float = 72.0
    expire_after_hours: float = 24.0 * 14

    # Fraud and matching checks (issue 5): see shared/checks/policy.py for what each one means.
    duplicate_window_days: int = 60  # near duplicates: same vendor and amount, dates at most this far apart
    new_vendor_high_amount: Decimal = Decimal("5000")  # in the invoice's currency (no FX conversion)
    amount_outlier_factor: Decimal = Decimal("3")  # total above this many times the vendor's median
    po_price_tolerance_pct: Decimal = Decimal("2")  # unit price above the PO's by more than this is a variance
    po_quantity_tolerance: Decimal = Decimal("0")  # billed quantity allowed above ordered / received

    # Bounds per document: nothing hostile may hang or exhaust a worker.
    max_document_bytes: int = 50 * 1024 * 1024
    max_pages: int = 50
    max_ocr_pages: int = 10
    parse_timeout_s: float = 60.0
    parse_memory_mb: int = 1536

    # Mailboxes (issue 4). The secret key (base64 of 32 bytes) encrypts mailbox secrets at rest;
    # unset on the local host, a key file is created once in the data dir (0600).
    secret_key: SecretStr | None = None
    public_base_url: str = "http://127.0.0.1:7071"  # where Graph / Pub/Sub reach /api/notifications/*
    graph_subscription_minutes: int = 10070  # Graph's maximum for messages is 10080 (7 days)
    gmail_push_audience: str | None = None  # the Pub/Sub push subscription's OIDC audience
    gmail_push_service_account: str | None = None  # the service account that signs the pushes
    reconcile_interval_s: float = 900.0  # safety-net reconcile of every mailbox
    notification_dedupe_s: float = 600.0  # repeated deliveries of one push within this window are dropped

    # OCR through the gpu-inference service (e.g. http://papyr-inference:8080) instead of in-process.
    inference_url: str | None = None

    # Azure (used only when backend == "azure").
    storage_connection_string: str | None = None
    storage_account_url: str | None = None  # "https://<account>.blob.core.windows.net": managed identity
    documents_container: str = "papyr"

    # Service Bus (issue 7): the notification queue when a namespace (or connection string) is set.
    # Auth is the connection string's SAS key when given, else DefaultAzureCredential.
    servicebus_namespace: str | None = None  # "papyr-prod" or "papyr-prod.servicebus.windows.net"
    servicebus_connection_string: SecretStr | None = None
    intake_queue: str = "intake"  # the Terraform queue name
    intake_deadletter_queue: str | None = None  # explicit dead letters over REST; default "<intake_queue>-deadletter"
    # Key Vault (issue 7): resolves "@Microsoft.KeyVault(...)" references when run off-platform.
    key_vault_url: str | None = None

    # Cosmos DB (issue 7): records go to Cosmos when an endpoint is set, else SQLite.
    # No key = DefaultAzureCredential (managed identity); the emulator needs its well-known key.
    cosmos_endpoint: str | None = None  # "https://<account>.documents.azure.com:443/"
    cosmos_database: str = "papyr"
    cosmos_key: SecretStr | None = None

    # Approvals in Teams (issue 6): the card goes to a Power Automate flow ("When an HTTP request is
    # received", which posts it to the approver and calls back) or, else, a Teams incoming webhook /
    # Workflows URL. Both are secrets (Key Vault references on Azure); unset = no card is sent.
    approval_flow_url: SecretStr | None = None
    teams_webhook_url: SecretStr | None = None
    approval_delivery_timeout_s: float = 10.0
    approval_delivery_attempts: int = Field(default=4, ge=1, le=10)
    # Entra ID bearer tokens on the approval callback: the tenant (id or domain) and the API's audience.
    entra_tenant_id: str | None = None
    entra_audience: str | None = None

    @field_validator("approval_policy", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value  # an empty app setting

    @property
    def database_path(self) -> Path:
        return self.data_dir / "papyr.sqlite3"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
