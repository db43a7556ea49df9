# Secrets, read by the Function App through Key Vault references (its managed identity holds
# "Key Vault Secrets User", functions.tf). Azure RBAC mode: no access policies. Public access is
# limited to allowed_ip_ranges (the deployer, who writes the secrets); the functions use the
# private endpoint.

resource "azurerm_key_vault" "main" {
  #checkov:skip=CKV_AZURE_189:Public endpoint default-deny (network_acls): only allowed_ip_ranges, where the deployer writes secrets; the functions use the private endpoint.
  name                          = "kv-${var.prefix}-${local.suffix}"
  location                      = azurerm_resource_group.main.location
  resource_group_name           = azurerm_resource_group.main.name
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "standard"
  enable_rbac_authorization     = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = true
  tags                          = local.tags

  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
    ip_rules       = var.allowed_ip_ranges
  }
}

# Whoever runs Terraform writes the secrets below.
resource "azurerm_role_assignment" "deployer_secrets_officer" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# Role assignments take a while to reach the Key Vault data plane.
resource "time_sleep" "rbac_propagation" {
  depends_on      = [azurerm_role_assignment.deployer_secrets_officer]
  create_duration = "60s"
}

# Shared secret echoed by Microsoft Graph in every change notification (clientState, <= 128 chars).
resource "random_password" "graph_client_state" {
  length  = 64
  special = false
}

# PAPYR_SECRET_KEY: base64 of 32 random bytes, the AES-256-GCM key for mailbox secrets at rest.
resource "random_bytes" "papyr_secret_key" {
  length = 32
}

locals {
  key_vault_secrets = {
    "storage-connection-string" = azurerm_storage_account.main.primary_connection_string
    "graph-client-state"        = random_password.graph_client_state.result
    "papyr-secret-key"          = random_bytes.papyr_secret_key.base64
    "graph-client-secret"       = var.graph_client_secret
    "anthropic-api-key"         = var.anthropic_api_key
    "approval-flow-url"         = var.approval_flow_url
    "teams-webhook-url"         = var.teams_webhook_url
    "dashboard-entra-secret"    = var.dashboard_entra_client_secret
  }
  # Literal name sets: for_each may not be derived from the (sensitive) values.
  terraform_managed_secrets = toset(["storage-connection-string", "graph-client-state", "papyr-secret-key"])
  # Values operators set by hand afterwards (`az keyvault secret set`) must not be reset by Terraform.
  operator_managed_secrets = toset(["graph-client-secret", "anthropic-api-key", "approval-flow-url", "teams-webhook-url", "dashboard-entra-secret"])
}

resource "azurerm_key_vault_secret" "managed" {
  #checkov:skip=CKV_AZURE_41:No expiry: the app reads these through Key Vault references; rotation is a new version, an expiry would only break the app.
  for_each = local.terraform_managed_secrets

  name         = each.value
  value        = local.key_vault_secrets[each.value]
  content_type = "text/plain"
  key_vault_id = azurerm_key_vault.main.id
  depends_on   = [time_sleep.rbac_propagation]
}

resource "azurerm_key_vault_secret" "operator" {
  #checkov:skip=CKV_AZURE_41:No expiry: operators rotate these by hand (a new version); an expiry would only break the app.
  for_each = local.operator_managed_secrets

  name         = each.value
  value        = local.key_vault_secrets[each.value]
  content_type = "text/plain"
  key_vault_id = azurerm_key_vault.main.id
  depends_on   = [time_sleep.rbac_propagation]

  lifecycle {
    ignore_changes = [value]
  }
}
