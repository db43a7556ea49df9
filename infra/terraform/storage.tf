# One storage account: the Functions host's storage (AzureWebJobsStorage, identity-based: Durable
# Functions task hub queues and tables, host locks), the Flex Consumption deployment container, and
# Papyr's blob containers. Reached from the functions through private endpoints (network.tf).

resource "azurerm_storage_account" "main" {
  #checkov:skip=CKV_AZURE_59:Public endpoint default-deny (network_rules): only allowed_ip_ranges (the deployer) and trusted Azure services; the functions use private endpoints.
  #checkov:skip=CKV_AZURE_206:LRS is enough for dev; prod.tfvars sets storage_replication_type = "ZRS".
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys plus infrastructure encryption; no customer-managed key requirement.
  #checkov:skip=CKV2_AZURE_40:Shared keys stay on: the blob adapter (shared/adapters/azure/blobs.py) takes a connection string and signs short-lived SAS links with it.
  name                              = "st${var.prefix}${local.suffix}"
  location                          = azurerm_resource_group.main.location
  resource_group_name               = azurerm_resource_group.main.name
  account_tier                      = "Standard"
  account_replication_type          = var.storage_replication_type
  account_kind                      = "StorageV2"
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  public_network_access_enabled     = true
  infrastructure_encryption_enabled = true
  local_user_enabled                = false
  shared_access_key_enabled         = true # see the CKV2_AZURE_40 skip above
  tags                              = local.tags

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices", "Logging", "Metrics"]
    ip_rules       = var.allowed_ip_ranges
  }

  sas_policy {
    # Dashboard and approval-card links expire in minutes; nothing needs a SAS valid for a day.
    expiration_period = "00.01:00:00"
    expiration_action = "Log"
  }

  blob_properties {
    versioning_enabled = true # originals are write-once; versions also keep any accidental overwrite

    delete_retention_policy {
      days = 30
    }

    container_delete_retention_policy {
      days = 30
    }
  }

  queue_properties {
    logging {
      delete                = true
      read                  = true
      write                 = true
      version               = "1.0"
      retention_policy_days = 30
    }
  }
}

# Originals by content hash, approval reports, exports (PAPYR_DOCUMENTS_CONTAINER).
resource "azurerm_storage_container" "papyr" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging goes to Log Analytics through the account's diagnostic setting (monitoring.tf).
  name                  = "papyr"
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}

# Drop zone: a blob written here starts processing (the blob trigger of the Function App).
resource "azurerm_storage_container" "incoming" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging goes to Log Analytics through the account's diagnostic setting (monitoring.tf).
  name                  = "incoming"
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}

# Flex Consumption deploys the app package into this container (`func azure functionapp publish`).
resource "azurerm_storage_container" "deployments" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging goes to Log Analytics through the account's diagnostic setting (monitoring.tf).
  name                  = "app-package"
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}
