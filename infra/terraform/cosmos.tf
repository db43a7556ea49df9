# Records (the Azure side of the Repository port): serverless Cosmos DB, SQL API.
# Partition keys follow the access paths: an invoice and its audit trail by invoice id,
# message claims by mailbox, vendors by normalised name, export claims by invoice id,
# small keyed items (users, vendor profiles, purchase orders, ...) by kind.

resource "azurerm_cosmosdb_account" "main" {
  name                = "cosmos-${local.stem}-${local.suffix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  #checkov:skip=CKV_AZURE_100:Microsoft-managed encryption at rest; no customer-managed key requirement.
  #checkov:skip=CKV_AZURE_132:Kept off so `terraform apply` can manage containers through the control plane; data writes need Entra ID (local auth disabled).
  offer_type = "Standard"
  kind       = "GlobalDocumentDB"
  tags       = local.tags

  # Only the private endpoint (network.tf) and Entra ID tokens: no public traffic, no account keys.
  public_network_access_enabled = false
  local_authentication_disabled = true
  minimal_tls_version           = "Tls12"

  capabilities {
    name = "EnableServerless"
  }

  consistency_policy {
    consistency_level = "Session"
  }

  geo_location {
    location          = azurerm_resource_group.main.location
    failover_priority = 0
  }
}

resource "azurerm_cosmosdb_sql_database" "main" {
  name                = var.cosmos_database_name
  resource_group_name = azurerm_resource_group.main.name
  account_name        = azurerm_cosmosdb_account.main.name
}

locals {
  cosmos_containers = {
    invoices = "/id"
    audit    = "/invoice_id"
    messages = "/mailbox"
    vendors  = "/key"
    exports  = "/invoice_id"
    items    = "/kind"
  }
}

resource "azurerm_cosmosdb_sql_container" "main" {
  for_each = local.cosmos_containers

  name                  = each.key
  resource_group_name   = azurerm_resource_group.main.name
  account_name          = azurerm_cosmosdb_account.main.name
  database_name         = azurerm_cosmosdb_sql_database.main.name
  partition_key_paths   = [each.value]
  partition_key_version = 2
}

# Data-plane access for the Function App's managed identity (no account keys in app settings):
# the built-in "Cosmos DB Built-in Data Contributor" role.
resource "azurerm_cosmosdb_sql_role_assignment" "function_data_contributor" {
  resource_group_name = azurerm_resource_group.main.name
  account_name        = azurerm_cosmosdb_account.main.name
  role_definition_id  = "${azurerm_cosmosdb_account.main.id}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002"
  principal_id        = local.function_principal_id
  scope               = azurerm_cosmosdb_account.main.id
}
