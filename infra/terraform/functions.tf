# The Function App: Flex Consumption (FC1), Linux, Python 3.11. Scales per function group up to
# function_max_instances; one always-ready instance keeps webhooks under Graph's 3 s budget. Outbound
# traffic goes through the VNet (snet-functions) to the private endpoints and to gpu-inference.

resource "azurerm_service_plan" "functions" {
  #checkov:skip=CKV_AZURE_212:Flex Consumption (FC1) has no worker count; always_ready on the app keeps instances warm.
  #checkov:skip=CKV_AZURE_225:Zone redundancy of Flex Consumption is set on the app by the platform, not by zone_balancing_enabled on an FC1 plan.
  name                = "asp-${local.stem}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = local.tags
}

locals {
  # App settings resolved by the platform from Key Vault with the app's managed identity.
  key_vault_reference = {
    for name, secret in merge(azurerm_key_vault_secret.managed, azurerm_key_vault_secret.operator) :
    name => "@Microsoft.KeyVault(SecretUri=${secret.versionless_id})"
  }
  servicebus_fqdn = "${azurerm_servicebus_namespace.main.name}.servicebus.windows.net"
}

resource "azurerm_function_app_flex_consumption" "main" {
  name                = "func-${local.stem}-${local.suffix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  service_plan_id     = azurerm_service_plan.functions.id
  tags                = local.tags

  runtime_name           = "python"
  runtime_version        = "3.11"
  maximum_instance_count = var.function_max_instances
  instance_memory_in_mb  = var.function_instance_memory_mb
  http_concurrency       = var.function_http_concurrency

  # The deployment package lives in a blob container, read with the app's own identity (no key).
  storage_container_type      = "blobContainer"
  storage_container_endpoint  = "${azurerm_storage_account.main.primary_blob_endpoint}${azurerm_storage_container.deployments.name}"
  storage_authentication_type = "SystemAssignedIdentity"

  https_only                                     = true
  public_network_access_enabled                  = true # Graph and Pub/Sub push to the webhooks from the internet
  webdeploy_publish_basic_authentication_enabled = false
  virtual_network_subnet_id                      = azurerm_subnet.functions.id

  identity {
    type = "SystemAssigned"
  }

  always_ready {
    name           = "http"
    instance_count = var.function_always_ready_http
  }

  # Dashboard sign-in with Entra ID (App Service authentication), when a client id is given. Anonymous
  # requests still reach the app: the Graph / Pub/Sub webhooks, the approval callback (action tokens,
  # bearer tokens) and the dashboard decide per route, and the dashboard sends a signed-out person to
  # /.auth/login/aad. Papyr trusts X-MS-CLIENT-PRINCIPAL only while WEBSITE_AUTH_ENABLED is set, which
  # the platform sets exactly when this block is on (and then strips those headers from outside).
  dynamic "auth_settings_v2" {
    for_each = var.dashboard_entra_client_id == "" ? [] : [var.dashboard_entra_client_id]
    content {
      auth_enabled           = true
      require_authentication = false
      unauthenticated_action = "AllowAnonymous"
      require_https          = true

      active_directory_v2 {
        client_id                  = auth_settings_v2.value
        tenant_auth_endpoint       = "https://login.microsoftonline.com/${data.azurerm_client_config.current.tenant_id}/v2.0/"
        client_secret_setting_name = "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"
        allowed_audiences          = ["api://${auth_settings_v2.value}"]
      }

      login {
        token_store_enabled = false # Papyr needs who signed in, not their tokens
      }
    }
  }

  site_config {
    application_insights_connection_string = azurerm_application_insights.main.connection_string
    minimum_tls_version                    = "1.2"
    http2_enabled                          = true
  }

  app_settings = {
    # Host storage through the managed identity (Storage Blob/Queue/Table Data Contributor below).
    AzureWebJobsStorage__accountName = azurerm_storage_account.main.name

    # shared/settings.py reads PAPYR_*; the composition root picks the Azure adapters.
    PAPYR_BACKEND                   = "azure"
    PAPYR_STORAGE_CONNECTION_STRING = local.key_vault_reference["storage-connection-string"]
    PAPYR_DOCUMENTS_CONTAINER       = azurerm_storage_container.papyr.name
    PAPYR_INCOMING_CONTAINER        = azurerm_storage_container.incoming.name
    PAPYR_COSMOS_ENDPOINT           = azurerm_cosmosdb_account.main.endpoint
    PAPYR_COSMOS_DATABASE           = azurerm_cosmosdb_sql_database.main.name
    PAPYR_SERVICEBUS_NAMESPACE      = local.servicebus_fqdn
    PAPYR_INTAKE_QUEUE              = azurerm_servicebus_queue.intake.name
    PAPYR_INTAKE_DEADLETTER_QUEUE   = azurerm_servicebus_queue.intake_deadletter.name
    PAPYR_KEY_VAULT_URL             = azurerm_key_vault.main.vault_uri
    PAPYR_INFERENCE_URL             = local.inference_url
    PAPYR_SECRET_KEY                = local.key_vault_reference["papyr-secret-key"]
    PAPYR_GRAPH_CLIENT_STATE        = local.key_vault_reference["graph-client-state"]
    PAPYR_GRAPH_CLIENT_SECRET       = local.key_vault_reference["graph-client-secret"]
    ANTHROPIC_API_KEY               = local.key_vault_reference["anthropic-api-key"]

    # Approvals (issue 6): cards go to the Power Automate flow (else the Teams webhook); the callback
    # accepts Entra ID bearer tokens of this tenant for the given audience, and links point here.
    PAPYR_APPROVAL_FLOW_URL = local.key_vault_reference["approval-flow-url"]
    PAPYR_TEAMS_WEBHOOK_URL = local.key_vault_reference["teams-webhook-url"]
    PAPYR_ENTRA_TENANT_ID   = data.azurerm_client_config.current.tenant_id
    PAPYR_ENTRA_AUDIENCE    = var.approvals_entra_audience
    PAPYR_PUBLIC_BASE_URL   = "https://func-${local.stem}-${local.suffix}.azurewebsites.net"

    # The Easy Auth provider's client secret, named by auth_settings_v2 above.
    MICROSOFT_PROVIDER_AUTHENTICATION_SECRET = local.key_vault_reference["dashboard-entra-secret"]

    # Identity-based connection for Service Bus triggers declared with connection="ServiceBusConnection".
    ServiceBusConnection__fullyQualifiedNamespace = local.servicebus_fqdn

    # azure-monitor-opentelemetry in the worker (one trace per invoice, docs in the README).
    PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY = "true"
  }
}

# -- Least-privilege data-plane roles of the Function App's identity --------------------------------

locals {
  function_principal_id = azurerm_function_app_flex_consumption.main.identity[0].principal_id

  # scope key => (scope, role). Queue and Table roles exist only because the Durable Functions task
  # hub (Azure Storage provider) keeps its control/work-item queues and history tables there.
  function_roles = {
    blob          = { scope = azurerm_storage_account.main.id, role = "Storage Blob Data Contributor" }
    queue         = { scope = azurerm_storage_account.main.id, role = "Storage Queue Data Contributor" }
    table         = { scope = azurerm_storage_account.main.id, role = "Storage Table Data Contributor" }
    bus_sender    = { scope = azurerm_servicebus_namespace.main.id, role = "Azure Service Bus Data Sender" }
    bus_receiver  = { scope = azurerm_servicebus_namespace.main.id, role = "Azure Service Bus Data Receiver" }
    vault_secrets = { scope = azurerm_key_vault.main.id, role = "Key Vault Secrets User" }
  }
}

resource "azurerm_role_assignment" "function" {
  for_each = local.function_roles

  scope                = each.value.scope
  role_definition_name = each.value.role
  principal_id         = local.function_principal_id
  principal_type       = "ServicePrincipal"
}
