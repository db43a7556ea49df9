# Papyr on Azure: Function App (Durable Functions) + Blob + Cosmos DB + Service Bus + Key Vault,
# and an AKS cluster with a GPU node pool for the gpu-inference deployment.

data "azurerm_client_config" "current" {}

# Globally unique names (storage, Key Vault, Cosmos, Service Bus, Function App, ACR) need a suffix.
resource "random_string" "suffix" {
  length  = 6
  lower   = true
  upper   = false
  numeric = true
  special = false
}

locals {
  suffix = random_string.suffix.result
  stem   = "${var.prefix}-${var.environment}"
  tags = merge(
    {
      application = "papyr"
      environment = var.environment
      managed-by  = "terraform"
    },
    var.tags,
  )
}

resource "azurerm_resource_group" "main" {
  name     = "rg-${local.stem}"
  location = var.location
  tags     = local.tags
}

# -- Monitoring ------------------------------------------------------------------------------------

resource "azurerm_log_analytics_workspace" "main" {
  name                = "log-${local.stem}-${local.suffix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "PerGB2018"
  retention_in_days   = 30
  tags                = local.tags
}

resource "azurerm_application_insights" "main" {
  name                = "appi-${local.stem}-${local.suffix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  workspace_id        = azurerm_log_analytics_workspace.main.id
  application_type    = "web"
  tags                = local.tags
}
