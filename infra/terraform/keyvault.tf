# Secrets, read by the Function App through Key Vault references (its managed identity holds
# "Key Vault Secrets User"). Azure RBAC mode: no access policies.

resource "azurerm_key_vault" "main" {
  name                       = "kv-${var.prefix}-${local.suffix}"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  enable_rbac_authorization  = true
  purge_protection_enabled   = true
  soft_delete_retention_days = 30
  tags                       = local.tags
}

# Whoever runs Terraform writes the secrets below.
resource "azurerm_role_assignment" "deployer_secrets_officer" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_role_assignment" "function_secrets_user" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_linux_function_app.main.identity[0].principal_id
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

locals {
  key_vault_secrets = {
    "storage-connection-string" = azurerm_storage_account.main.primary_connection_string
    "graph-client-state"        = random_password.graph_client_state.result
    "graph-client-secret"       = var.graph_client_secret
    "anthropic-api-key"         = var.anthropic_api_key
  }
  # Literal name sets: for_each may not be derived from the (sensitive) values.
  terraform_managed_secrets = toset(["storage-connection-string", "graph-client-state"])
  # Values operators set by hand afterwards (`az keyvault secret set`) must not be reset by Terraform.
  operator_managed_secrets = toset(["graph-client-secret", "anthropic-api-key"])
}

resource "azurerm_key_vault_secret" "managed" {
  for_each = local.terraform_managed_secrets

  name         = each.value
  value        = local.key_vault_secrets[each.value]
  key_vault_id = azurerm_key_vault.main.id
  depends_on   = [time_sleep.rbac_propagation]
}

resource "azurerm_key_vault_secret" "operator" {
  for_each = local.operator_managed_secrets

  name         = each.value
  value        = local.key_vault_secrets[each.value]
  key_vault_id = azurerm_key_vault.main.id
  depends_on   = [time_sleep.rbac_propagation]

  lifecycle {
    ignore_changes = [value]
  }
}
