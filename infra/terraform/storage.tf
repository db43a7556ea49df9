# One storage account: the Functions host's own storage (AzureWebJobsStorage: Durable Functions
# task hub queues and tables, the content share) and Papyr's blob containers.

resource "azurerm_storage_account" "main" {
  name                            = "st${var.prefix}${local.suffix}"
  location                        = azurerm_resource_group.main.location
  resource_group_name             = azurerm_resource_group.main.name
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  account_kind                    = "StorageV2"
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  tags                            = local.tags

  blob_properties {
    versioning_enabled = true # originals are write-once; versions also keep any accidental overwrite

    delete_retention_policy {
      days = 30
    }

    container_delete_retention_policy {
      days = 30
    }
  }
}

# Originals by content hash, approval reports, exports (PAPYR_DOCUMENTS_CONTAINER).
resource "azurerm_storage_container" "papyr" {
  name                  = "papyr"
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}

# Drop zone: a blob written here starts processing (the blob trigger of the Function App).
resource "azurerm_storage_container" "incoming" {
  name                  = "incoming"
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}
