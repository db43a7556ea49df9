# The Function App: Linux, Python 3.11, Elastic Premium (always-ready instances, VNet integration
# to reach gpu-inference, no cold start for webhooks that must answer quickly).

resource "azurerm_service_plan" "functions" {
  name                         = "asp-${local.stem}"
  location                     = azurerm_resource_group.main.location
  resource_group_name          = azurerm_resource_group.main.name
  os_type                      = "Linux"
  sku_name                     = var.function_plan_sku
  maximum_elastic_worker_count = var.function_max_instances
  tags                         = local.tags
}

locals {
  # App settings resolved by the platform from Key Vault with the app's managed identity.
  key_vault_reference = {
    for name, secret in merge(azurerm_key_vault_secret.managed, azurerm_key_vault_secret.operator) :
    name => "@Microsoft.KeyVault(SecretUri=${secret.versionless_id})"
  }
}

resource "azurerm_linux_function_app" "main" {
  name                        = "func-${local.stem}-${local.suffix}"
  location                    = azurerm_resource_group.main.location
  resource_group_name         = azurerm_resource_group.main.name
  service_plan_id             = azurerm_service_plan.functions.id
  storage_account_name        = azurerm_storage_account.main.name
  storage_account_access_key  = azurerm_storage_account.main.primary_access_key
  functions_extension_version = "~4"
  https_only                  = true
  virtual_network_subnet_id   = azurerm_subnet.functions.id
  tags                        = local.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    application_insights_connection_string = azurerm_application_insights.main.connection_string
    elastic_instance_minimum               = var.function_min_instances
    ftps_state                             = "Disabled"
    minimum_tls_version                    = "1.2"

    application_stack {
      python_version = "3.11"
    }
  }

  app_settings = {
    # shared/settings.py reads PAPYR_*; the composition root picks the Azure adapters.
    PAPYR_BACKEND                   = "azure"
    PAPYR_STORAGE_CONNECTION_STRING = local.key_vault_reference["storage-connection-string"]
    PAPYR_DOCUMENTS_CONTAINER       = azurerm_storage_container.papyr.name
    PAPYR_INCOMING_CONTAINER        = azurerm_storage_container.incoming.name
    PAPYR_COSMOS_ENDPOINT           = azurerm_cosmosdb_account.main.endpoint
    PAPYR_COSMOS_DATABASE           = azurerm_cosmosdb_sql_database.main.name
    PAPYR_SERVICEBUS_NAMESPACE      = "${azurerm_servicebus_namespace.main.name}.servicebus.windows.net"
    PAPYR_INTAKE_QUEUE              = azurerm_servicebus_queue.intake.name
    PAPYR_KEY_VAULT_URL             = azurerm_key_vault.main.vault_uri
    PAPYR_INFERENCE_URL             = var.inference_url
    PAPYR_GRAPH_CLIENT_STATE        = local.key_vault_reference["graph-client-state"]
    PAPYR_GRAPH_CLIENT_SECRET       = local.key_vault_reference["graph-client-secret"]
    ANTHROPIC_API_KEY               = local.key_vault_reference["anthropic-api-key"]

    # Identity-based connection for Service Bus triggers/bindings declared with connection="ServiceBusConnection".
    ServiceBusConnection__fullyQualifiedNamespace = "${azurerm_servicebus_namespace.main.name}.servicebus.windows.net"

    # Remote build installs requirements.txt on deployment (`func azure functionapp publish`).
    SCM_DO_BUILD_DURING_DEPLOYMENT = "true"
    ENABLE_ORYX_BUILD              = "true"
  }

  lifecycle {
    # Set by the deployment tooling, not by this configuration.
    ignore_changes = [app_settings["WEBSITE_RUN_FROM_PACKAGE"]]
  }
}

# Blob data access with the managed identity (for adapters that authenticate without the key).
resource "azurerm_role_assignment" "function_blob_contributor" {
  scope                = azurerm_storage_account.main.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_linux_function_app.main.identity[0].principal_id
}
