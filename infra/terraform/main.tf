# Papyr on Azure: Function App (Flex Consumption, Durable Functions) + Blob + Cosmos DB + Service Bus
# + Key Vault, and an AKS cluster with a GPU node pool for the gpu-inference deployment.

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
